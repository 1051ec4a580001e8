"""Fixed costs of a striate process (issue 21): `--help`, `--version`, an argument error, the built-in data ready,
and process start to the end of the first optimizer step on the built-in data, each a whole fresh process, beside
the floors any PyTorch program pays here (the interpreter, `import torch`, and `import torch._dynamo`, which
torch.optim imports inside the first `Optimizer.step`) and a bare PyTorch peer: a script that loads the same
.npz, builds the same LeNet-5 in nn.Sequential and takes one SGD step. Rounds alternate between the rows; the
load average is printed before and after.

    PYTHONPATH=src python bench/start_up.py                # 5 rounds
    PYTHONPATH=src python bench/start_up.py --rounds 1     # does it work
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, seconds_to_first_step, write_figures  # noqa: E402

BUILTIN = REPO / "src" / "striate" / "data" / "builtin" / "mnist5k.npz"

# The bare peer: the least a PyTorch program does to take its first step on the same data and net.
BARE_FIRST_STEP = f"""
import time, numpy, torch
from torch import nn
arrays = numpy.load({str(BUILTIN)!r})
images = torch.from_numpy(arrays["images"][:64]).float()
images = nn.functional.pad(images.reshape(-1, 1, 28, 28) / 255.0, (2, 2, 2, 2))
labels = torch.from_numpy(arrays["labels"][:64]).long()
net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
optimizer = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
nn.functional.cross_entropy(net(images), labels).backward()
optimizer.step()
print(f"FIRST_STEP {{time.time():.6f}}", flush=True)
"""

DATA_READY = """
import time
from striate.data.sources import mnist5k
started = time.perf_counter()
mnist5k()
print(f"SECONDS {time.perf_counter() - started:.6f}", flush=True)
print(f"FIRST_STEP {time.time():.6f}", flush=True)
"""


def whole_process(arguments: list[str]) -> float:
    """Wall seconds of a fresh `python ARGUMENTS` from start to exit (output discarded)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    started = time.time()
    subprocess.run([sys.executable, *arguments], env=environment, capture_output=True, cwd=REPO)
    return time.time() - started


def until_marker(code: str, marker: str = "FIRST_STEP") -> float:
    """Wall seconds from starting `python -c CODE` until it prints its FIRST_STEP marker (with marker
    'SECONDS': the seconds the child measured itself and printed)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    started = time.time()
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, cwd=REPO)
    lines = [line for line in done.stdout.splitlines() if line.startswith(marker + " ")]
    if not lines:
        raise SystemExit(f"the child stopped before its marker:\n{done.stdout}\n{done.stderr}")
    return float(lines[0].split()[1]) - (started if marker == "FIRST_STEP" else 0.0)


def rows(out: Path) -> dict:
    return {
        "python -c pass (the interpreter)": lambda: whole_process(["-c", "pass"]),
        "striate --help": lambda: whole_process(["-m", "striate", "--help"]),
        "striate --version": lambda: whole_process(["-m", "striate", "--version"]),
        "striate train --nonsense 3 (argument error)": lambda: whole_process(["-m", "striate", "train", "--nonsense", "3"]),
        "built-in data: mnist5k() read and checked": lambda: until_marker(DATA_READY, "SECONDS"),
        "built-in data: process start to the tensors": lambda: until_marker(DATA_READY),
        "python -c 'import torch'": lambda: whole_process(["-c", "import torch"]),
        "python -c 'import torch, torch._dynamo'": lambda: whole_process(["-c", "import torch, torch._dynamo"]),
        "bare PyTorch: first SGD step on the same data": lambda: until_marker(BARE_FIRST_STEP),
        "striate train: first optimizer step (built-in data)": lambda: seconds_to_first_step(
            ["train", "--epochs", "1", "--run.out_dir", str(out)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="bench/results/start_up.json")
    options = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    with tempfile.TemporaryDirectory(prefix="striate-start-up-") as out:
        measured = rows(Path(out))
        times = {name: [] for name in measured}
        for _ in range(options.rounds):  # alternate: one of each row per round
            for name, measure in measured.items():
                times[name].append(measure())
    load_after = os.getloadavg()
    bare = statistics.median(times["bare PyTorch: first SGD step on the same data"])
    width = max(map(len, times))
    print(f"{'':{width}}  median   min     max     / bare first step")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:{width}}  {median:6.2f}  {min(values):6.2f}  {max(values):6.2f}  {median / bare:5.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)}")
    write_figures(options.out, {"rounds": options.rounds, "seconds": times,
                                "load_after": list(load_after)})


if __name__ == "__main__":
    main()
