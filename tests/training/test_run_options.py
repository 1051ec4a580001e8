"""A run's options end to end on the tiny digits run: logs (JSONL, CSV, every step's learning rate; TensorBoard
and MLflow in test_logs.py), precision and memory format flags, early stopping, frozen layers, and bad flags."""

import csv
import json
from pathlib import Path

import pytest
import torch

from striate.errors import ConfigError
from striate.session import train_run
from striate.training.checkpoint import load_weights


def test_logs_have_every_epoch_and_every_steps_learning_rate(tmp_cfg_factory):
    config = tmp_cfg_factory("logs", epochs=2, schedule="step", step_size=1, gamma=0.5, warmup_epochs=0.5)
    result = train_run(config)
    run_dir = Path(result["run_dir"])
    epochs = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [int(row["epoch"]) for row in epochs] == [1, 2]
    assert float(epochs[1]["val_accuracy"]) == pytest.approx(result["history"][1]["val_accuracy"])
    steps = list(csv.DictReader((run_dir / "steps.csv").open()))
    assert [int(row["step"]) for row in steps] == list(range(1, result["history"][-1]["step"] + 1))
    per_epoch = result["history"][0]["step"]
    warmup = round(0.5 * per_epoch)
    assert float(steps[0]["lr"]) == pytest.approx(0.1 / warmup)  # the rate each step used
    assert float(steps[warmup]["lr"]) == pytest.approx(0.1)
    assert float(steps[-1]["lr"]) == pytest.approx(0.05)  # after 1.5 epochs of step decay with step_size 1


def test_bf16_autocast_and_channels_last_train_on_cpu(tmp_cfg_factory):
    config = tmp_cfg_factory("bf16", epochs=1)
    config.model.name, config.model.args, config.data.input_size = "lenet5", {}, 32
    config.run.precision, config.run.channels_last = "bf16", True
    result = train_run(config)
    assert result["history"][0]["val_accuracy"] > 0.3  # it learns
    assert load_weights(Path(result["run_dir"]) / "last.safetensors")["features.conv1.weight"].dtype == torch.float32


def test_early_stopping_ends_the_run(tmp_cfg_factory):
    # every layer's rate multiplied by 0: nothing improves after epoch 1
    config = tmp_cfg_factory("early", epochs=8, lr=0.1, lr_mult={"features": 0.0, "head": 0.0})
    config.optim.early_stop_patience, config.optim.watch = 2, "val_loss"
    result = train_run(config)
    assert [f["epoch"] for f in result["history"]] == [1, 2, 3]
    assert result["summary"]["best_epoch"] == 1


def test_freeze_to_and_lr_mult_through_the_config(tmp_cfg_factory):
    config = tmp_cfg_factory("frozen", epochs=1, optimizer="adamw", lr=0.01, freeze_to=1, lr_mult={"head": 2.0})
    torch.manual_seed(0)
    result = train_run(config)
    from striate.models import create_model

    torch.manual_seed(config.run.seed)
    initial = create_model("mlp", num_classes=10, in_channels=1, input_size=8, hidden=[32]).state_dict()
    trained = load_weights(Path(result["run_dir"]) / "last.safetensors")
    assert torch.equal(trained["features.fc1.weight"], initial["features.fc1.weight"])  # frozen
    assert not torch.equal(trained["head.weight"], initial["head.weight"])


@pytest.mark.parametrize("key, value, message", [
    ("precision", "fp16", "needs a CUDA GPU"),
    ("precision", "fp8", "unknown run.precision"),
    ("loss", "hing", "did you mean 'hinge'"),
    ("schedule", "cosin", "did you mean 'cosine'"),
    ("watch", "val_acc", "unknown optim.watch"),
])
def test_bad_run_flags_fail_before_training(tmp_cfg_factory, key, value, message):
    config = tmp_cfg_factory("bad", epochs=1)
    setattr(config.run if key == "precision" else config.optim, key, value)
    with pytest.raises(ConfigError, match=message):
        train_run(config)
    assert not (Path(config.run.out_dir) / "bad").exists()  # nothing left behind


def test_metrics_jsonl_has_top5_error(tiny_run):
    first = json.loads((tiny_run / "metrics.jsonl").read_text().splitlines()[0])
    assert 0 <= first["val_top5_error"] <= 1 and "lr" in first


def test_resume_of_a_folder_that_is_not_a_run_is_one_line_and_exit_2(tmp_path, capsys):
    from striate.cli.main import main

    assert main(["train", "--resume", str(tmp_path / "nowhere")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no config.yaml" in error
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "config.yaml").write_text("optim: {epochs: 1}\n")
    assert main(["train", "--resume", str(tmp_path / "started")]) == 2
    assert "no checkpoint.safetensors" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "started"), "--lr", "0.1"]) == 2
    assert "drop --lr 0.1" in capsys.readouterr().err
