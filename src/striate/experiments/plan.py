"""Train every arm of a comparison with several seeds, reusing the runs already finished.

Each run lives in ``<folder>/runs/<arm>-seed<S>-<hash>``, where the hash is taken over the whole
configuration except where files go and how progress is shown. A run directory holding a
``summary.json`` is finished and is reused, so an interrupted comparison continues where it
stopped; an unfinished run continues from its checkpoint (``striate train --resume``), and one
that stopped before its first checkpoint is removed and trained again. A run whose loss
diverged (NaN) is finished too: its ``failed.json`` says why, and the table counts it as failed
instead of stopping the whole comparison. Runs are trained one
after another, or ``jobs`` at a time in worker processes (the CPU threads shared among them).

>>> plan = plan_runs(config, make_arms([parse_variation("lr=0.1,0.01")]), seeds=2, folder="runs/cmp")  # doctest: +SKIP
>>> results = run_plan(plan)   # doctest: +SKIP
"""

import copy
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from striate.console import get_logger
from striate.errors import ConfigError, RunError, TrainingDivergedError
from striate.experiments.grid import Arm
from striate.files import atomic_write_json
from striate.session import RunPaths, read_history, read_summary, resume_run, train_run
from striate.training.config import Config, config_to_dict

FAILED_FILE = "failed.json"
# keys that do not change what is trained: left out of the run's identity
NOT_IDENTITY = {"run": ("name", "out_dir", "progress", "checkpoint_every", "tensorboard", "mlflow", "report")}

_log = get_logger(__name__)


@dataclass(frozen=True)
class PlannedRun:
    arm: Arm
    seed: int
    config: Config  # the full configuration of this run (run.out_dir and run.name set)
    run_dir: Path

    @property
    def finished(self) -> bool:
        return (self.run_dir / "summary.json").is_file() or (self.run_dir / FAILED_FILE).is_file()


def config_hash(config: Config) -> str:
    """12 hex digits identifying what a config trains (not where its files go)."""
    mapping = config_to_dict(config)
    for section, names in NOT_IDENTITY.items():
        for name in names:
            mapping[section].pop(name, None)
    text = json.dumps(mapping, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", label).strip("_")[:60] or "base"


def plan_runs(config: Config, arms: list[Arm], seeds: int, folder: str | Path) -> list[PlannedRun]:
    """One planned run per arm and seed (seeds ``run.seed``, ``run.seed + 1``, ...)."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    runs_folder = Path(folder) / "runs"
    plan = []
    for arm in arms:
        for offset in range(seeds):
            run_config = arm.apply(config)
            run_config.run.seed = config.run.seed + offset
            digest = config_hash(run_config)
            name = f"{_slug(arm.label)}-seed{run_config.run.seed}-{digest}"
            run_config.run.out_dir, run_config.run.name = str(runs_folder), name
            run_config.run.progress = "off"
            plan.append(PlannedRun(arm, run_config.run.seed, run_config, runs_folder / name))
    return plan


def read_run(run_dir: Path) -> dict:
    """A finished run's summary and per-epoch history; a failed run has an empty summary and ``failed``."""
    paths = RunPaths(run_dir)
    history = read_history(paths)
    if (run_dir / FAILED_FILE).is_file():
        return {"summary": {}, "history": history, "failed": json.loads((run_dir / FAILED_FILE).read_text())["error"]}
    return {"summary": read_summary(paths), "history": history}


def _train_one(config: Config, threads: int = 0) -> str:
    """Train one run (in this process or a worker); an unfinished directory of the same name goes first."""
    if threads:
        torch.set_num_threads(threads)
    run_dir = Path(config.run.out_dir) / config.run.name
    try:
        if not _resume(run_dir):
            train_run(config, config.run.name)
    except TrainingDivergedError as error:  # a result of the comparison, not a reason to stop it
        atomic_write_json(run_dir / FAILED_FILE, {"error": str(error)})
    return str(run_dir)


def _resume(run_dir: Path) -> bool:
    """Continue an interrupted run from its checkpoint (True), or clear what it left so that it is
    trained again from the start (False)."""
    if not run_dir.exists():
        return False
    if RunPaths(run_dir).checkpoint.is_file():
        try:
            resume_run(run_dir)
            return True
        except RunError:
            pass  # a damaged checkpoint: start again
    shutil.rmtree(run_dir)
    return False


def run_plan(plan: list[PlannedRun], jobs: int = 1, on_run=None) -> list[dict]:
    """Train the unfinished runs of ``plan`` and return every run's summary and history, in plan order.

    ``on_run(planned, reused)`` is called as each run becomes available (for progress lines)."""
    for planned in plan:
        if planned.finished and on_run is not None:
            on_run(planned, True)
    todo = [planned for planned in plan if not planned.finished]
    if jobs <= 1 or len(todo) <= 1:
        for index, planned in enumerate(todo, start=1):
            _log.info(f"compare: training {planned.arm.label} seed {planned.seed} ({index}/{len(todo)}) ...")
            _train_one(planned.config)
            if on_run is not None:
                on_run(planned, False)
    else:
        _run_parallel(todo, jobs, on_run)
    return [read_run(planned.run_dir) | {"arm": planned.arm, "seed": planned.seed, "run_dir": str(planned.run_dir)}
            for planned in plan]


def _run_parallel(todo: list[PlannedRun], jobs: int, on_run) -> None:
    """``jobs`` worker processes, each with its share of the CPU threads."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // jobs)
    _log.info(f"compare: training {len(todo)} runs, {jobs} at a time ({threads} CPU threads each) ...")
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_train_one, copy.deepcopy(planned.config), threads): planned for planned in todo}
        try:
            for future in as_completed(futures):
                future.result()  # a failed run stops the comparison with its error
                if on_run is not None:
                    on_run(futures[future], False)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
