"""Transfer learning on MNIST: pretrain LeNet-5 on digits 0-4, then move to digits 5-9 five ways.

    PYTHONPATH=src python examples/transfer_mnist.py            # built-in mnist5k, a few minutes on a CPU
    PYTHONPATH=src python examples/transfer_mnist.py --data ../shared/data/mnist --epochs 3

Prints the table of docs/transfer.md (test accuracy on digits 5-9, wall time, trainable parameters).
The command-line equivalent:

    striate train --model lenet5 --data.classes 0,1,2,3,4 --epochs 3 --name mnist-0-4
    striate transfer compare --from runs/mnist-0-4 --classes 5,6,7,8,9 --epochs 2
"""

import argparse
import time

from striate.cli.common import print_table
from striate.session import train_run
from striate.training.config import Config
from striate.transfer.compare import TABLE_HEADERS, compare_strategies, format_rows, markdown_table
from striate.transfer.data import target_config

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data", help="MNIST IDX folder (default: the built-in 5000-image mnist5k)")
parser.add_argument("--epochs", type=int, default=2, help="epochs of pretraining and of each trained strategy")
parser.add_argument("--out-dir", default="runs")
args = parser.parse_args()
started = time.perf_counter()

# 1. The source task: LeNet-5 on digits 0-4 only.
source = Config()
source.model.name = "lenet5"
source.data.source, source.data.path = ("idx", args.data) if args.data else ("mnist5k", None)
source.data.classes = [0, 1, 2, 3, 4]
source.optim.epochs = args.epochs + 1
source.run.out_dir, source.run.progress = args.out_dir, "off"
pretrained = train_run(source, "mnist-0-4")
print(f"source: digits 0-4, test accuracy {100 * pretrained['test']['accuracy']:.2f}% ({pretrained['run_dir']})")

# 2. The target task: digits 5-9, the same recipe and split rules; five strategies on the same splits.
target = target_config(pretrained["run_dir"], args.data, classes=[5, 6, 7, 8, 9])
target.optim.epochs = args.epochs
target.run.progress = "off"
rows = compare_strategies(pretrained["run_dir"], target, report=lambda row: print("done:", row["strategy"], flush=True))
print_table(TABLE_HEADERS, format_rows(rows))
print()
print(markdown_table(rows))
print(f"total time {time.perf_counter() - started:.0f}s")
