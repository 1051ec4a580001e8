"""Shared helpers of the data benchmarks: the CIFAR-10 JPEG folder (extracted once into a cache
outside the repository) and writing the figures as JSON."""

import json
import os
import platform
import subprocess
import sys
import time
import tarfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
TARBALL = Path(os.environ.get("STRIATE_SHARED_DATA", REPO.parent / "shared" / "data")) / "cifar10-jpeg" / "cifar10-jpeg.tar.gz"
CACHE = Path(os.environ.get("STRIATE_BENCH_CACHE", Path.home() / ".cache" / "striate" / "bench"))


def cifar10_jpeg_folder(cache: Path = CACHE) -> Path:
    """The extracted CIFAR-10 JPEG folder (train/<class>/*.jpg, test/...), extracted on first use."""
    target = cache / "cifar10-jpeg"
    if (target / "train").is_dir():
        return target
    if not TARBALL.is_file():
        raise SystemExit(f"needs {TARBALL} (set STRIATE_SHARED_DATA to the folder holding cifar10-jpeg/)")
    staging = cache / ".cifar10-jpeg.partial"
    staging.mkdir(parents=True, exist_ok=True)
    with tarfile.open(TARBALL) as tar:
        tar.extractall(staging, filter="data")
    staging.rename(target)
    return target


def cpu_ticks() -> tuple[int, int] | None:
    """(all, stolen) CPU ticks of the machine since boot, from /proc/stat's first line; None where there is no
    such file. Stolen ticks are those the hypervisor gave to other virtual machines while this one had work: a
    shared host slows every figure taken then, however quiet the load average says this machine is."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(value) for value in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]), fields[7]) if len(fields) >= 8 else None  # user..steal (guest time is in user)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time stolen by the hypervisor between two :func:`cpu_ticks` readings (0..1), or None."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


def steal_words(share: float | None) -> str:
    """``share`` (from :func:`steal_share`) for a bench's printed lines: '; 12% of the CPU time stolen by the
    hypervisor', or nothing where it could not be read."""
    return "" if share is None else f"; {share:.0%} of the CPU time stolen by the hypervisor"


def write_figures(path: str | Path, figures: dict) -> None:
    figures = {"machine": {"cpu_threads": torch.get_num_threads(), "python": platform.python_version(),
                           "torch": torch.__version__, "platform": platform.platform()}} | figures
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {path}")


# The child process: the real `striate ...` command line (session, preprocessing fit, loader, model), stopped by
# the first optimizer step's progress call, which prints the wall clock then.
FIRST_STEP = """
import os, sys, time
from striate.training import progress
def first_step(self, figures):
    print(f"FIRST_STEP {time.time():.6f}", flush=True)
    os._exit(0)
progress.LineProgress.on_step = progress.BarProgress.on_step = first_step
from striate.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def seconds_to_first_step(arguments: list[str], environment: dict | None = None) -> float:
    """Wall seconds from starting `striate ARGUMENTS` (a fresh interpreter) to the end of its first optimizer step."""
    command = [sys.executable, "-c", FIRST_STEP, *arguments, "--run.progress", "lines"]
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(environment or {})}
    started = time.time()
    done = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith("FIRST_STEP ")]
    if not lines:
        raise SystemExit(f"the training process stopped before its first step:\n{done.stdout}\n{done.stderr}")
    return float(lines[0].split()[1]) - started
