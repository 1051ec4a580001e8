"""CIFAR-10 test accuracy against whole-process time: `striate train cifar10-fast` started as a fresh process
(from the shell to the printed test accuracy), the official 10,000 test images measured after every epoch
(``--data.val_is_test true``), and the wall seconds since the process started at which the test accuracy
first reached 80%, 85% and 90% (issue 21's goal: 90% in at most 20 minutes on 2 CPU cores).

    PYTHONPATH=src python bench/cifar10_fast.py --data ~/.cache/striate/cifar10-jpeg --threads 2
    PYTHONPATH=src python bench/cifar10_fast.py --data DIR --seeds 0,1,2 --epochs 12 --threads 2
    PYTHONPATH=src python bench/cifar10_fast.py --data DIR --quick       # 300 images a class, 1 epoch: does it run

The recipe without --data.val_is_test evaluates the test split once, at the end; measuring it after every
epoch costs time the plain recipe does not spend (two forward passes of 10,000 images with flip averaging).
The table gives both: the wall clock as measured, and the wall clock less the evaluations of the epochs
before (each epoch's evaluation time is the wall time between two epoch lines less the epoch's training
seconds from metrics.jsonl; the first epoch's is taken to be the second's). An epoch's accuracy in the middle
of the one-cycle schedule is lower than a shorter schedule would reach by then: a run with fewer --epochs
reaches 80% and 85% sooner than the crossing times of a 10-epoch run say.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import cpu_ticks, steal_share, steal_words  # noqa: E402

ROOT = HERE.parent
TARGETS = (0.80, 0.85, 0.90)
EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/(\d+)")


def striate_command() -> list[str]:
    """The `striate` console script beside this Python (what a user types), else `python -m striate`."""
    script = Path(sys.executable).parent / "striate"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "striate"]


def run_once(data: str, seed: int, epochs: int | None, threads: int, extra: list[str], out_dir: str) -> dict:
    """One whole `striate train cifar10-fast` process; the wall time of each epoch line and of the end."""
    command = [*striate_command(), "train", "cifar10-fast", "--data", data, "--data.val_is_test", "true",
               "--run.progress", "lines", "--run.seed", str(seed), "--run.threads", str(threads),
               "--run.out_dir", out_dir, "--name", f"cifar10-fast-seed{seed}",
               *([] if epochs is None else ["--epochs", str(epochs)]), *extra]
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT / "src")}
    print("$ " + " ".join(command), flush=True)
    load_before, ticks_before = os.getloadavg(), cpu_ticks()
    started = time.monotonic()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    walls, run_dir = {}, None
    for line in process.stdout:
        print("  " + line.rstrip(), flush=True)
        found = EPOCH_LINE.match(line.strip())
        if found:
            walls[int(found.group(1))] = time.monotonic() - started
        if line.startswith("run saved to "):
            run_dir = line.removeprefix("run saved to ").strip()
    if process.wait() != 0 or run_dir is None:
        raise SystemExit(f"striate train failed (exit {process.returncode}); its output is above")
    total = time.monotonic() - started
    return {"seed": seed, "command": command, "total_seconds": total, "load_before": load_before,
            "load_after": os.getloadavg(), "steal_share": steal_share(ticks_before, cpu_ticks()),
            "epochs": epoch_rows(Path(run_dir), walls)}


def epoch_rows(run_dir: Path, walls: dict) -> list[dict]:
    """Per epoch: test accuracy, wall seconds since the process started, and those less the per-epoch
    evaluations done before (see the module docstring)."""
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    history = [figures for figures in history if "val_accuracy" in figures]
    evaluation = {}
    for figures in history:
        epoch = figures["epoch"]
        if epoch - 1 in walls:
            evaluation[epoch] = max(0.0, walls[epoch] - walls[epoch - 1] - figures["seconds"])
    if 1 in walls:
        evaluation[1] = evaluation.get(2, 0.0)
    rows, spent = [], 0.0
    for figures in history:
        epoch = figures["epoch"]
        wall = walls.get(epoch)
        rows.append({"epoch": epoch, "test_accuracy": figures["val_accuracy"], "wall_seconds": wall,
                     "train_seconds": figures["seconds"],
                     # a run stopped here would evaluate once (this epoch's), not after every epoch before it
                     "wall_seconds_without_evaluation": None if wall is None else wall - spent})
        spent += evaluation.get(epoch, 0.0)
    return rows


def crossings(rows: list[dict]) -> dict:
    """For each target: the first epoch at or above it, with its two wall times (None: not reached)."""
    found = {}
    for target in TARGETS:
        first = next((row for row in rows if row["test_accuracy"] >= target), None)
        found[f"{target:.0%}"] = first and {"epoch": first["epoch"], "wall_seconds": first["wall_seconds"],
                                            "wall_seconds_without_evaluation": first["wall_seconds_without_evaluation"]}
    return found


def _clock(seconds) -> str:
    return "-" if seconds is None else f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def print_table(results: list[dict]) -> None:
    for result in results:
        load = " ".join(f"{value:.2f}" for value in result["load_before"])
        print(f"\nseed {result['seed']}: whole process {_clock(result['total_seconds'])} (load average before: {load}"
              f"{steal_words(result.get('steal_share'))})")
        print("epoch  test acc  wall (m:s)  wall less per-epoch eval")
        for row in result["epochs"]:
            print(f"{row['epoch']:5d}  {row['test_accuracy']:7.2%}  {_clock(row['wall_seconds']):>10}  "
                  f"{_clock(row['wall_seconds_without_evaluation']):>10}")
        for target, first in result["crossings"].items():
            reached = "not reached" if first is None else \
                f"epoch {first['epoch']}, {_clock(first['wall_seconds'])} ({_clock(first['wall_seconds_without_evaluation'])} less eval)"
            print(f"  {target}: {reached}")
    print(f"\nload average now: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the CIFAR-10 folder (train/ and test/ with class sub-folders)")
    parser.add_argument("--seeds", default="0", help="comma-separated run seeds, one whole process each (default 0)")
    parser.add_argument("--epochs", type=int, help="optim.epochs of each run (default: the recipe's)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (run.threads and OMP_NUM_THREADS)")
    parser.add_argument("--quick", action="store_true", help="300 images a class and 1 epoch: checks that it runs")
    parser.add_argument("--keep", action="store_true", help="keep the run directories (default: removed)")
    parser.add_argument("--out", default=str(HERE / "results" / "cifar10_fast.json"))
    args, extra = parser.parse_known_args()  # anything else goes to striate train, e.g. --optim.lr 0.3
    epochs = 1 if args.quick else args.epochs
    if args.quick:
        extra = ["--data.max_per_class", "300", *extra]
    out_dir = tempfile.mkdtemp(prefix="striate-cifar10-fast-")
    try:
        results = []
        for seed in [int(item) for item in args.seeds.split(",")]:
            result = run_once(args.data, seed, epochs, args.threads, extra, out_dir)
            result["crossings"] = crossings(result["epochs"])
            results.append(result)
    finally:
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)
    print_table(results)
    figures = {"bench": "cifar10_fast", "threads": args.threads, "epochs": epochs, "extra_arguments": extra,
               "cores": os.cpu_count(), "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
