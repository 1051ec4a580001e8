"""DDP through torchrun: 2 CPU processes on gloo reach the same figures as one process with the same
global batch (within rounding; the last, uneven batch too); only rank 0 writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from striate.training.checkpoint import load_weights
from striate.training.distributed import RankSlice, ShardedLoader, World

SRC = Path(__file__).resolve().parents[2] / "src"
RECIPE = {
    "model": {"name": "mlp", "args": {"hidden": [32]}},
    "data": {"source": "digits", "input_size": 8},
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
    slices = [list(RankSlice(list(range(5)), World(rank, rank, 2))) for rank in range(2)]
    assert slices == [[0, 2, 4], [1, 3]]


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
