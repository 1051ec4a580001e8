"""The Python API is the CLI's session: the same run from striate.training and from 'striate train' gives the
same figures; a user's own nn.Sequential trains on in-memory arrays into a normal run directory; pictures
are matplotlib Figures; every public name is documented with an example; 'import striate' stays light."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import striate
from striate.cli.main import main

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = {"model": "mlp", "data": "digits", "epochs": 1, "input_size": 8, "progress": "off", "batch_size": 32}
TINY_FLAGS = ["--model", "mlp", "--model.args", "{hidden: [16]}", "--data.source", "digits", "--epochs", "1",
              "--data.input_size", "8", "--progress", "off", "--batch_size", "32"]


def test_the_api_and_the_cli_give_the_same_run(tmp_path, capsys):
    run = striate.train(out_dir=str(tmp_path / "api"), name="same", **TINY, **{"model.args": {"hidden": [16]}})
    assert main(["train", *TINY_FLAGS, "--out_dir", str(tmp_path / "cli"), "--name", "same"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "cli" / "same"), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    reopened = striate.open_run(run.path).evaluate()
    assert reopened["accuracy"] == cli["accuracy"] == run.summary["test_accuracy"]
    assert reopened["loss"] == pytest.approx(cli["loss"], rel=1e-6)
    assert run.history == striate.open_run(tmp_path / "cli" / "same").history or \
        [{k: v for k, v in f.items() if k not in ("seconds", "images_per_second")} for f in run.history] == \
        [{k: v for k, v in f.items() if k not in ("seconds", "images_per_second")}
         for f in striate.open_run(tmp_path / "cli" / "same").history]
    assert "test" in run._repr_html_() and str(run.path) in run._repr_html_()


def test_a_users_sequential_trains_on_arrays_and_predicts_after_reopening(tmp_path, capsys):
    generator = np.random.default_rng(0)
    labels = np.arange(240) % 3
    images = (generator.random((240, 1, 8, 8)) * 0.2 + labels[:, None, None, None] * 0.3).astype(np.float32)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3))
    run = striate.train(model=net, data=(images, labels), epochs=3, input_size=8, lr=0.1, progress="off",
                        out_dir=str(tmp_path), **{"data.augment": []})
    assert run.summary["test_accuracy"] > 0.9  # the classes differ in brightness: easy
    assert torch.equal(net[0].weight, run.model[0].weight)  # the user's module holds the best weights
    meta = json.loads((run.path / "model.json").read_text())
    assert meta["model"]["name"] == "sequential" and meta["model"]["args"]["layers"][0]["type"] == "Conv2d"
    image = tmp_path / "one.npy"
    np.save(image, (images[0, 0] * 255).astype(np.uint8))
    assert main(["predict", str(run.path), str(image), "--json"]) == 0  # another reader, no module given
    assert json.loads(capsys.readouterr().out)[0]["top"][0]["class"] == "0"
    assert striate.open_run(run.path).predict(images[0])[0]["class"] == "0"


def test_pictures_are_figures_and_the_rest_of_a_run(tmp_path):
    run = striate.train(out_dir=str(tmp_path), **{**TINY, "model": "lenet5", "input_size": 32, "data": "digits"})
    for figure in (run.curves(), run.filters(), run.feature_maps(), run.top_patches(), run.saliency(),
                   run.confusion(), run.top_losses(count=4)):
        assert isinstance(figure, Figure) and figure.axes
    assert run.advise().verdict
    codes = run.features()
    assert codes["train"][0].shape[0] == len(codes["train"][1]) > 0
    assert run.report().is_file()


def test_bad_input_through_the_api_is_the_typed_error_of_the_cli(tmp_path):
    with pytest.raises(striate.ConfigError, match="optim.lr"):
        striate.train(lr=-1, out_dir=str(tmp_path))
    with pytest.raises(striate.ModelError, match="nn.Sequential"):
        striate.train(model=nn.LSTM(2, 2), out_dir=str(tmp_path), data="digits")
    assert not any(tmp_path.iterdir())


def test_every_public_name_is_documented_with_an_example():
    for name in striate.__all__:
        value = getattr(striate, name)
        if name.startswith("__") or isinstance(value, type) and issubclass(value, Exception):
            continue
        assert value.__doc__ and ">>>" in value.__doc__, f"striate.{name} needs a docstring with an example"


def test_import_striate_is_light_and_python_m_striate_is_the_command():
    environment = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    probe = "import sys, striate; print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True)
    assert loaded.stdout.strip() == "[]"
    version = subprocess.run([sys.executable, "-m", "striate", "--version"], capture_output=True, text=True,
                             env=environment, check=True)
    assert version.stdout.strip() == f"striate {striate.__version__}"


def test_paths_are_accepted_where_the_config_keeps_text(tmp_path):
    run = striate.train(out_dir=tmp_path / "runs", name="pathlike", **TINY, **{"model.args": {"hidden": [8]}})
    assert run.path == tmp_path / "runs" / "pathlike" and run.config.run.out_dir == str(tmp_path / "runs")


def test_a_dataset_of_your_own_is_data_too(tmp_path):
    labels = torch.arange(120) % 2
    images = torch.rand(120, 1, 8, 8) * 0.3 + labels.view(-1, 1, 1, 1) * 0.6
    dataset = torch.utils.data.TensorDataset(images, labels)
    run = striate.train(data=dataset, model="mlp", epochs=2, input_size=8, lr=0.1, progress="off",
                        out_dir=str(tmp_path), **{"model.args": {"hidden": [8]}, "data.augment": []})
    assert run.config.data.source == "npz" and Path(run.config.data.path).is_file()
    assert run.summary["test_count"] == len(run.test) > 0 and run.summary["test_accuracy"] > 0.9
