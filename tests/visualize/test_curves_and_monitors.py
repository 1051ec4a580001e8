"""Training curves and layer monitor plots: reading the run's records and drawing them."""


import pytest
from visualize_helpers import decode_png

from striate.errors import RunError
from striate.visualize.curves import plot_training_curves, read_metrics, read_step_records
from striate.visualize.monitors import monitor_series, plot_monitors


def test_read_metrics_of_a_run(tiny_run):
    history = read_metrics(tiny_run)
    assert [record["epoch"] for record in history] == [1, 2]
    assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr"} <= set(history[0])


def test_curves_picture_decodes_with_and_without_step_records(tiny_run, tmp_path):
    history = read_metrics(tiny_run)
    width, height = decode_png(plot_training_curves(history, tmp_path / "a.png"))
    assert width > 600 and height > 150
    (tmp_path / "steps.csv").write_text("step,epoch,lr,loss\n" + "".join(f"{s},1,{0.1 / s},1.0\n" for s in range(1, 30)))
    steps = read_step_records(tmp_path)
    assert len(steps) == 29 and steps[4]["step"] == 5 and steps[4]["lr"] == 0.02
    decode_png(plot_training_curves(history, tmp_path / "b.png", steps))


def test_missing_or_corrupt_metrics_raise_run_errors(tmp_path):
    with pytest.raises(RunError, match="no metrics.jsonl"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2, \n')
    with pytest.raises(RunError, match="line 2: corrupt JSON"):
        read_metrics(tmp_path)
    with pytest.raises(RunError, match="no epochs recorded"):
        plot_training_curves([], tmp_path / "c.png")
    assert read_step_records(tmp_path) == []


def test_monitor_series_reads_nested_and_flat_records():
    history = [
        {"epoch": 1, "monitor": {"conv1": {"grad_norm": 0.5, "dead_fraction": 0.1}}, "monitor/fc/grad_norm": 0.2,
         "monitor_warnings": ["conv1: 10% dead"]},  # as run.monitor writes them, plus the flat form
        {"epoch": 2, "monitors": {"conv1": {"grad_norm": 0.25, "dead_fraction": 0.2}}, "monitor/fc/grad_norm": 0.1},
    ]
    table = monitor_series(history)
    assert table["grad_norm"]["conv1"] == [(1, 0.5), (2, 0.25)]
    assert table["grad_norm"]["fc"] == [(1, 0.2), (2, 0.1)]
    assert table["dead_fraction"]["conv1"] == [(1, 0.1), (2, 0.2)]
    assert monitor_series([{"epoch": 1, "train_loss": 2.0}]) == {}


def test_monitor_picture_decodes(tmp_path):
    table = {"grad_norm": {"conv1": [(1, 0.5), (2, 0.3)]}, "activation_std": {"conv1": [(1, 1.0), (2, 0.9)]},
             "update_ratio": {"conv1": [(1, 1e-3), (2, 2e-3)], "fc": [(1, 1e-2), (2, 5e-3)]}}
    width, height = decode_png(plot_monitors(table, tmp_path / "monitors.png"))
    assert width > 600 and height > 150


def test_step_records_come_from_the_training_log(tiny_run):
    steps = read_step_records(tiny_run)
    history = read_metrics(tiny_run)
    assert steps and steps[-1]["step"] == history[-1]["step"]
    assert steps[0]["lr"] == history[0]["lr"]
