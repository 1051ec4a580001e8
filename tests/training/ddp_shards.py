"""Run by tests/training/test_distributed.py under torchrun (2 gloo processes on the CPU): each rank evaluates
its share of a validation set of ONE batch, and augments its share of the training batches; writes what it
saw to OUT/rank<r>.json (rank 0 also the one-process evaluation of the same set).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/training/ddp_shards.py OUT
"""

import json
import sys
from pathlib import Path

import torch

import striate
from striate.data import load_source
from striate.data.augment import Augmenter, build_augment
from striate.data.dataset import ImageSet
from striate.data.loader import DeviceLoader
from striate.tasks.classification import ClassificationTask
from striate.training.distributed import RankSlice, ShardedLoader, setup, sum_over_ranks, teardown, world_from_environment
from striate.training.loop import StepOptions, evaluate


class Recording(Augmenter):
    """The run's own augmenter, noting how many images each call augments."""

    def __init__(self, augmenter: Augmenter):
        super().__init__(augmenter.steps, augmenter.mixing)
        self.sizes = []

    def __call__(self, images, generator):
        self.sizes.append(len(images))
        return super().__call__(images, generator)


def main(out: Path) -> None:
    world = world_from_environment()
    setup(world, torch.device("cpu"))
    torch.manual_seed(0)
    model = striate.create_model("mlp", num_classes=10, in_channels=1, input_size=8, hidden=[16]).eval()
    digits = load_source("digits")["train"]
    task = ClassificationTask(10)
    validation = ImageSet(digits.images[:300], digits.labels[:300])  # one batch of 512: a set of ONE batch

    def val_loader():
        return DeviceLoader(validation, 512, [0.0], [1.0], normalize=lambda images: images - 0.5)

    shared = RankSlice(val_loader(), world)
    counts = [len(targets) for _, targets in shared]
    figures = evaluate(model, shared, task, StepOptions(reduce=sum_over_ranks))
    record = {"rank": world.rank, "val_counts": counts, "figures": figures}
    if world.rank == 0:
        record["one_process"] = evaluate(model, val_loader(), task)

    # training: ids as labels, so that the test can tell which images each rank got
    train = ImageSet(digits.images[:45], torch.arange(45), [str(i) for i in range(45)])
    augment = Recording(build_augment(["noise"]))
    sharded = ShardedLoader(DeviceLoader(train, 16, [0.0], [1.0], shuffle=True, seed=5, augment=augment), world)
    batches = [(images, ids, sharded.global_size) for images, ids in sharded]
    clean = {int(i): image for i, image in zip(train.labels, train.images.float().div(255))}
    record["train"] = {"ids": [ids.tolist() for _, ids, _ in batches], "global_sizes": [size for *_, size in batches],
                       "augmented_sizes": augment.sizes,
                       "noise": [[(image - clean[int(i)]).flatten().tolist() for image, i in zip(images, ids)]
                                 for images, ids, _ in batches]}
    (out / f"rank{world.rank}.json").write_text(json.dumps(record))
    teardown(world)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
