"""Layer monitors: figures in the run's metrics when on, nothing when off, warnings when out of range."""

import json

import torch

from striate.training.layer_monitor import LayerMonitor
from striate.tasks import ClassificationTask
from striate.training.loop import evaluate, train_epoch


def _digits_loader():
    from striate.data import DeviceLoader, channel_stats, load_source

    train = load_source("digits")["train"]
    mean, std = channel_stats(train.images)
    return DeviceLoader(train, 64, mean, std, shuffle=True, seed=0)


def _model():
    from striate.models import create_model

    torch.manual_seed(0)
    return create_model("mlp", num_classes=10, in_channels=1, input_size=8, hidden=[32])


def test_monitored_run_stores_layer_figures_in_metrics(tiny_cfg, capsys):
    from striate.session import train_run

    tiny_cfg.run.monitor = True
    result = train_run(tiny_cfg)
    lines = [json.loads(line) for line in (result["run_dir"] / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == tiny_cfg.optim.epochs
    for epoch in lines:
        figures = epoch["monitor"]
        assert 0.0 <= figures["features.act1"]["dead_fraction"] < 0.5
        assert figures["features.fc1"]["std"] > 0
        assert figures["features.fc1.weight"]["grad_norm"] > 0
        assert 1e-5 < figures["features.fc1.weight"]["update_ratio"] < 1e-1
        assert epoch["monitor_warnings"] == []
    assert "warning" not in capsys.readouterr().err


def test_unmonitored_run_has_no_layer_figures(tiny_cfg):
    from striate.session import train_run

    result = train_run(tiny_cfg)
    first = json.loads((result["run_dir"] / "metrics.jsonl").read_text().splitlines()[0])
    assert "monitor" not in first


def test_only_every_nth_training_step_is_measured_and_evaluation_is_not():
    model, loader = _model(), _digits_loader()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    monitor = LayerMonitor(model, optimizer, every=4)
    train_epoch(model, optimizer, loader, ClassificationTask(10))  # 1797 images / 64 = 29 steps: steps 0, 4, ..., 28 are measured
    evaluate(model, loader, ClassificationTask(10))  # eval mode: not measured
    assert len(monitor.sums["features.act1"]["std"]) == 8
    assert len(monitor.sums["head.weight"]["update_ratio"]) == 8
    monitor.epoch_figures()
    assert not monitor.sums  # reset for the next epoch


def test_close_removes_every_hook():
    model, loader = _model(), _digits_loader()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    monitor = LayerMonitor(model, optimizer, every=1)
    monitor.close()
    train_epoch(model, optimizer, loader, ClassificationTask(10))
    assert not monitor.sums
    assert all(not module._forward_hooks for module in model.modules())


def test_too_high_learning_rate_is_warned_about():
    model, loader = _model(), _digits_loader()
    optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
    monitor = LayerMonitor(model, optimizer, every=1)
    try:
        train_epoch(model, optimizer, loader, ClassificationTask(10))
    except Exception:  # it may well diverge: the figures up to then are what counts
        pass
    warnings = monitor.epoch_figures()["monitor_warnings"]
    assert any("update/weight ratio" in line and "too high" in line for line in warnings)


def test_dead_network_is_warned_about():
    model, loader = _model(), _digits_loader()
    with torch.no_grad():
        model.features.fc1.bias.fill_(-100.0)  # no ReLU of the hidden layer can fire
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    monitor = LayerMonitor(model, optimizer, every=2)
    train_epoch(model, optimizer, loader, ClassificationTask(10))
    figures = monitor.epoch_figures()
    assert figures["monitor"]["features.act1"]["dead_fraction"] == 1.0
    assert any(line.startswith("features.act1: 100% of ReLU channels dead") for line in figures["monitor_warnings"])
    assert any(line.startswith("features.fc1.weight: gradient norm 0") for line in figures["monitor_warnings"])
