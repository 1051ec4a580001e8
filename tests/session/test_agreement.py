"""One run, one set of figures: summary.json, 'striate evaluate' and the run report agree on the test split,
and the split every reader rebuilds is the one the run was tested on (its fold included), whatever the
normalisation and whatever the task."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from striate.cli.main import main
from striate.session import open_run, prepare, train_run
from striate.tasks.synthetic import make_keypoint_dots, make_mnist_canvas
from striate.training.config import load_recipe

REPO = Path(__file__).resolve().parents[2]


def cli_json(capsys, *argv) -> dict:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def report_page(capsys, run_dir: Path) -> str:
    assert main(["report", str(run_dir), "--out", str(run_dir / "page.html")]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return (run_dir / "page.html").read_text()


def fingerprints(part) -> set[str]:
    return {hashlib.sha256(image.numpy().tobytes()).hexdigest() for image in part.images}


@pytest.mark.parametrize("folds", [0, 2], ids=["plain", "fold"])
@pytest.mark.parametrize("normalize", ["channel", "none", "zca_white"])
def test_summary_evaluate_and_report_agree_on_the_runs_own_test_split(tiny_cfg, capsys, normalize, folds):
    config = tiny_cfg
    config.data.normalize, config.data.whiten_epsilon, config.optim.epochs = normalize, 0.05, 1
    config.data.folds, config.data.fold = folds, 1 if folds else 0  # fold 2 of 2 is the validation split
    run_dir = train_run(config)["run_dir"]
    summary = json.loads((run_dir / "summary.json").read_text())

    figures = cli_json(capsys, "evaluate", run_dir, "--json")
    assert figures["accuracy"] == summary["test_accuracy"]
    for name in ("balanced_accuracy", "macro_f1", "top5_error"):
        assert figures[name] == summary[f"test_{name}"], name
    for name in ("per_class_precision", "per_class_recall", "per_class_f1"):
        assert figures[name] == summary["test"][name], name
    assert figures["count"] == summary["test_count"]
    assert figures["loss"] == pytest.approx(summary["test_loss"], rel=1e-6)

    page = report_page(capsys, run_dir)
    headline = re.search(r'<div class="value">([\d.]+)%</div><div class="label">test accuracy</div>', page).group(1)
    final = re.search(r"Best weights on the test split: accuracy ([\d.]+)%, loss ([\d.]+), (\d+) images", page)
    assert float(headline) == float(final.group(1)) == round(100 * summary["test_accuracy"], 2)
    assert int(final.group(3)) == summary["test_count"]
    assert float(final.group(2)) == pytest.approx(summary["test_loss"], abs=1e-4)

    # the split the readers rebuild is the run's own: none of its images were trained or validated on
    run = open_run(run_dir)
    trained = load_recipe(run_dir / "config.yaml")
    splits = prepare(trained).splits
    assert fingerprints(run.test) == fingerprints(splits["test"])
    assert len(run.test) == summary["test_count"]
    assert not fingerprints(run.test) & (fingerprints(splits["train"]) | fingerprints(splits["val"]))


COMMON = ["--epochs", "1", "--progress", "off", "--batch_size", "8"]


@pytest.fixture(scope="module")
def task_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("task-agreement")
    canvas = make_mnist_canvas(folder / "canvas", count=24, size=28, seed=4)
    dots = make_keypoint_dots(folder / "dots.csv", count=40, size=16, seed=5)
    for argv in (["recipes/dilated-mnist-canvas.yaml", "--data", canvas, "--model.args", "{width: 4}", "--name", "seg"],
                 ["recipes/keypoint-lenet-dots.yaml", "--data", dots, "--model", "keypoint_mlp",
                  "--model.args", "{hidden: 8}", "--name", "dots"],
                 ["recipes/autoencoder-mnist.yaml", "--data.source", "digits", "--data.input_size", "8",
                  "--model.args", "{width: 4, code_channels: 4}", "--name", "ae"]):
        argv = [str(REPO / argv[0]), *argv[1:]]
        assert main([str(a) for a in ["train", *argv, *COMMON, "--out_dir", folder]]) == 0
    return folder


@pytest.mark.parametrize("name, figures", [("seg", ("miou", "pixel_accuracy")), ("dots", ("rmse", "point_error")),
                                           ("ae", ("mse", "psnr"))])
def test_task_runs_agree_too(task_runs, capsys, name, figures):
    run_dir = task_runs / name
    summary = json.loads((run_dir / "summary.json").read_text())
    evaluated = cli_json(capsys, "evaluate", run_dir, "--json")
    run = open_run(run_dir)
    assert evaluated["count"] == summary["test_count"] == len(run.test)
    for figure in figures:
        assert evaluated[figure] == summary[f"test_{figure}"]
    page = report_page(capsys, run_dir)
    assert f"On the test split: {run.task.describe(summary['test'])}." in page
    splits = prepare(load_recipe(run_dir / "config.yaml")).splits
    assert fingerprints(run.test) == fingerprints(splits["test"])


def test_a_two_class_imbalanced_run_agrees_on_the_imbalance_figures(tiny_cfg, tmp_path, capsys):
    """1:9 to train, 1:3 to test, weighted and class-balanced: evaluate --json and its text, summary.json, the API
    and the report's figures give the same balanced accuracy, macro F1, ROC AUC and per-class precision, recall
    and F1."""
    import numpy as np
    import torch

    import striate

    generator = torch.Generator().manual_seed(0)
    counts = {"train": (180, 20), "test": (60, 20)}
    arrays = {}
    for split, (common, rare) in counts.items():
        labels = torch.tensor([0] * common + [1] * rare)
        values = 0.5 + 0.2 * torch.randn(len(labels), 8, 8, generator=generator)
        values[:, 2:6, 2:6] += 0.14 * labels.view(-1, 1, 1)  # the rare class a little brighter in the centre
        arrays[f"x_{split}"] = (values.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        arrays[f"y_{split}"] = labels.numpy()
    np.savez(tmp_path / "imbalanced.npz", **arrays)
    config = tiny_cfg
    config.data.source, config.data.path, config.optim.epochs = "npz", str(tmp_path / "imbalanced.npz"), 2
    config.optim.class_balance, config.data.sampler = "inverse_frequency", "balanced"
    run_dir = train_run(config)["run_dir"]
    summary = json.loads((run_dir / "summary.json").read_text())
    evaluated = cli_json(capsys, "evaluate", run_dir, "--json")
    api = striate.open_run(run_dir).evaluate()
    assert evaluated["count"] == summary["test_count"] == 80
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "loss"):
        assert evaluated[name] == pytest.approx(summary[f"test_{name}"], rel=1e-9) and api[name] == evaluated[name], name
    for name in ("per_class_precision", "per_class_recall", "per_class_f1"):
        assert evaluated[name] == summary["test"][name] == api[name], name
    assert 0 < summary["test_roc_auc"] <= 1 and summary["test_balanced_accuracy"] != summary["test_accuracy"]

    # the report's figures (its overview and final figures sections, without drawing its pictures)
    from striate.visualize.report_sections import ReportContext, final_figures, overview

    run = open_run(run_dir)
    context = ReportContext(run, run.history, [], run.summary, tmp_path, evaluation=api)
    page = "".join(part for section in (overview(context), final_figures(context)) for part in section.parts)
    assert "<th>class</th><th>precision</th><th>recall</th><th>F1</th><th>images</th>" in page
    balanced = re.search(r'<div class="value">([\d.]+)%</div><div class="label">balanced accuracy</div>', page)
    auc = re.search(r'<div class="value">([\d.]+)</div><div class="label">ROC AUC</div>', page)
    assert float(balanced.group(1)) == round(100 * summary["test_balanced_accuracy"], 2)
    assert float(auc.group(1)) == round(summary["test_roc_auc"], 4)
    code = main(["evaluate", str(run_dir)])
    text = capsys.readouterr().out
    assert code == 0 and f"balanced accuracy {100 * summary['test_balanced_accuracy']:.2f}%" in text
    assert f"ROC AUC {summary['test_roc_auc']:.4f}" in text and "precision  recall" in text
