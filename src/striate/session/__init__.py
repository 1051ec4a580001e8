"""The run session: the one way into a run (prepare, train, finish) and the one way back out (open_run).

>>> result = train_run(load_recipe("recipes/lenet5-mnist.yaml"))   # doctest: +SKIP
>>> run = open_run(result["run_dir"])                             # doctest: +SKIP
>>> run.evaluate()["accuracy"] == result["summary"]["test_accuracy"]   # doctest: +SKIP
True
"""

from striate.session.open import Run, load_model, load_run_model, open_run, test_split
from striate.session.prepare import Prepared, make_loader, prepare, resolve_device, seed_everything
from striate.session.rundir import RunPaths, read_history, read_meta, read_summary
from striate.session.train import Start, cross_validate, resume_run, train_run

__all__ = ["Prepared", "Run", "RunPaths", "Start", "cross_validate", "load_model", "load_run_model", "make_loader", "open_run",
           "prepare", "read_history", "read_meta", "read_summary", "resolve_device", "resume_run", "seed_everything",
           "test_split", "train_run"]
