"""The training figure measured as validation is: the epoch's final weights in eval mode on a fixed sample of
the training split (train_eval_* in metrics.jsonl), beside the running figures of the epoch (issue 18)."""

import json

import pytest
import torch

from striate.data import DeviceLoader, ImageSet
from striate.models import create_model
from striate.tasks import ClassificationTask
from striate.training.loop import evaluate, fit


def _data(count: int, seed: int) -> ImageSet:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 4
    images = torch.randint(0, 100, (count, 1, 8, 8), generator=generator, dtype=torch.uint8)
    images[torch.arange(count), 0, labels * 2, :] = 255  # a bright row per class: learnable
    return ImageSet(images, labels)


def test_the_eval_mode_figure_is_not_the_running_one_with_dropout():
    """With dropout 0.5 the running loss of an epoch is measured on thinned networks while the weights move;
    the eval-mode figure is the final network on the sample, exactly what evaluate gives."""
    torch.manual_seed(0)
    train = _data(64, 0)
    model = create_model("mlp", num_classes=4, in_channels=1, input_size=8, hidden=[32], dropout_rate=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sample = DeviceLoader(train.subset(torch.arange(32)), 16, [0.3], [0.3])
    task = ClassificationTask(4)
    history = fit(model, optimizer, DeviceLoader(train, 8, [0.3], [0.3], shuffle=True),
                  DeviceLoader(_data(32, 1), 16, [0.3], [0.3]), task, epochs=3, train_sample=sample)
    last = history[-1]
    assert {"train_loss", "train_accuracy", "train_eval_loss", "train_eval_accuracy", "val_loss"} <= set(last)
    assert all(abs(entry["train_eval_loss"] - entry["train_loss"]) > 0.05 for entry in history)
    measured = evaluate(model, sample, task)
    assert last["train_eval_loss"] == measured["loss"] and last["train_eval_accuracy"] == measured["accuracy"]
    assert model.training  # evaluate put the model back in training mode


def test_fit_without_a_sample_logs_what_it_logged():
    torch.manual_seed(0)
    train = _data(32, 0)
    model = create_model("mlp", num_classes=4, in_channels=1, input_size=8, hidden=[16])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    history = fit(model, optimizer, DeviceLoader(train, 8, [0.3], [0.3]), None, ClassificationTask(4), epochs=1)
    assert not any(name.startswith("train_eval") for name in history[0])


def test_the_sample_is_fixed_seeded_and_sized_like_validation(tiny_cfg):
    from striate.session import prepare
    from striate.session.train import TRAIN_SAMPLE_MAX, TRAIN_SAMPLE_MIN, train_sample_loader

    prepared = prepare(tiny_cfg)
    train, val = len(prepared.splits["train"]), len(prepared.splits["val"])
    state = torch.get_rng_state()
    first = torch.cat([labels for _, labels in train_sample_loader(prepared, tiny_cfg, "cpu")])
    second = torch.cat([labels for _, labels in train_sample_loader(prepared, tiny_cfg, "cpu")])
    assert torch.equal(torch.get_rng_state(), state)  # the run's random stream is untouched
    assert torch.equal(first, second)
    assert len(first) == min(train, max(val, TRAIN_SAMPLE_MIN), TRAIN_SAMPLE_MAX)
    tiny_cfg.run.seed = 1
    other = torch.cat([labels for _, labels in train_sample_loader(prepared, tiny_cfg, "cpu")])
    assert not torch.equal(first, other)


def test_a_run_logs_the_eval_mode_figures_and_summarises_the_last(tiny_run):
    lines = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert all({"train_eval_loss", "train_eval_accuracy", "train_accuracy"} <= set(line) for line in lines)
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["final_train_eval_accuracy"] == lines[-1]["train_eval_accuracy"]
    assert summary["final_train_accuracy"] == lines[-1]["train_accuracy"]  # the running figure is kept as it was
    assert sum(summary["test"]["per_class_count"]) == summary["test_count"]
    header = (tiny_run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "train_eval_accuracy" in header


def test_advise_reads_the_eval_mode_figure_of_a_run(tiny_cfg):
    """A run with heavy dropout: its running training error says 'worse than validation'; the advice uses the
    eval-mode one and says so."""
    from striate.diagnose.advice import advise_run
    from striate.session import train_run

    tiny_cfg.model.args = {"hidden": [32], "dropout_rate": 0.5}
    result = train_run(tiny_cfg)
    advice = advise_run(result["run_dir"])
    last = result["history"][-1]
    assert advice.figures["train_error"] == pytest.approx(1 - last["train_eval_accuracy"])
    assert advice.figures["running_train_error"] == pytest.approx(1 - last["train_accuracy"])
    assert advice.figures["train_error_measured"].startswith("eval mode")
