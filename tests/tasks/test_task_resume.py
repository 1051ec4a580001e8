"""Task runs go through the same training session as classifiers: checkpoints, exact resume, the NaN stop,
the task's own figure watched for the best weights."""

import json

import pytest
import torch
import yaml

from striate.errors import ConfigError, TrainingDivergedError
from striate.session import resume_run
from striate.session import train_run
from striate.tasks.synthetic import make_keypoint_dots, make_mnist_canvas
from striate.training.checkpoint import load_checkpoint, load_weights
from striate.training.config import config_from_dict


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    return make_mnist_canvas(tmp_path_factory.mktemp("canvas") / "c", count=40, size=28, seed=3)


def segmentation_config(data, out_dir, name, epochs, **optim):
    return config_from_dict({
        "model": {"name": "dilated_context", "args": {"width": 4}},
        "data": {"task": "segmentation", "path": str(data), "augment": ["hflip"], "val_fraction": 0.2,
                 "test_fraction": 0.2},
        "optim": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 8, "epochs": epochs,
                  "schedule": "constant", **optim},
        "run": {"out_dir": str(out_dir), "name": name, "progress": "off"},
    })


def test_a_task_run_extended_by_resume_matches_a_longer_run(canvas, tmp_path):
    whole = train_run(segmentation_config(canvas, tmp_path, "whole", 3))
    short = train_run(segmentation_config(canvas, tmp_path, "short", 2))
    assert (short["run_dir"] / "checkpoint.safetensors").is_file() and (short["run_dir"] / "steps.csv").is_file()
    config_file = short["run_dir"] / "config.yaml"
    assert yaml.safe_load(config_file.read_text())["optim"]["watch"] == "val_miou"  # the task's figure
    config_file.write_text(config_file.read_text().replace("epochs: 2", "epochs: 3"))
    resumed = resume_run(short["run_dir"])
    history = [json.loads(line) for line in (short["run_dir"] / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (whole["run_dir"] / "metrics.jsonl").read_text().splitlines()]
    assert [f["epoch"] for f in history] == [1, 2, 3]
    assert [(f["train_loss"], f["val_miou"]) for f in history] == [(f["train_loss"], f["val_miou"]) for f in expected]
    a, b = load_weights(whole["run_dir"] / "last.safetensors"), load_weights(short["run_dir"] / "last.safetensors")
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert resumed["summary"]["epochs"] == 3 and resumed["test"]["miou"] == whole["test"]["miou"]


def test_a_diverging_task_run_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path):
    data = make_keypoint_dots(tmp_path / "dots.csv", count=64, size=16, seed=1)
    config = config_from_dict({
        "model": {"name": "keypoint_mlp", "args": {"hidden": 16}},
        "data": {"task": "keypoints", "path": str(data)},
        "optim": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 8, "epochs": 4,
                  "schedule": "exponential", "decay_rate": -15.0},  # the rate grows as e^(15 t)
        "run": {"out_dir": str(tmp_path), "name": "diverge", "progress": "off", "checkpoint_every": 3},
    })
    with pytest.raises(TrainingDivergedError) as caught:
        train_run(config)
    message = str(caught.value)
    assert "at step" in message and str(tmp_path / "diverge" / "checkpoint.safetensors") in message
    saved = load_checkpoint(tmp_path / "diverge" / "checkpoint.safetensors")
    assert all(torch.isfinite(tensor).all() for tensor in saved["model"].values())


def test_task_watch_names_the_task_figures(canvas, tmp_path):
    config = segmentation_config(canvas, tmp_path, "loss", 1, watch="val_loss", early_stop_patience=1)
    result = train_run(config)
    assert result["summary"]["watch"] == "val_loss" and result["summary"]["best_value"] > 0
    with pytest.raises(ConfigError, match="unknown optim.watch 'val_rmse'.*val_miou"):
        train_run(segmentation_config(canvas, tmp_path, "bad", 1, watch="val_rmse"))
    assert not (tmp_path / "bad").exists()


def test_median_frequency_balancing_weighs_the_rare_digit_pixels(canvas, tmp_path):
    result = train_run(segmentation_config(canvas, tmp_path, "balanced", 1, class_balance="median_frequency"))
    weights = json.loads((result["run_dir"] / "model.json").read_text())["class_weights"]
    assert len(weights) == 11 and weights[0] < 0.5 * min(weights[1:])  # the background weighs far less than any digit
