"""bench/gpu_suite.py, the prepared GPU run of issue 21, runs end to end here in its smoke mode (tiny
stand-in data, a few steps; airbench94 and NCCL are skipped without a GPU, DDP runs on gloo), so that the
one run a lent GPU gets does not fail on a mistake a CPU can find."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_suite_runs_end_to_end_in_smoke_mode(tmp_path):
    out = tmp_path / "suite.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_suite.py"), "--smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=1200, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    assert not [row for row in results if "status" in row or "error" in row]
    by_part = {part: [row for row in results if row["part"] == part] for part in ("mnist", "cifar", "resnet50", "ddp")}
    mnist = next(row for row in by_part["mnist"] if "seconds_to_99" in row)
    assert len(mnist["test_accuracy"]) == 1 and 0 <= mnist["test_accuracy"][0] <= 1
    striate_cifar = [row for row in by_part["cifar"] if row.get("side") == "striate"]
    assert len(striate_cifar) == 1 and len(striate_cifar[0]["curve"]) == 1
    rates = {row["side"]: row["images_per_second"] for row in by_part["resnet50"] if "side" in row}
    assert set(rates) == {"minimal", "striate"} and min(rates.values()) > 0
    assert sorted(row["processes"] for row in by_part["ddp"] if "processes" in row) == [1, 2]
    assert "airbench94: skipped" in done.stdout and "summary" in done.stdout
    table = done.stdout.split("summary", 1)[1]
    assert all(name in table for name in ("MNIST to 99%", "CIFAR-10 to 94%", "ResNet-50", "DDP"))

