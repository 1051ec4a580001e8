"""Training-step time of `fastnet` (the cifar10-fast network) by precision, widths and batch size on the CPU:
striate's own step (`striate.training.loop.train_step`: autocast, loss, backward, optimizer) on random
CIFAR-sized images in NHWC, each setting in its own fresh process (no warm caches shared), the settings
alternating round after round; the median milliseconds a step and images/s. It is what chose bf16, the widths
and the batch of recipes/cifar10-fast.yaml.

    PYTHONPATH=src python bench/fastnet_step.py                       # the recipe's choices, 3 rounds
    PYTHONPATH=src python bench/fastnet_step.py --widths 32,64,128 64,128,256 --precisions fp32 bf16 --batches 256

bf16 autocast is fast only where the CPU does bf16 arithmetic itself (AVX-512 bf16 or AMX: `lscpu` lists
avx512_bf16 / amx_bf16); elsewhere oneDNN emulates it and it is slower than fp32.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, cpu_ticks, steal_share, steal_words, write_figures  # noqa: E402

# The child: build the network as the recipe does (fresh weights; the whitening filters stay as initialised,
# which does not change the arithmetic), warm up, then time the steps.
CHILD = """
import json, sys, time, torch
from striate.models import create_model
from striate.training.config import OptimConfig
from striate.training.loop import StepOptions, train_step
from striate.training.optim import build_optimizer
from types import SimpleNamespace
widths, precision, batch, steps = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
model = create_model("fastnet", num_classes=10, in_channels=3, input_size=32, widths=widths)
model = model.to(memory_format=torch.channels_last).train()
optimizer = build_optimizer(model, OptimConfig(optimizer="nesterov", lr=0.05, momentum=0.9))
task = SimpleNamespace(loss=torch.nn.functional.cross_entropy)  # what train_step reads of a task
options = StepOptions(autocast_dtype={"fp32": None, "bf16": torch.bfloat16}[precision], channels_last=True)
images = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
targets = torch.randint(0, 10, (batch,))
for _ in range(2):
    train_step(model, images, targets, optimizer, task, options)
started = time.perf_counter()
for _ in range(steps):
    train_step(model, images, targets, optimizer, task, options)
print(json.dumps({"ms": 1000 * (time.perf_counter() - started) / steps}))
"""


def one(widths: list[int], precision: str, batch: int, steps: int, threads: int) -> float:
    """Milliseconds a step of one setting, measured in a fresh process."""
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(widths), precision, str(batch), str(steps)],
                          capture_output=True, text=True, env=environment)
    if done.returncode:
        raise SystemExit(f"the step child failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="+", default=["32,64,128", "64,128,256"], help="comma-separated widths")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--batches", nargs="+", type=int, default=[256, 512])
    parser.add_argument("--steps", type=int, default=6, help="timed steps a process (after 2 warm-up steps)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "fastnet_step.json"))
    options = parser.parse_args()
    settings = [([int(w) for w in widths.split(",")], precision, batch)
                for widths in options.widths for precision in options.precisions for batch in options.batches]
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
    ticks = cpu_ticks()
    times = {index: [] for index in range(len(settings))}
    for round_number in range(options.rounds):
        order = range(len(settings)) if round_number % 2 == 0 else reversed(range(len(settings)))
        for index in order:
            times[index].append(one(*settings[index], options.steps, options.threads))
    stolen = steal_share(ticks, cpu_ticks())
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}"
          + steal_words(stolen))
    rows = []
    print(f"\n{'widths':<14} {'precision':<9} {'batch':>5} {'ms/step':>8} {'images/s':>9}  (median of {options.rounds}; min-max ms)")
    for index, (widths, precision, batch) in enumerate(settings):
        median = statistics.median(times[index])
        rows.append({"widths": widths, "precision": precision, "batch": batch, "ms": times[index], "median_ms": median,
                     "images_per_second": 1000 * batch / median})
        print(f"{'-'.join(map(str, widths)):<14} {precision:<9} {batch:>5} {median:8.0f} {1000 * batch / median:9.0f}  "
              f"({min(times[index]):.0f}-{max(times[index]):.0f})")
    write_figures(options.out, {"benchmark": "fastnet_step", "threads": options.threads, "steps": options.steps,
                                "steal_share": stolen, "rows": rows, "when": time.strftime("%Y-%m-%d %H:%M")})


if __name__ == "__main__":
    main()
