"""(b) Time to 99.0% MNIST test accuracy (the official 10,000 test images) on this machine:
striate's fast recipe against two peers run here on the same files: the official PyTorch MNIST example
(rebuilt: bench/peers/pytorch_mnist_example.py) and the Keras 3 "simple MNIST convnet" (real Keras on
its torch backend, in its own venv: bench/setup_bench_venv.sh, made on first use).

Training time only: each side's test evaluation after an epoch is not counted. The peers stop at the
first epoch whose test accuracy reaches 99.0%; striate trains its recipe through and reports its time
and final test accuracy (so its figure is an upper bound).

    PYTHONPATH=src python bench/mnist_race.py --data ../shared/data/mnist
    PYTHONPATH=src python bench/mnist_race.py --data ../shared/data/mnist --only striate
    PYTHONPATH=src python bench/mnist_race.py --data ../shared/data/mnist --quick   # does it work (tiny)
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 0.99


def run_striate(data: str, recipe: str, quick: bool) -> dict:
    from striate.session import train_run
    from striate.training.config import load_recipe

    config = load_recipe(recipe)
    config.data.source, config.data.path = "idx", data
    config.run.out_dir, config.run.name, config.run.progress = tempfile.mkdtemp(prefix="striate-race-"), "race", "lines"
    if quick:
        config.data.source, config.data.path, config.optim.epochs = "mnist5k", None, 1
    result = train_run(config, Path(recipe).stem)
    summary = result["summary"]
    reached = summary["train_seconds"] if summary["test_accuracy"] >= TARGET else None
    return {"name": f"striate ({Path(recipe).name})", "seconds_to_target": reached, "train_seconds": summary["train_seconds"],
            "test_accuracy": summary["test_accuracy"], "epochs": summary["epochs"], "run_dir": str(result["run_dir"])}


def run_pytorch_example(data: str, quick: bool) -> dict:
    sys.path.insert(0, str(HERE / "peers"))
    from mnist_data import load_mnist
    from pytorch_mnist_example import run

    return run(load_mnist(data, limit=2000 if quick else None), epochs=1 if quick else 14, target=TARGET,
               max_batches=10 if quick else None)


def run_keras(data: str, quick: bool, venv: str) -> dict:
    python = Path(venv) / "bin" / "python"
    environment = {**os.environ, "KERAS_BACKEND": "torch"}
    if not python.exists() or subprocess.run([str(python), "-c", "import keras"], capture_output=True, env=environment).returncode:
        subprocess.run(["bash", str(HERE / "setup_bench_venv.sh"), venv], check=True)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "keras.json"
        command = [str(python), str(HERE / "peers" / "keras_mnist_convnet.py"), data, str(out)] + (["--quick"] if quick else [])
        subprocess.run(command, check=True, env=environment)
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of the four MNIST IDX files")
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "mnist-fast.yaml"))
    parser.add_argument("--only", choices=["striate", "pytorch", "keras"], action="append")
    parser.add_argument("--venv", default=os.environ.get("STRIATE_BENCH_VENV", str(HERE.parents[1] / "bench-venv")),
                        help="the Keras benchmark venv (default: bench-venv beside the checkout, or $STRIATE_BENCH_VENV)")
    parser.add_argument("--quick", action="store_true", help="tiny data and one epoch: checks that every side runs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "mnist_race.json"))
    args = parser.parse_args()
    sides = args.only or ["striate", "pytorch", "keras"]
    results = []
    for side in sides:
        print(f"== {side}", flush=True)
        if side == "striate":
            results.append(run_striate(args.data, args.recipe, args.quick))
        elif side == "pytorch":
            results.append(run_pytorch_example(args.data, args.quick))
        else:
            results.append(run_keras(args.data, args.quick, args.venv))
    print(f"\ntime to {100 * TARGET:.1f}% MNIST test accuracy ({torch.get_num_threads()} threads, torch {torch.__version__}):")
    for result in results:
        seconds = result["seconds_to_target"]
        print(f"  {result['name']:<40} " + (f"{seconds:8.1f} s" if seconds is not None else "  not reached"))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "mnist_time_to_99", "quick": args.quick, "threads": torch.get_num_threads(),
                                          "machine": platform.machine(), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
