"""Pooling against the convolutions around it, NCHW against channels_last (NHWC), in training steps on the
CPU (issue 21): for each network, the time a step spends in pooling, convolutions, batch norm, layout copies
and the rest (torch.profiler's self CPU time of each aten op, forward and backward), and the whole step's
images/s without the profiler. Layouts alternate within each repeat (their order flips every repeat); the
figures are medians over the repeats; the load average is printed before and after.

    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/pool_layout.py
    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/pool_layout.py --nets convnet4 --repeats 5 --steps 10
    PYTHONPATH=src python bench/pool_layout.py --nets lenet5-bn-all --threads 2
    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/pool_layout.py --quick          # does it run (tiny)

The layout each network gets by default (``run.channels_last: auto``) is striate.training.engine's
``channels_last_pays``; the last column says what it chooses, so the table shows whether the rule fits.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from striate.models import create_model
from striate.training.engine import channels_last_pays

HERE = Path(__file__).resolve().parent
NETS = {  # name: (builder arguments, image shape, batch size)
    "convnet4": ({"name": "convnet4"}, (3, 32, 32), 128),
    "convnet4-bn": ({"name": "convnet4", "batch_norm": True}, (3, 32, 32), 128),
    "lenet5": ({"name": "lenet5"}, (1, 32, 32), 256),
    "lenet5-mnist-fast": ({"name": "lenet5", "activation": "relu", "pooling": "max",
                           "batch_norm": ["conv2", "conv3", "fc4"]}, (1, 32, 32), 256),
    "lenet5-bn-all": ({"name": "lenet5", "activation": "relu", "pooling": "max",
                       "batch_norm": ["conv1", "conv2", "conv3", "fc4"]}, (1, 32, 32), 256),
    "resnet20": ({"name": "resnet20"}, (3, 32, 32), 128),
}
CATEGORIES = {  # an aten op's category by a word in its name, first match wins
    "pool": ("pool",),
    "conv": ("conv",),
    "batch norm": ("batch_norm",),
    "layout copy": ("copy_", "contiguous", "clone"),
}


def category(name: str) -> str:
    return next((kind for kind, words in CATEGORIES.items() if any(word in name for word in words)), "other")


def build(name: str, channels_last: bool):
    arguments, shape, batch_size = NETS[name]
    torch.manual_seed(0)
    model = create_model(num_classes=10, in_channels=shape[0], input_size=shape[1], **arguments)
    model = model.to(memory_format=torch.channels_last) if channels_last else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(batch_size, *shape)
    labels = torch.randint(0, 10, (batch_size,))
    return model, optimizer, images, labels


def step(model, optimizer, images, labels, channels_last: bool) -> None:
    """One training step as striate.training.loop.train_step takes it (inputs converted to the model's layout)."""
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def measure(name: str, channels_last: bool, steps: int) -> dict:
    """Images/s of ``steps`` steps, then milliseconds a step in each category from a profiled second pass."""
    model, optimizer, images, labels = build(name, channels_last)
    for _ in range(3):
        step(model, optimizer, images, labels, channels_last)
    started = time.perf_counter()
    for _ in range(steps):
        step(model, optimizer, images, labels, channels_last)
    rate = steps * len(images) / (time.perf_counter() - started)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step(model, optimizer, images, labels, channels_last)
    milliseconds = dict.fromkeys([*CATEGORIES, "other"], 0.0)
    for event in profiler.key_averages():
        milliseconds[category(event.key)] += event.self_cpu_time_total / 1000 / steps
    return {"images_per_second": rate, "ms": milliseconds}


def typical(rows: list[dict]) -> dict:
    return {"images_per_second": statistics.median(row["images_per_second"] for row in rows),
            "ms": {kind: statistics.median(row["ms"][kind] for row in rows) for kind in rows[0]["ms"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", choices=list(NETS), default=list(NETS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: as OMP_NUM_THREADS says)")
    parser.add_argument("--quick", action="store_true", help="one repeat of one step: checks that it runs")
    parser.add_argument("--out", default=str(HERE / "results" / "pool_layout.json"))
    args = parser.parse_args()
    repeats, steps = (1, 1) if args.quick else (args.repeats, args.steps)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average {load_before}", flush=True)
    figures = {}
    for name in args.nets:
        runs = {False: [], True: []}
        for repeat in range(repeats):
            for channels_last in ((False, True) if repeat % 2 == 0 else (True, False)):
                runs[channels_last].append(measure(name, channels_last, steps))
        figures[name] = {("nhwc" if layout else "nchw"): typical(rows) for layout, rows in runs.items()}
        model = build(name, False)[0]
        figures[name]["auto"] = "nhwc" if channels_last_pays(model, torch.device("cpu")) else "nchw"
        show(name, figures[name])
    load_after = os.getloadavg()
    print(f"load average after: {load_after}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                                          "repeats": repeats, "steps": steps, "load_before": load_before,
                                          "load_after": load_after, "figures": figures}, indent=2) + "\n")
    print(f"figures written to {args.out}")


def show(name: str, figures: dict) -> None:
    kinds = list(figures["nchw"]["ms"])
    print(f"\n{name}: ms a step (profiled), and img/s (not profiled); auto chooses {figures['auto']}")
    print(f"  {'layout':<6}" + "".join(f"{kind:>13}" for kind in kinds) + f"{'img/s':>10}")
    for layout in ("nchw", "nhwc"):
        row = figures[layout]
        print(f"  {layout:<6}" + "".join(f"{row['ms'][kind]:13.1f}" for kind in kinds) + f"{row['images_per_second']:10.0f}")
    ratio = figures["nhwc"]["images_per_second"] / figures["nchw"]["images_per_second"]
    print(f"  nhwc / nchw img/s: {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
