"""MLflow tracking of a run (``run.mlflow: true``; ``pip install 'striate[mlflow]'``), into a local file store
``<out_dir>/mlruns`` beside the run directories (no server), or wherever ``MLFLOW_TRACKING_URI`` points.

One MLflow run per striate run, in the experiment ``$MLFLOW_EXPERIMENT_NAME`` (default ``striate``), named
after the run directory: its params are the flattened config (``optim.lr``, ``model.args.hidden``, ...), its
metrics each epoch's figures of metrics.jsonl (step: the epoch), and at the end the final figures
(``test_accuracy``, ``best_val_accuracy``, ...) and the run directory's files as artefacts (all but
checkpoint.safetensors, the resume state). ``RUN/mlflow.json`` keeps the tracking URI and the run's id, so that
``striate train --resume`` goes on in the same MLflow run.

MLflow 3 keeps its file store in maintenance mode and refuses it unless ``MLFLOW_ALLOW_FILE_STORE`` is true:
striate sets that (when it is not set) for a file store, which is what it asks for. To browse it:
``pip install mlflow`` and ``MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri runs/mlruns``.
"""

import importlib.util
import json
import os
import time
from pathlib import Path

from striate.errors import ConfigError, RunError
from striate.files import TEMPORARY, atomic_write_json

RECORD = "mlflow.json"
NOT_ARTEFACTS = ("checkpoint.safetensors", ".lock")  # the resume state (weights + optimizer) and the writer's lock
MAX_PARAM_CHARACTERS = 500  # MLflow's limit on a param value in its older versions
BATCH = 100  # params per log_batch call (MLflow's limit)
MISSING = "run.mlflow needs the mlflow package: pip install 'striate[mlflow]'"


def check_installed() -> None:
    """A ConfigError before anything is trained when mlflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(MISSING)


def tracking_uri(root: Path) -> str:
    """``$MLFLOW_TRACKING_URI``, else the file store ``mlruns`` beside the run directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or (Path(root).resolve().parent / "mlruns").as_uri()


def _client(uri: str):
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError(MISSING) from None
    if uri.startswith("file:") or "://" not in uri:  # a local folder: the file store, asked for on purpose
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        return MlflowClient(tracking_uri=uri)
    except MlflowException as error:
        raise _failed(uri, error) from None


def _failed(uri: str, error: Exception) -> RunError:
    message = " ".join(str(error).split())[:300]
    return RunError(f"MLflow tracking at {uri} failed: {message}; check MLFLOW_TRACKING_URI or set run.mlflow false")


def _metrics(figures: dict, step: int) -> list:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(name, float(value), now, step) for name, value in figures.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and name not in ("epoch", "step")]


class MlflowLog:
    """An MLflow run of a striate run: :meth:`start` a session's (a new run, or on resume the run of
    ``RUN/mlflow.json``), :meth:`reopen` it at the end."""

    def __init__(self, root: Path, uri: str, run_id: str | None = None):
        self.root, self.uri, self.run_id = Path(root), uri, run_id
        self.client = _client(uri)

    @classmethod
    def start(cls, root: Path, params: dict, resumed: bool = False) -> "MlflowLog":
        if resumed and (Path(root) / RECORD).is_file():
            log = cls.reopen(root)
            log._call(log.client.update_run, log.run_id, status="RUNNING")
            return log
        log = cls(root, tracking_uri(root))
        log.run_id = log._call(log._create, params)
        atomic_write_json(log.root / RECORD, {"tracking_uri": log.uri, "run_id": log.run_id})
        return log

    @classmethod
    def reopen(cls, root: Path) -> "MlflowLog":
        saved = json.loads((Path(root) / RECORD).read_text())
        return cls(root, saved["tracking_uri"], saved["run_id"])

    def _call(self, function, *args, **kwargs):
        from mlflow.exceptions import MlflowException

        try:
            return function(*args, **kwargs)
        except (MlflowException, OSError) as error:
            raise _failed(self.uri, error) from None

    def _create(self, params: dict) -> str:
        from mlflow.entities import Param
        from mlflow.exceptions import MlflowException

        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or "striate"
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(name)
            except MlflowException:  # created meanwhile by a parallel run (striate compare --jobs)
                experiment_id = self.client.get_experiment_by_name(name).experiment_id
        else:
            experiment_id = experiment.experiment_id
        run = self.client.create_run(experiment_id, run_name=self.root.name,
                                     tags={"striate.run_dir": str(self.root.resolve())})
        items = [Param(key, str(value)[:MAX_PARAM_CHARACTERS]) for key, value in params.items()]
        for start in range(0, len(items), BATCH):
            self.client.log_batch(run.info.run_id, params=items[start : start + BATCH])
        return run.info.run_id

    def epoch(self, figures: dict) -> None:
        self._call(self.client.log_batch, self.run_id, metrics=_metrics(figures, figures["epoch"]))

    def close(self, failed: bool = False) -> None:
        """A failed session ends its MLflow run as FAILED; a finished one stays open for :meth:`end`."""
        if failed:
            self._call(self.client.set_terminated, self.run_id, "FAILED")

    def end(self, figures: dict, step: int) -> None:
        """The final figures (at ``step``, the last epoch) and the run directory's files; the run FINISHED."""
        self._call(self.client.log_batch, self.run_id, metrics=_metrics(figures, step))
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.name not in NOT_ARTEFACTS and not TEMPORARY.match(path.name):
                folder = path.parent.relative_to(self.root).as_posix()
                self._call(self.client.log_artifact, self.run_id, str(path), None if folder == "." else folder)
        self._call(self.client.set_terminated, self.run_id, "FINISHED")
