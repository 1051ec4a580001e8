"""Network debugging: sanity checks, gradient check, layer monitors, LR finder, bias/variance advice.

- :mod:`striate.diagnose.checks`, :mod:`~striate.diagnose.gradcheck`, :mod:`~striate.diagnose.layer_stats`,
  :mod:`~striate.diagnose.data_checks`: the checks of ``striate check`` (run together by
  :func:`striate.diagnose.run_checks.run_checks`);
- :mod:`striate.training.layer_monitor`: per-layer statistics during training (``run.monitor: true``);
- :mod:`striate.diagnose.lr_finder`: the learning-rate range test (``striate lr-find``);
- :mod:`striate.diagnose.advice`: the verdict on a run's curves (``striate advise``).

>>> from striate.diagnose import gradient_check, find_lr, advise_run, LayerMonitor   # doctest: +SKIP
"""

from striate.diagnose.advice import Advice, advise_history, advise_run
from striate.diagnose.gradcheck import gradient_check
from striate.diagnose.lr_finder import LRFinderResult, find_lr
from striate.diagnose.report import CheckResult
from striate.training.layer_monitor import LayerMonitor

__all__ = ["Advice", "CheckResult", "LRFinderResult", "LayerMonitor", "advise_history", "advise_run", "find_lr",
           "gradient_check"]
