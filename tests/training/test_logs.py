"""Logs where people look: TensorBoard (train and validation overlaid, the learning rate, hparams, images,
histograms, every step once after a resume), MLflow read back from a real file store, train.log, -q, and the
line early stopping leaves."""

import json
from collections import Counter
from pathlib import Path

import pytest

from striate.cli.main import main
from striate.session import resume_run, train_run

TINY = ["--model", "mlp", "--model.args.hidden", "[16]", "--data.source", "digits", "--data.input_size", "8",
        "--epochs", "2", "--augment", "[]", "--progress", "lines"]


def accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    return events


def test_tensorboard_overlays_train_and_validation_with_hparams_images_and_histograms(tmp_cfg_factory):
    pytest.importorskip("tensorboard")
    config = tmp_cfg_factory("tb", epochs=2)
    config.model.name, config.model.args = "convnet4", {"widths": [8, 8, 16]}
    config.run.tensorboard = True
    result = train_run(config)
    board = Path(result["run_dir"]) / "tensorboard"
    steps = [figures["step"] for figures in result["history"]]
    runs = {name: accumulator(board / name) for name in ("train", "validation", "train_eval")}
    for name, events in runs.items():  # one tag in several runs: one chart, a line per run
        assert [event.step for event in events.Scalars("epoch_loss")] == steps, name
        assert [event.step for event in events.Scalars("epoch_accuracy")] == steps, name
    validation = [event.value for event in runs["validation"].Scalars("epoch_accuracy")]
    assert validation == pytest.approx([figures["val_accuracy"] for figures in result["history"]])
    train = runs["train"].Tags()
    assert [event.step for event in runs["train"].Scalars("learning_rate")] == list(range(1, steps[-1] + 1))
    assert not {"lr", "train/lr", "images/per_second"} & set(train["scalars"])
    assert "inputs" in train["images"] and any(tag.startswith("filters/") for tag in train["images"])
    assert any(tag.startswith("weights/") for tag in train["histograms"])
    assert any(tag.startswith("gradients/") for tag in train["histograms"])

    from tensorboard.plugins.hparams import plugin_data_pb2

    root = accumulator(board)
    content = root.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["optim.lr"].number_value == pytest.approx(config.optim.lr)
    assert start.hparams["model.name"].string_value == "convnet4"
    test_accuracy = root.Scalars("summary/test_accuracy")[0]
    assert test_accuracy.value == pytest.approx(result["summary"]["test_accuracy"]) and test_accuracy.step == steps[-1]
    assert "test/confusion_matrix" in root.Tags()["images"]


def test_a_resumed_run_shows_every_step_once(tmp_cfg_factory, monkeypatch):
    pytest.importorskip("tensorboard")
    import striate.training.loop as loop

    config = tmp_cfg_factory("resumed", epochs=2)
    config.run.tensorboard, config.run.checkpoint_every = True, 10
    real_step, calls = loop.train_step, []

    def interrupted_step(*args, **kwargs):  # stopped at step 56: steps 51-55 were logged after the checkpoint
        calls.append(1)
        if len(calls) == 56:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        train_run(config)
    monkeypatch.setattr(loop, "train_step", real_step)
    run_dir = Path(config.run.out_dir) / "resumed"
    result = resume_run(run_dir)
    last = result["history"][-1]["step"]
    train = accumulator(run_dir / "tensorboard" / "train")
    for tag in ("learning_rate", "batch_loss"):
        counts = Counter(event.step for event in train.Scalars(tag))
        assert sorted(counts) == list(range(1, last + 1)) and set(counts.values()) == {1}, tag
    validation = accumulator(run_dir / "tensorboard" / "validation")
    assert [event.step for event in validation.Scalars("epoch_loss")] == [f["step"] for f in result["history"]]
    lines = (run_dir / "train.log").read_text().splitlines()
    assert sum("epoch   1/2" in line for line in lines) == 1 and sum("epoch   2/2" in line for line in lines) == 1
    assert any("resuming" in line and "step 50" in line for line in lines)


def test_quiet_silences_progress_and_notes_but_not_results(capsys, tmp_path):
    assert main(["train", *TINY, "--out_dir", str(tmp_path), "--name", "loud"]) == 0
    loud = capsys.readouterr()
    assert "epoch   1/2" in loud.out and "test accuracy" in loud.out
    assert main(["-q", "train", *TINY, "--out_dir", str(tmp_path), "--name", "quiet"]) == 0
    quiet = capsys.readouterr()
    assert "epoch   1/2" not in quiet.out and "test accuracy" in quiet.out and quiet.err == ""
    assert main(["train", "--resume", str(tmp_path / "quiet"), "-q"]) == 0  # after the sub-command too
    assert "resuming" not in capsys.readouterr().err
    log = (tmp_path / "quiet" / "train.log").read_text()  # the file keeps what the console did not show
    assert "epoch   1/2" in log and "epoch   2/2" in log and "finished: " in log


def test_early_stopping_says_why(tmp_cfg_factory, capsys):
    config = tmp_cfg_factory("early", epochs=8, lr=0.1, lr_mult={"features": 0.0, "head": 0.0})
    config.optim.early_stop_patience, config.optim.watch = 2, "val_loss"
    result = train_run(config)
    assert len(result["history"]) == 3
    err = capsys.readouterr().err
    assert "note: early stopping after epoch 3: val_loss did not improve" in err
    assert "(epoch 1) for 2 epochs (optim.early_stop_patience 2)" in err
    assert "early stopping after epoch 3" in (Path(result["run_dir"]) / "train.log").read_text()


def test_missing_mlflow_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else find_spec(name, *a))
    code = main(["train", *TINY, "--out_dir", str(tmp_path), "--run.mlflow", "true"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "pip install 'striate[mlflow]'" in err[0]
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.slow  # importing mlflow takes several seconds
def test_mlflow_run_read_back_from_the_file_store(tmp_cfg_factory, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = tmp_cfg_factory("tracked", epochs=2)
    config.run.mlflow = True
    result = train_run(config)
    run_dir = Path(result["run_dir"])
    record = json.loads((run_dir / "mlflow.json").read_text())
    assert record["tracking_uri"] == (run_dir.parent / "mlruns").resolve().as_uri()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(record["tracking_uri"])
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "tracked"
    assert run.data.params["optim.lr"] == "0.1" and run.data.params["model.args.hidden"] == "[32]"
    history = client.get_metric_history(record["run_id"], "val_accuracy")
    expected = [(figures["epoch"], pytest.approx(figures["val_accuracy"])) for figures in result["history"]]
    assert [(metric.step, metric.value) for metric in history] == expected
    assert len(client.get_metric_history(record["run_id"], "lr")) == 2
    assert run.data.metrics["test_accuracy"] == pytest.approx(result["summary"]["test_accuracy"])
    artefacts = {item.path for item in client.list_artifacts(record["run_id"])}
    assert {"summary.json", "metrics.jsonl", "config.yaml", "best.safetensors", "train.log"} <= artefacts
    assert "checkpoint.safetensors" not in artefacts
