"""DDP through torchrun: 2 CPU processes on gloo reach the same figures as one process with the same
global batch (within rounding; the last, uneven batch too); only rank 0 writes; each rank augments only its
slice of each batch, with draws of its own; evaluation is shared by images, a set of one batch too."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from striate.data.augment import Augmenter, build_augment
from striate.data.dataset import ImageSet
from striate.data.loader import DeviceLoader
from striate.training.checkpoint import load_weights
from striate.training.distributed import RankSlice, ShardedLoader, World

SRC = Path(__file__).resolve().parents[2] / "src"
RECIPE = {
    "model": {"name": "mlp", "args": {"hidden": [32]}},
    "data": {"source": "digits", "input_size": 8, "augment": []},  # the same images on 1 and 2 ranks
    "optim": {"optimizer": "sgd", "lr": 0.1, "batch_size": 64, "epochs": 3, "schedule": "constant"},
    "run": {"progress": "off"},
}


def test_shards_of_a_global_batch_cover_it_once():
    batches = [(torch.arange(10).float(), torch.arange(10))]
    shards = [next(iter(ShardedLoader(_Fixed(batches), World(rank, rank, 3)))) for rank in range(3)]
    assert torch.equal(torch.cat([labels for _, labels in shards]), torch.arange(10))
    loader = ShardedLoader(_Fixed([(torch.zeros(29), torch.zeros(29))]), World(0, 0, 2))
    shard = next(iter(loader))[1]
    assert len(shard) == 15 and loader.loss_weight(len(shard)) == pytest.approx(2 * 15 / 29)
    one_batch = _Fixed([(torch.arange(5).float(), torch.arange(5))])  # a validation set of one batch
    slices = [[labels.tolist() for _, labels in RankSlice(one_batch, World(rank, rank, 2))] for rank in range(2)]
    assert slices == [[[0, 1, 2]], [[3, 4]]]
    single = _Fixed([(torch.zeros(1), torch.zeros(1))])  # fewer images than ranks: rank 1's empty slice is skipped
    assert [len(list(RankSlice(single, World(rank, rank, 2)))) for rank in range(2)] == [1, 0]


def test_each_rank_augments_only_its_slice_with_draws_of_its_own():
    """The device loader under ShardedLoader: the ranks' slices are the one-process global batches cut in
    two; the augmenter is asked for the slice only; the ranks' random draws differ, and repeat on a rerun."""
    data = ImageSet(torch.randint(0, 256, (45, 1, 4, 4), dtype=torch.uint8), torch.arange(45), [str(i) for i in range(45)])

    def loader():
        return DeviceLoader(data, 16, [0.0], [1.0], shuffle=True, seed=5, augment=Recording(build_augment(["noise"])))

    global_batches = [labels.tolist() for _, labels in loader()]
    assert [len(batch) for batch in global_batches] == [16, 16, 13]
    seen, noise = {}, {}
    for rank in (0, 1):
        sharded = ShardedLoader(loader(), World(rank, rank, 2))
        batches = [(images, labels, sharded.global_size) for images, labels in sharded]
        seen[rank] = [labels.tolist() for _, labels, _ in batches]
        sizes = sharded.loader.augment.sizes
        assert sizes == [len(labels) for labels in seen[rank]] == [8, 8, 7 if rank == 0 else 6]
        assert [size for *_, size in batches] == [16, 16, 13]
        noise[rank] = torch.cat([images - data.images[labels].float() / 255 for images, labels, _ in batches])
        again = torch.cat([images - data.images[labels].float() / 255 for images, labels in sharded])
        assert torch.equal(again, noise[rank])  # reproducible: the same draws on a rerun
    assert [a + b for a, b in zip(seen[0], seen[1])] == global_batches  # every image of a batch, once
    assert not torch.allclose(noise[0][:20], noise[1][:20])  # each rank draws its own noise


def test_the_streaming_loader_serves_a_rank_as_the_device_loader_does(tmp_path):
    """The same rank's slices from files (decoded per slice) and from memory: the same images, the same draws."""
    import numpy as np
    from PIL import Image

    from striate.data import load_source
    from striate.data.streaming import StreamingLoader

    for label, name in enumerate(("a", "b", "c")):
        (tmp_path / name).mkdir()
        for index in range(5):
            pixels = np.random.default_rng(label * 100 + index).integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{index}.png")
    data = load_source("folder", str(tmp_path), input_size=8)["train"]
    for rank in (0, 1):
        device = ShardedLoader(DeviceLoader(data, 4, [0.0], [1.0], shuffle=True, seed=7,
                                            augment=Recording(build_augment(["hflip", "noise"]))), World(rank, rank, 2))
        streaming = ShardedLoader(StreamingLoader.from_folder(tmp_path, size=8, batch_size=4, shuffle=True, seed=7,
                                                              augment=Recording(build_augment(["hflip", "noise"]))),
                                  World(rank, rank, 2))
        pairs = [((a, b), device.global_size) for a, b in zip(device, streaming)]
        assert [size for _, size in pairs] == [4, 4, 4, 3] and streaming.global_size == 3
        for ((images_a, labels_a), (images_b, labels_b)), _ in pairs:
            assert torch.equal(labels_a, labels_b) and torch.equal(images_a, images_b)
        assert device.loader.augment.sizes == streaming.loader.augment.sizes == [2, 2, 2, 2 if rank == 0 else 1]


class Recording(Augmenter):
    """The run's own augmenter, noting how many images each call augments."""

    def __init__(self, augmenter: Augmenter):
        super().__init__(augmenter.steps, augmenter.mixing)
        self.sizes = []

    def __call__(self, images, generator):
        self.sizes.append(len(images))
        return super().__call__(images, generator)


class _Fixed(list):
    def set_epoch(self, epoch):
        pass


def run(arguments: list[str], tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, *arguments], env=environment, capture_output=True, text=True, timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**RECIPE, "run": {**RECIPE["run"], "out_dir": str(tmp_path / "runs")}}))
    run(["-m", "striate.cli.main", "train", str(recipe), "--name", "one"], tmp_path)
    run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "striate.cli.main", "train",
         str(recipe), "--name", "two"], tmp_path)
    runs = tmp_path / "runs"
    assert sorted(path.name for path in runs.iterdir()) == ["one", "two"]  # rank 1 wrote nothing
    one, two = ([json.loads(line) for line in (runs / name / "metrics.jsonl").read_text().splitlines()] for name in ("one", "two"))
    assert len(one) == len(two) == 3
    for a, b in zip(one, two):
        assert a["step"] == b["step"]
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-3)
        assert b["val_accuracy"] == pytest.approx(a["val_accuracy"], abs=0.006)  # at most one image of 179
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-3)
    w_one, w_two = load_weights(runs / "one" / "last.safetensors"), load_weights(runs / "two" / "last.safetensors")
    assert all(torch.allclose(w_one[name], w_two[name], atol=1e-4) for name in w_one)
    summary = json.loads((runs / "two" / "summary.json").read_text())
    assert summary["test_accuracy"] == pytest.approx(json.loads((runs / "one" / "summary.json").read_text())["test_accuracy"], abs=0.006)


@pytest.mark.slow
def test_two_gloo_ranks_share_a_validation_set_of_one_batch_and_augment_their_own_slices(tmp_path):
    """Under torchrun with gloo (tests/training/ddp_shards.py): a validation set of 300 images in ONE batch is
    measured by both ranks, 150 images each, and the figures summed over the ranks are the one-process
    figures; in training each rank's augmenter is asked for its slice only, and the ranks draw differently."""
    run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(Path(__file__).with_name("ddp_shards.py")),
         str(tmp_path)], tmp_path)
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [record["val_counts"] for record in ranks] == [[150], [150]]
    one = ranks[0]["one_process"]
    for record in ranks:
        assert record["figures"]["count"] == one["count"] == 300
        assert record["figures"]["accuracy"] == pytest.approx(one["accuracy"], abs=1e-12)
        assert record["figures"]["loss"] == pytest.approx(one["loss"], rel=1e-6)
        assert record["figures"]["confusion"] == one["confusion"]
        train = record["train"]
        assert train["global_sizes"] == [16, 16, 13]
        assert train["augmented_sizes"] == [len(ids) for ids in train["ids"]] == [8, 8, 7 if record["rank"] == 0 else 6]
    ids = [a + b for a, b in zip(ranks[0]["train"]["ids"], ranks[1]["train"]["ids"])]
    assert sorted(i for batch in ids for i in batch) == list(range(45))  # the ranks' slices cover the epoch once
    assert ranks[0]["train"]["noise"][0][0] != ranks[1]["train"]["noise"][0][0]  # each rank its own draws
