"""The networks that ship with striate: listed, read by name by the commands that read runs, really
trained (they classify digits they never saw), and a run can start from their weights."""

import json

import pytest

from striate.cli.main import main
from striate.pretrained import find_pretrained, list_pretrained
from striate.session import open_run, train_run
from striate.session.rundir import read_meta
from striate.training.config import Config


def test_the_shipped_networks_are_listed_with_their_cards(capsys):
    shipped = {item["name"]: item for item in list_pretrained()}
    assert "lenet5-mnist" in shipped and shipped["lenet5-mnist"]["test_accuracy"] > 0.99
    for name in shipped:
        assert (find_pretrained(name) / "MODEL_CARD.md").is_file()
    assert main(["models", "--pretrained", "--json"]) == 0
    assert [item["name"] for item in json.loads(capsys.readouterr().out)] == list(shipped)


def test_lenet5_mnist_classifies_digits_by_name(capsys):
    code = main(["evaluate", "lenet5-mnist", "--data", "mnist5k", "--json"])
    printed = capsys.readouterr().out
    assert code == 0 and json.loads(printed)["accuracy"] > 0.97  # an untrained LeNet-5 scores about 0.1


def _shipped_args() -> dict:
    """lenet5-mnist's own architecture arguments (its batch norm), not the shapes of its data."""
    args = open_run("lenet5-mnist", None).meta["model"]["args"]
    return {key: value for key, value in args.items() if key not in ("num_classes", "in_channels", "input_size")}


def _digits_config(tmp_path, **data) -> Config:
    config = Config()
    config.data.max_per_class = 40
    config.data.augment = []
    config.optim.epochs = 1
    config.optim.lr = 0.001  # small: the epoch shows where the weights started
    config.run.out_dir, config.run.progress = str(tmp_path / "runs"), "off"
    for key, value in data.items():
        setattr(config.data, key, value)
    return config


def test_a_run_starts_from_the_shipped_weights(tmp_path):
    config = _digits_config(tmp_path)
    config.model.args = _shipped_args()
    scratch = train_run(config)["summary"]["best_val_accuracy"]
    config.model.weights = "lenet5-mnist"
    result = train_run(config)
    started = read_meta(result["run_dir"])["start"]
    assert started["weights_from"] == "lenet5-mnist" and started["tensors_initialised"] == []
    assert result["summary"]["best_val_accuracy"] > max(0.9, scratch + 0.3)


def test_other_classes_keep_a_fresh_head(tmp_path):
    config = _digits_config(tmp_path, classes=[0, 1, 2])
    config.model.args = _shipped_args()
    config.model.weights = "lenet5-mnist"
    started = read_meta(train_run(config)["run_dir"])["start"]
    assert started["tensors_initialised"] and all(name.startswith("head") or "fc" in name
                                                  for name in started["tensors_initialised"])


@pytest.mark.parametrize("weights", ["no-such-network", "missing/file.safetensors"])
def test_unknown_weights_are_one_line(capsys, tmp_path, weights):
    code = main(["train", "--model.weights", weights, "--epochs", "1", "--out_dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "model.weights" in err[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.slow
@pytest.mark.needs_data
def test_convnet4_cifar10_classifies_cifar_test_images(shared_data, tmp_path, capsys):
    """Two classes of CIFAR-10's test folder: the run's classes are matched by name (a subset is fine)."""
    import tarfile

    with tarfile.open(shared_data / "cifar10-jpeg" / "cifar10-jpeg.tar.gz") as archive:
        members = [member for member in archive.getmembers()
                   if member.isfile() and member.name.split("/")[-3:-1] in (["test", "airplane"], ["test", "ship"])]
        archive.extractall(tmp_path, members=members, filter="data")
    folder = next(path.parent.parent for path in tmp_path.rglob("*.jpg"))
    assert main(["evaluate", "convnet4-cifar10", "--data", str(folder), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["count"] > 100 and figures["accuracy"] > 0.6  # 10 classes to choose from: chance is 0.1
