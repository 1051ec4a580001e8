"""A fine-tune is a run of the session like any other: killed with SIGKILL in the middle of an epoch and
resumed with 'striate train --resume', it ends bit for bit where a fine-tune never stopped ends, weights
and logs; its model.json keeps the plan that the resume rebuilds."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from striate.training.checkpoint import load_checkpoint, load_weights

SRC = Path(__file__).resolve().parents[2] / "src"
TIMES = ("seconds", "images_per_second")


def striate(*arguments: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                   "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "striate.cli.main", *arguments], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def finetune(source: Path, out_dir: Path, name: str) -> subprocess.Popen:
    # un-freezing at epoch 3 and augmentation: the resume must rebuild the plan and the random streams
    return striate("transfer", "finetune", "--from", str(source), "--classes", "5,6,7", "--freeze-stages", "1",
                   "--unfreeze-at", "3", "--body-lr-scale", "0.1", "--epochs", "5", "--batch_size", "4",
                   "--data.augment", "[translate]", "--run.checkpoint_every", "9", "--progress", "off",
                   "--out_dir", str(out_dir), "--name", name)


def records(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMES}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_killed_fine_tune_resumes_bit_for_bit(tiny_run, tmp_path):
    finished(finetune(tiny_run, tmp_path, "whole"))
    process = finetune(tiny_run, tmp_path, "killed")
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert process.poll() is None, "the fine-tune finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    saved = load_checkpoint(checkpoint)["loop"]
    assert saved["batch"] > 0  # killed in the middle of an epoch
    out = finished(striate("train", "--resume", str(tmp_path / "killed")))
    assert "test accuracy" in out

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for weights in ("last.safetensors", "best.safetensors"):
        a, b = load_weights(whole / weights), load_weights(killed / weights)
        assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)
    assert records(whole) == records(killed)
    trainable = [line["trainable_parameters"] for line in records(killed)]
    assert trainable[0] == trainable[1] < trainable[2]  # frozen in epochs 1-2, everything trains from epoch 3
    assert (whole / "steps.csv").read_text() == (killed / "steps.csv").read_text()
    meta = json.loads((killed / "model.json").read_text())
    assert meta["transfer"]["plan"]["unfreeze_at"] == 3 and meta["transfer"]["source"] == str(tiny_run)
    summaries = [json.loads((run / "summary.json").read_text()) for run in (whole, killed)]
    assert summaries[0]["test_accuracy"] == summaries[1]["test_accuracy"]
