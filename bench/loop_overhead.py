"""(a) Per-step overhead of striate's loop against a minimal hand-written PyTorch loop.

Same model (LeNet-5, same initial weights), same batches (256 images, pre-built on the device), same
optimizer (SGD with momentum); striate's side is ``train_epoch`` with its schedule, step options and a
per-step log hook, as ``striate train`` runs it. The two loops alternate, several rounds each, and the
median step time of each is compared.

    PYTHONPATH=src python bench/loop_overhead.py                       # full measurement
    PYTHONPATH=src python bench/loop_overhead.py --quick               # does it work
    PYTHONPATH=src python bench/loop_overhead.py --data ../shared/data/mnist   # real digits as batches
"""

import argparse
import copy
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from striate.models import create_model
from striate.tasks.classification import ClassificationTask
from striate.training.config import OptimConfig
from striate.training.logs import RunLog
from striate.training.loop import LoopState, StepOptions, train_epoch
from striate.training.optim import build_optimizer
from striate.training.schedules import build_schedule


def make_batches(count: int, batch_size: int, data: str | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    if data:
        from striate.data import load_source
        from striate.data.geometry import fit_to_size

        train = load_source("idx", data)["train"]
        images = fit_to_size(train.images[: count * batch_size], 32, "pad").float().div(255)
        images = (images - 0.1307) / 0.3081
        return list(zip(images.split(batch_size), train.labels[: count * batch_size].split(batch_size)))
    return [(torch.randn(batch_size, 1, 32, 32, generator=generator), torch.randint(0, 10, (batch_size,), generator=generator))
            for _ in range(count)]


def minimal_loop(model, optimizer, batches) -> float:
    """The hand-written loop: forward, loss, zero_grad, backward, step; the loss read once a step for its running
    figure, as a typical hand-written loop does (striate keeps it on the device and reads it every
    StepOptions.read_every steps)."""
    started = time.perf_counter()
    for images, labels in batches:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        float(loss.detach())
    return (time.perf_counter() - started) / len(batches)


def striate_loop(model, optimizer, batches, schedule, options, log) -> float:
    state = LoopState()
    started = time.perf_counter()
    train_epoch(model, optimizer, batches, ClassificationTask(num_classes=10), schedule, options, state,
                on_step=lambda figures: log.step(figures["step"], 1, figures["lr"], figures["loss"]))
    elapsed = time.perf_counter() - started
    log.pending_steps.clear()
    return elapsed / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, to check the script works")
    parser.add_argument("--steps", type=int, default=60, help="steps per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--data", help="MNIST IDX folder for real batches (default: random images)")
    parser.add_argument("--out", default="bench/results/loop_overhead.json")
    args = parser.parse_args()
    steps, rounds = (5, 2) if args.quick else (args.steps, args.rounds)
    torch.manual_seed(0)
    batches = make_batches(steps, args.batch_size, args.data)
    reference = create_model("lenet5", num_classes=10)
    config = OptimConfig(optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=0.0, schedule="constant", epochs=1)
    times = {"minimal": [], "striate": []}
    log = RunLog(Path("/tmp"))
    for _ in range(rounds):
        for side in ("minimal", "striate"):
            model = copy.deepcopy(reference)
            if side == "minimal":
                optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                times[side].append(minimal_loop(model, optimizer, batches))
            else:
                optimizer = build_optimizer(model, config)
                schedule = build_schedule(optimizer, config, len(batches))
                options = StepOptions()
                times[side].append(striate_loop(model, optimizer, batches, schedule, options, log))
    minimal, ours = statistics.median(times["minimal"][1:] or times["minimal"]), statistics.median(times["striate"][1:] or times["striate"])
    overhead = 100 * (ours / minimal - 1)
    result = {"benchmark": "loop_overhead", "model": "lenet5", "batch_size": args.batch_size, "steps_per_round": steps,
              "rounds": rounds, "minimal_ms_per_step": 1000 * minimal, "striate_ms_per_step": 1000 * ours,
              "overhead_percent": overhead, "threads": torch.get_num_threads(), "torch": torch.__version__,
              "machine": platform.processor() or platform.machine(), "quick": args.quick}
    print(f"minimal loop {1000 * minimal:.2f} ms/step, striate loop {1000 * ours:.2f} ms/step: overhead {overhead:+.1f}% "
          f"(median of {rounds} rounds of {steps} steps, batch {args.batch_size}, {torch.get_num_threads()} threads)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
