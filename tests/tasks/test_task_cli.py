"""Each task trains end to end from the CLI on data made here (a few seconds each)."""

import json

import pytest

from striate.cli.main import main
from striate.tasks.synthetic import make_keypoint_dots, make_mnist_canvas

COMMON = ["--epochs", "2", "--progress", "lines", "--batch_size", "16"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _finished(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "best.safetensors").is_file() and (run_dir / "model.json").is_file()
    assert (run_dir / "predictions.png").stat().st_size > 1000
    return summary, [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_keypoints_end_to_end(capsys, tmp_path):
    data = make_keypoint_dots(tmp_path / "dots.csv", count=120, size=16, seed=1)
    code, out, err = run_cli(capsys, "train", "recipes/keypoint-lenet-dots.yaml", "--data", data, "--model",
                             "keypoint_mlp", "--model.args", "{hidden: 32}", *COMMON, "--epochs", "4",
                             "--out_dir", tmp_path, "--name", "k")
    assert code == 0, err
    assert "test rmse" in out and "px per coordinate" in out
    summary, history = _finished(tmp_path / "k")
    assert summary["task"] == "keypoints" and 0 < summary["test"]["rmse"] < 16
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_segmentation_end_to_end(capsys, tmp_path):
    data = make_mnist_canvas(tmp_path / "canvas", count=24, size=32, seed=2)
    for model in ("fcn8s", "dilated_context"):
        code, out, err = run_cli(capsys, "train", "recipes/dilated-mnist-canvas.yaml", "--data", data, "--model", model,
                                 "--model.args", "{}", *COMMON, "--out_dir", tmp_path, "--name", model)
        assert code == 0, err
        assert "mean IoU" in out
        summary, history = _finished(tmp_path / model)
        assert 0 <= summary["test"]["miou"] <= 1 and 0 <= summary["test"]["pixel_accuracy"] <= 1
        assert "val_miou" in history[0] and "train_pixel_accuracy" in history[0]


def test_autoencoder_end_to_end(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "recipes/autoencoder-mnist.yaml", "--data.source", "digits",
                             "--data.input_size", "8", "--model.args", "{width: 4, code_channels: 4}", *COMMON,
                             "--out_dir", tmp_path, "--name", "ae")
    assert code == 0, err
    assert "reconstruction mse" in out
    summary, _ = _finished(tmp_path / "ae")
    assert 0 < summary["test"]["mse"] < 0.5


@pytest.mark.parametrize("argv, message", [
    (["--data.task", "segmentaton"], "did you mean 'segmentation'"),
    (["--data.task", "segmentation", "--model", "lenet5"], "does not fit data.task segmentation"),
    (["--data.task", "keypoints", "--data", "missing.csv"], "not found: missing.csv"),
    (["--class_balance", "median_frequency"], "weighs the pixels of a segmentation loss"),
    (["--class_balance", "median"], "unknown optim.class_balance 'median'"),
])
def test_bad_task_settings_are_one_line_errors(capsys, tmp_path, argv, message):
    code, _, err = run_cli(capsys, "train", *argv, "--data.source", "digits", "--out_dir", tmp_path, "--progress", "off")
    assert code == 2 and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing half-written
