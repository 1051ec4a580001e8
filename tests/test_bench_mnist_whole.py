"""bench/mnist_whole_process.py and its bare-PyTorch peer: the peer's network is striate's recipe network
(the same parameter shapes, in order), and the harness runs both sides as whole processes and reads their
accuracies (tiny IDX files here; the real figures are in docs/benchmarks.md)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from striate.data.idx import write_idx
from striate.models import create_model
from striate.training.config import load_recipe

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench" / "peers"))


def test_the_peer_builds_the_recipes_network():
    from bare_mnist_fast import network

    recipe = load_recipe(str(REPO / "recipes" / "mnist-fast.yaml"))
    ours = create_model(recipe.model.name, num_classes=10, in_channels=1, input_size=32, **recipe.model.args)
    assert [tuple(p.shape) for p in network().parameters()] == [tuple(p.shape) for p in ours.parameters()]


@pytest.mark.slow
def test_the_harness_times_both_sides_and_reads_their_accuracies(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 1000), ("t10k", 100)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = (labels[:, None, None] * 25 + rng.integers(0, 20, (count, 28, 28))).astype(np.uint8)  # learnable
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "mnist_whole_process.py"), "--data", str(tmp_path),
                           "--seeds", "0", "--epochs", "4", "--batch-size", "64", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    for side in ("striate", "bare PyTorch"):
        (row,) = figures["results"][side]
        assert row["seed"] == 0 and row["seconds"] > 0
        # the digit-like data is easy: both sides learn it, and the figure kept is the one the side printed
        assert row["test_accuracy"] > 50, row
        assert f"{side:<13} {row['seconds']:6.2f} s  {row['test_accuracy']:.2f}%" in done.stdout
    assert "striate / bare PyTorch" in done.stdout
