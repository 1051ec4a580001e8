"""A finished task run used again: `striate evaluate` gives the task's figures on the test split (the same
as training's), `striate predict` writes masks, overlays and reconstructions and names keypoints."""

import json

import numpy as np
import pytest
from PIL import Image

from striate.cli.main import main
from striate.tasks.synthetic import make_keypoint_dots, make_mnist_canvas

COMMON = ["--epochs", "1", "--progress", "off", "--batch_size", "16"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task-runs")
    canvas = make_mnist_canvas(folder / "canvas", count=30, size=28, seed=4)
    dots = make_keypoint_dots(folder / "dots.csv", count=60, size=16, seed=5)
    for argv in (["recipes/dilated-mnist-canvas.yaml", "--data", canvas, "--model.args", "{width: 4}", "--name", "seg"],
                 ["recipes/keypoint-lenet-dots.yaml", "--data", dots, "--model", "keypoint_mlp",
                  "--model.args", "{hidden: 8}", "--name", "dots"],
                 ["recipes/autoencoder-mnist.yaml", "--data.source", "digits", "--data.input_size", "8",
                  "--model.args", "{width: 4, code_channels: 4}", "--name", "ae"]):
        assert main([str(a) for a in ["train", *argv, *COMMON, "--out_dir", folder]]) == 0
    return folder, canvas, dots


def test_evaluate_a_task_run_gives_the_figures_of_training(capsys, runs):
    folder, _, _ = runs
    for name, figure in (("seg", "miou"), ("dots", "rmse"), ("ae", "mse")):
        code, out, err = run_cli(capsys, "evaluate", folder / name, "--json")
        assert code == 0, err
        figures = json.loads(out)
        summary = json.loads((folder / name / "summary.json").read_text())
        assert figures[figure] == pytest.approx(summary["test"][figure], rel=1e-6)
        assert figures["count"] == summary["test"]["count"]
    code, out, _ = run_cli(capsys, "evaluate", folder / "seg")
    assert "mean IoU" in out and "background" in out  # the per-class IoU table
    code, out, _ = run_cli(capsys, "evaluate", folder / "dots")
    assert "px per coordinate" in out and "left_eye" in out  # the per-keypoint error table


def test_evaluate_on_other_data(capsys, runs, tmp_path):
    folder, _, _ = runs
    other = make_mnist_canvas(tmp_path / "other", count=20, size=36, seed=9)  # any size: fully convolutional
    code, out, err = run_cli(capsys, "evaluate", folder / "seg", "--data", other, "--json")
    assert code == 0, err and 0 <= json.loads(out)["miou"] <= 1
    bigger = make_keypoint_dots(tmp_path / "big.csv", count=20, size=24, seed=9)
    code, _, err = run_cli(capsys, "evaluate", folder / "dots", "--data", bigger)
    assert code == 2 and "24x24 but the run was trained on 16x16" in err


def test_predict_segmentation_writes_a_mask_and_an_overlay(capsys, runs, tmp_path):
    folder, canvas, _ = runs
    image = sorted((canvas / "images").iterdir())[0]
    code, out, err = run_cli(capsys, "predict", folder / "seg", image, "--out", tmp_path / "pred", "--json")
    assert code == 0, err
    [prediction] = json.loads(out)
    mask = np.asarray(Image.open(prediction["mask"]))
    overlay = np.asarray(Image.open(prediction["overlay"]))
    assert mask.shape == (28, 28) and overlay.shape == (28, 28, 3) and mask.max() < 11
    assert sum(prediction["classes"].values()) == pytest.approx(1.0, abs=1e-3)
    code, _, err = run_cli(capsys, "predict", folder / "seg", image)
    assert code == 2 and "--out DIR" in err


def test_predict_keypoints_and_reconstructions(capsys, runs, tmp_path):
    folder, _, dots = runs
    picture = tmp_path / "dot.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(picture)
    code, out, err = run_cli(capsys, "predict", folder / "dots", picture, "--json")
    assert code == 0, err
    points = json.loads(out)[0]["points"]
    assert set(points) == {"left_eye_center", "right_eye_center", "nose_tip"} and all(len(p) == 2 for p in points.values())
    digit = tmp_path / "digit.png"
    Image.fromarray((np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8)).save(digit)
    code, out, err = run_cli(capsys, "predict", folder / "ae", digit, "--out", tmp_path / "rec", "--json")
    assert code == 0, err
    [prediction] = json.loads(out)
    assert np.asarray(Image.open(prediction["reconstruction"])).shape == (8, 8) and 0 <= prediction["mse"] <= 1


def test_the_report_of_a_task_run_shows_its_own_figures(capsys, runs, tmp_path):
    folder, _, _ = runs
    for name, words, pictures in (("seg", ["test mean IoU", "digit", "IoU"], 3),
                                  ("dots", ["test RMSE", "nose_tip", "per keypoint", "no convolution layer"], 2),
                                  ("ae", ["reconstruction MSE", "PSNR"], 3)):  # curves, predictions, filters
        out = tmp_path / f"{name}.html"
        code, _, err = run_cli(capsys, "report", folder / name, "--out", out)
        assert code == 0, err
        page = out.read_text()
        assert all(word in page for word in words), name
        assert "could not be drawn" not in page, name
        assert page.count("data:image/png;base64,") >= pictures, name


def test_the_classifying_predictor_refuses_a_task_run(runs):
    from striate.errors import RunError
    from striate.export.predictor import Predictor

    folder, _, _ = runs
    with pytest.raises(RunError, match="segmentation run.*striate predict RUN IMAGE... --out DIR"):
        Predictor.from_run(folder / "seg")


def test_classifier_pictures_of_a_task_run_are_one_clear_line(capsys, runs):
    folder, _, _ = runs
    for picture in ("confusion", "top-losses", "top-patches", "saliency"):
        code, _, err = run_cli(capsys, "plot", picture, folder / "seg")
        assert code == 2 and "is for classifier runs" in err and len(err.strip().splitlines()) == 1
