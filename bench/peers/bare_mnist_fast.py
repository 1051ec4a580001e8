"""The bare-PyTorch peer of `striate train recipes/mnist-fast.yaml`: the same network, data and recipe in one
plain script, as a practitioner would write it without striate (bench/mnist_whole_process.py runs both).

LeNet-5 with batch norm after C3, C5 and F6, ReLU, max pooling, channels_last; MNIST's IDX files, digits
zero-padded to 32x32, normalised by the training pixels' mean and std; 2% of the training images held out
(as the recipe's data.val_fraction); SGD with Nesterov momentum 0.9, torch's OneCycleLR (peak 0.2, 25% rising,
div_factor 25, final_div_factor 1e4), weight decay 5e-4 on weights only, label smoothing 0.1, batch 256,
2 epochs; the test accuracy of the last epoch on MNIST's 10,000 test digits.

    python bench/peers/bare_mnist_fast.py ../shared/data/mnist [--seed 0] [--epochs 2]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_data import load_mnist  # noqa: E402


def network() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.BatchNorm2d(120), nn.ReLU(), nn.Flatten(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(), nn.Linear(84, 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    parts = load_mnist(args.data)

    def tensors(name):
        images, labels = parts[name]
        padded = np.zeros((len(images), 1, 32, 32), dtype=np.uint8)
        padded[:, 0, 2:30, 2:30] = images
        return torch.from_numpy(padded), torch.from_numpy(labels.astype(np.int64))

    train_x, train_y = tensors("train")
    test_x, test_y = tensors("test")
    keep = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(args.seed))[: int(len(train_x) * 0.98)]
    train_x, train_y = train_x[keep], train_y[keep]
    pixels = train_x.float().div(255)
    mean, std = pixels.mean().item(), pixels.std().item()

    def prepare(images):
        return ((images.float().div(255) - mean) / std).contiguous(memory_format=torch.channels_last)

    model = network().to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}],
                                lr=0.2, momentum=0.9, nesterov=True)
    steps = (len(train_x) + args.batch_size - 1) // args.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=steps * args.epochs,
                                                   pct_start=0.25, div_factor=25, final_div_factor=1e4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    started = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x))
        for start in range(0, len(train_x), args.batch_size):
            index = order[start : start + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(prepare(train_x[index])), train_y[index]).backward()
            optimizer.step()
            schedule.step()
    train_seconds = time.perf_counter() - started
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test_x), 1000):
            correct += (model(prepare(test_x[start : start + 1000])).argmax(1) == test_y[start : start + 1000]).sum().item()
    print(f"test accuracy {100 * correct / len(test_x):.2f}% on {len(test_x)} images ({train_seconds:.1f}s of training)")


if __name__ == "__main__":
    main()
