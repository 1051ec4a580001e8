"""Runs that survive: a real process killed with SIGKILL and resumed ends with the same weights, bit for
bit, as a run never interrupted; a diverging run stops naming the step and the last good checkpoint."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from striate.errors import TrainingDivergedError
from striate.session import resume_run, train_run
from striate.training.checkpoint import load_checkpoint, load_weights

SRC = Path(__file__).resolve().parents[2] / "src"

RECIPE = {
    # dropout and augmentation make the run consume random numbers: resume must restore them exactly
    "model": {"name": "mlp", "args": {"hidden": [64], "dropout_rate": 0.2}},
    "data": {"source": "digits", "input_size": 8, "augment": ["translate"]},
    "optim": {"optimizer": "adam", "lr": 0.003, "batch_size": 16, "epochs": 4, "schedule": "cosine",
              "warmup_epochs": 1, "weight_decay": 0.0001},
    "run": {"progress": "off", "checkpoint_every": 7},
}


def striate(*arguments: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "striate.cli.main", "train", *arguments], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> None:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err


@pytest.mark.slow
def test_killed_and_resumed_run_ends_bit_for_bit_like_an_uninterrupted_one(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**RECIPE, "run": {**RECIPE["run"], "out_dir": str(tmp_path)}}))
    finished(striate(str(recipe), "--name", "whole"))

    process = striate(str(recipe), "--name", "killed")
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    stopped_at = load_checkpoint(checkpoint)["loop"]["step"]
    assert stopped_at < 4 * 90  # killed well before the end (90 steps an epoch)
    finished(striate("--resume", str(tmp_path / "killed")))

    whole, resumed = load_weights(tmp_path / "whole" / "last.safetensors"), load_weights(tmp_path / "killed" / "last.safetensors")
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[name], resumed[name]) for name in whole)
    assert_same_logs(tmp_path / "whole", tmp_path / "killed")


TIMES = ("seconds", "images_per_second")  # the only figures a resume may change


def assert_same_logs(whole: Path, resumed: Path) -> None:
    """metrics.jsonl, metrics.csv and steps.csv of a resumed run equal those of the run never stopped, in every
    field but time and throughput (the epoch's learning rate, the training figures of the resumed epoch...)."""
    def records(run: Path) -> list[dict]:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMES}
                for line in (run / "metrics.jsonl").read_text().splitlines()]

    def table(run: Path) -> list[dict]:
        rows = list(csv.DictReader((run / "metrics.csv").read_text().splitlines()))
        return [{k: v for k, v in row.items() if k not in TIMES} for row in rows]

    assert records(whole) == records(resumed)
    assert len(records(whole)) > 1
    assert table(whole) == table(resumed)
    steps = [(run / "steps.csv").read_text().splitlines() for run in (whole, resumed)]
    assert steps[0] == steps[1]  # every step's learning rate and loss, once each


@pytest.mark.slow
def test_a_finished_run_extended_by_resume_matches_a_longer_run(tmp_cfg_factory):
    whole = train_run(tmp_cfg_factory("whole", epochs=3, schedule="constant"))
    short = train_run(tmp_cfg_factory("short", epochs=2, schedule="constant"))
    config_file = short["run_dir"] / "config.yaml"
    config_file.write_text(config_file.read_text().replace("epochs: 2", "epochs: 3"))
    resumed = resume_run(short["run_dir"])
    assert [f["epoch"] for f in resumed["history"]] == [1, 2, 3]
    assert [f["val_loss"] for f in resumed["history"]] == [f["val_loss"] for f in whole["history"]]
    a, b = load_weights(whole["run_dir"] / "last.safetensors"), load_weights(short["run_dir"] / "last.safetensors")
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_a_diverging_run_stops_naming_the_step_and_the_last_good_checkpoint(tmp_cfg_factory):
    config = tmp_cfg_factory("diverge", epochs=3)
    config.optim.schedule, config.optim.decay_rate, config.optim.momentum = "exponential", -12.0, 0.9
    config.optim.lr, config.run.checkpoint_every = 0.05, 5  # lr grows as e^(12 t): fine at first, then not
    with pytest.raises(TrainingDivergedError) as caught:
        train_run(config)
    message = str(caught.value)
    run_dir = Path(config.run.out_dir) / "diverge"
    assert "at step" in message and "learning rate too high" in message
    assert str(run_dir / "checkpoint.safetensors") in message and "--resume" in message
    saved = load_checkpoint(run_dir / "checkpoint.safetensors")
    bad_step = int(message.split("at step ")[1].split(" ")[0])
    assert saved["loop"]["step"] < bad_step
    assert all(torch.isfinite(tensor).all() for tensor in saved["model"].values())  # nothing good overwritten
