"""The one session every run goes through, whatever its task and whoever starts it: ``striate train``,
``--resume``, ``--folds``, ``striate compare``, ``striate transfer finetune`` and the Python API.

It prepares the data and the model (striate.session.prepare), creates the run directory and writes what
describes the run (config.yaml, model.json), trains through the engine (checkpoints, exact resume, logs,
progress, the divergence message; striate.training.engine), and finishes (striate.session.finish).

>>> result = train_run(load_recipe("recipes/lenet5-mnist.yaml"))   # doctest: +SKIP
>>> result["summary"]["test_accuracy"]                            # doctest: +SKIP
0.982
"""

import contextlib
import copy
import shutil
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from striate.console import ON_STDOUT, get_logger
from striate.errors import ConfigError, RunError
from striate.files import FileWriteError, atomic_write_json, remove_temporaries, write_error
from striate.models import create_model
from striate.session.finish import finish
from striate.session.lock import RunLock
from striate.session.prepare import (Prepared, build_model, make_loader, prepare, resolve_device,
                                     seed_everything, start_from_weights, use_threads)
from striate.session.rundir import RunPaths, new_run_dir, read_meta, write_run_files
from striate.training.config import Config, load_recipe, validate
from striate.training.distributed import RankSlice, ShardedLoader, setup, teardown, world_from_environment
from striate.training.engine import check_training, last_good, prepare_model, run_training
from striate.training.layer_monitor import LayerMonitor
from striate.training.logs import log_run_end, run_log_file
from striate.training.plan import FineTunePlan, TrainingPlan
from striate.version import __version__

CROSSVAL_FIGURES = ("best_val", "test", "final_train", "final_train_eval")  # of the task's metric: best_val_accuracy, ...
_log = get_logger(__name__)
# The training sample measured in eval mode after each epoch (train_eval_* in metrics.jsonl): as many images as
# the validation split, so that the two figures are equally precise, but at least 500 (about +-1 point at 5% error)
# and at most 2000 (forward passes only: on full MNIST under 4% of an epoch's forward work, and no backward).
TRAIN_SAMPLE_MIN, TRAIN_SAMPLE_MAX = 500, 2000


@dataclass
class Start:
    """Where a run's model comes from when it is not built fresh: a fine-tune's source network with its new
    head (the plan already applied: ``plan.prepare(model)``), the model's arguments, the plan, and what
    model.json should say about the transfer."""

    model: nn.Module
    model_args: dict
    plan: TrainingPlan
    meta: dict = field(default_factory=dict)
    prepared: Prepared | None = None  # the data, when the caller prepared it to fit the model


def train_run(config: Config, recipe_name: str = "run", stream=None, start: Start | None = None) -> dict:
    """Train as ``config`` says and write the run directory; returns its path, history, test figures and
    summary. Under torchrun every rank calls this; rank 0 writes the run directory."""
    return _session(config, recipe_name, stream, start=start)


def resume_run(run_dir: str | Path, stream=None) -> dict:
    """Continue a run from its checkpoint, exactly where it stopped (the same result as never stopping).

    >>> result = resume_run("runs/lenet5-mnist")   # doctest: +SKIP
    """
    paths = RunPaths(Path(run_dir))
    if not paths.config.is_file():
        raise RunError(f"{paths.root} has no config.yaml: it is not a striate run directory (give one made by 'striate train')")
    if not paths.checkpoint.is_file():
        raise RunError(f"{paths.root} has no checkpoint.safetensors: it stopped before its first checkpoint; train it again")
    with RunLock(paths.root):  # the only writer of the run until the session ends
        remove_temporaries(paths.root)  # what writes interrupted by a kill left behind
        return _session(load_recipe(paths.config), paths.root.name, stream, resume=paths)


def _session(config: Config, recipe_name: str, stream, resume: RunPaths | None = None, start: Start | None = None) -> dict:
    validate(config)  # a Config built in Python gets the checks a recipe gets
    world = world_from_environment()
    device = setup(world, resolve_device(config.run.device))
    machine = use_threads(config.run.threads)
    seed_everything(config.run.seed)
    try:
        prepared = start.prepared if start is not None and start.prepared is not None else prepare(config, world.enabled)
        if config.run.progress != "off" and world.is_main:
            for note in prepared.notes:  # what was read, and where validation and test come from
                if stream is None:  # the console (silenced by striate -q) and train.log
                    _log.info(f"data: {note}", extra=ON_STDOUT)
                else:
                    print(f"data: {note}", file=stream, flush=True)
        model, model_args, plan, extra = _model(config, prepared, resume, start)
        model = prepare_model(model, config, device)
        train_loader = make_loader(prepared, "train", config, device, train=True)
        # no validation split (data.val_fraction 0): no val_* figures, rather than NaN ones; the last epoch is kept
        val_loader = make_loader(prepared, "val", config, device, train=False) if len(prepared.splits["val"]) else None
        train_sample = train_sample_loader(prepared, config, device)
        if world.enabled:
            train_loader = ShardedLoader(train_loader, world)
            val_loader = RankSlice(val_loader, world) if val_loader is not None else None
            train_sample = RankSlice(train_sample, world)
        check_training(config, model, len(train_loader), device, plan)

        def train_and_finish(paths: RunPaths) -> dict:
            with run_log_file(paths.root, world.is_main):  # RUN/train.log: epoch lines, notes, warnings
                _, best = run_training(model, train_loader, val_loader, prepared.task, prepared.watch, config, paths,
                                       world, stream, resume=resume is not None, make_monitor=_make_monitor(config),
                                       plan=plan, train_sample=train_sample)
                if not world.is_main:
                    return {"run_dir": None, "history": [], "test": {}, "summary": {}}
                result = finish(paths, model, prepared, config, device, best, machine)
                log_run_end(paths.root, config, result, prepared.names)  # trackers: final figures, hparams, files
                return result

        if resume is not None:
            with _failed_writes_explained(resume):
                return train_and_finish(resume)
        out_existed = Path(config.run.out_dir).exists()
        paths = _new_run_dir(config, recipe_name, world)
        with _new_run_lock(paths, world), _removed_if_nothing_to_resume(paths, world, out_existed), \
                _failed_writes_explained(paths):
            _write_meta(paths, config, world, prepared, model_args, extra)
            return train_and_finish(paths)
    finally:
        teardown(world)


def train_sample_loader(prepared: Prepared, config: Config, device):
    """Batches of a fixed sample of the training split, as validation is measured: no augmentation, in order.
    The sample depends on ``run.seed`` alone (its own generator: the run's random stream is untouched), so it is
    the same every epoch and after a resume."""
    train, val = prepared.splits["train"], prepared.splits.get("val")
    count = min(len(train), max(len(val) if val is not None else 0, TRAIN_SAMPLE_MIN), TRAIN_SAMPLE_MAX)
    chosen = torch.randperm(len(train), generator=torch.Generator().manual_seed(config.run.seed))[:count]
    sample = replace(prepared, splits={"train_sample": train.subset(chosen.sort().values)})
    return make_loader(sample, "train_sample", config, device, train=False)


@contextlib.contextmanager
def _failed_writes_explained(paths: RunPaths):
    """A file that could not be written (a full disk, no permission): one line naming it, and where the run can
    go on from once the cause is fixed."""
    try:
        yield
    except FileWriteError as error:
        raise FileWriteError(f"{error}. {last_good(paths)}") from None


@contextlib.contextmanager
def _removed_if_nothing_to_resume(paths: RunPaths, world, out_existed: bool = True):
    """A new run that fails before its first checkpoint (a bad setting found late, a loss that diverges at
    once, an interrupt) leaves no half-made run directory behind (nor the runs folder it made for it)."""
    try:
        yield
    except BaseException:
        if world.is_main and not paths.checkpoint.is_file():
            shutil.rmtree(paths.root, ignore_errors=True)
            if not out_existed:
                with contextlib.suppress(OSError):
                    paths.root.parent.rmdir()  # only when empty
        raise


def _new_run_lock(paths: RunPaths, world):
    """Rank 0 holds the new run's lock for the whole session; other ranks write nothing."""
    return RunLock(paths.root) if world.is_main else contextlib.nullcontext()


def _model(config: Config, prepared: Prepared, resume: RunPaths | None, start: Start | None):
    """The model, its arguments, the training plan and extra model.json fields: a fine-tune's source (at its
    start) or the run's own architecture and plan (on resume), else a fresh model."""
    if start is not None:
        return start.model, start.model_args, start.plan, start.meta
    if resume is not None:
        meta = read_meta(resume.root)
        args = meta["model"]["args"]
        transfer = meta.get("transfer")
        if transfer and transfer.get("plan"):  # a fine-tune: the same plan, the architecture of its source
            plan = FineTunePlan.from_dict(transfer["plan"])
            model = create_model(meta["model"]["name"], **args)
            plan.prepare(model)
            return model, args, plan, {"transfer": transfer}
    model, extra = build_model(config, prepared), {}  # initialised, and the layers measured on the data
    if config.model.weights and resume is None:  # a resumed run takes its weights from its checkpoint
        extra["start"] = start_from_weights(model, config.model.weights)
    return model, prepared.model_args, TrainingPlan(), extra


def _new_run_dir(config: Config, recipe_name: str, world) -> RunPaths:
    """Rank 0 creates the run directory (atomically, a new name if taken); other ranks write nothing."""
    if not world.is_main:
        return RunPaths(Path(config.run.out_dir) / f".rank{world.rank}-writes-nothing")
    try:
        return RunPaths(new_run_dir(config.run.out_dir, config.run.name, recipe_name))
    except OSError as error:  # no permission, a read-only or full disk
        raise write_error(Path(error.filename or config.run.out_dir), error) from None


def _write_meta(paths: RunPaths, config: Config, world, prepared: Prepared, model_args: dict, extra: dict) -> None:
    """config.yaml and model.json (and the preprocessing arrays): the one writer of what describes a run."""
    if not world.is_main:
        return
    preprocess = prepared.preprocess
    meta = {"striate_version": __version__, **prepared.task.run_meta(),
            "model": {"name": config.model.name, "args": model_args}, "class_names": prepared.names,
            "names": prepared.names, "input_shape": [preprocess["channels"], preprocess["input_size"],
                                                     preprocess["input_size"]],
            "data": {"source": config.data.source, "path": config.data.path}, **extra}
    write_run_files(paths, config, meta, preprocess)


def _make_monitor(config: Config):
    """A factory of the per-layer monitor (hooks on the model and optimizer) when run.monitor is on, else None."""
    if not config.run.monitor:
        return None
    return lambda model, optimizer: LayerMonitor(model, optimizer, every=config.run.monitor_every)


def cross_validate(config: Config, folds: int, recipe_name: str = "run", stream=None) -> dict:
    """k-fold cross-validation: ``folds`` ordinary runs (``<name>-fold<k>``), fold k as the validation split
    of run k (stratified, seeded; the test split is the same in every fold); returns the per-fold runs and for
    each figure its mean, standard deviation, min and max, also written to ``<out_dir>/<name>-crossval.json``.

    >>> report = cross_validate(Config(), folds=5)   # doctest: +SKIP
    >>> report["val_accuracy"]["mean"]               # doctest: +SKIP
    """
    if folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {folds}; e.g. --folds 5")
    base = config.run.name or recipe_name
    summaries = []
    for fold in range(folds):
        fold_config = copy.deepcopy(config)
        fold_config.data.folds, fold_config.data.fold = folds, fold
        fold_config.run.name = f"{base}-fold{fold + 1}" if config.run.name else None
        summaries.append(train_run(fold_config, f"{recipe_name}-fold{fold + 1}", stream)["summary"])
    report = {"folds": folds, "runs": [s["run"] for s in summaries]}
    names = [f"{kind}_{summaries[0]['metric']}" for kind in CROSSVAL_FIGURES]
    report |= {name.removeprefix("best_"): _spread([float(s[name]) for s in summaries])
               for name in names if all(s.get(name) is not None for s in summaries)}
    path = Path(config.run.out_dir) / f"{base}-crossval.json"
    atomic_write_json(path, report)
    return report | {"report_file": str(path)}


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values), "min": min(values),
            "max": max(values), "values": values}
