"""Overhead of the layer monitors: training throughput with run.monitor off, and on at several sampling rates.

    python bench/monitor_overhead.py            # LeNet-5 on the 5000-image MNIST subset, 3 epochs per setting
    python bench/monitor_overhead.py --quick    # a tiny MLP on 8x8 digits, to check that the script works

Prints a table and writes bench/results/monitor_overhead.json (or --out).
"""

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from striate.models import create_model
from striate.session import make_loader, prepare, resolve_device
from striate.training.config import Config
from striate.training.layer_monitor import LayerMonitor
from striate.training.loop import train_epoch
from striate.training.optim import build_optimizer


def make_config(quick: bool) -> Config:
    config = Config()
    config.data.augment = []
    if quick:
        config.model.name, config.model.args = "mlp", {"hidden": [32]}
        config.data.source, config.data.input_size = "digits", 8
    else:
        config.model.args = {"activation": "relu", "pooling": "max"}
    return config


def measure(config: Config, prepared, device, every: int | None, epochs: int) -> float:
    """Images per second over ``epochs`` epochs after one warm-up epoch; ``every=None`` means monitor off."""
    torch.manual_seed(0)
    train = prepared.splits["train"]
    model = create_model(config.model.name, **prepared.model_args).to(device)
    optimizer = build_optimizer(model, config.optim)
    loader = make_loader(prepared, "train", config, device, train=True)
    monitor = LayerMonitor(model, optimizer, every) if every else None
    train_epoch(model, optimizer, loader, prepared.task)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(epochs):
        train_epoch(model, optimizer, loader, prepared.task)
        if monitor is not None:
            monitor.epoch_figures()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    if monitor is not None:
        monitor.close()
    return epochs * len(train) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny model and data: checks that the script runs")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per setting (default 3, quick 1)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="bench/results/monitor_overhead.json")
    args = parser.parse_args()
    config = make_config(args.quick)
    device = resolve_device(args.device)
    prepared = prepare(config)
    epochs = args.epochs or (1 if args.quick else 3)
    settings = {"off": None, "every 100": 100, "every 10": 10, "every 1": 1}
    rates = {name: measure(config, prepared, device, every, epochs) for name, every in settings.items()}
    rows = [{"monitor": name, "images_per_second": rate, "overhead_percent": 100 * (rates["off"] / rate - 1)}
            for name, rate in rates.items()]
    print(f"{'monitor':<10} {'images/s':>10} {'overhead':>9}")
    for row in rows:
        print(f"{row['monitor']:<10} {row['images_per_second']:>10,.0f} {row['overhead_percent']:>8.1f}%")
    result = {"benchmark": "monitor_overhead", "model": config.model.name, "data": config.data.source,
              "device": str(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "epochs": epochs, "quick": args.quick, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
