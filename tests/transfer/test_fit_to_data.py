"""Transfer commands fit the batch, the validation share and the epochs to the target data (not to the
source run's recipe) and print the split sizes they use; settings the user gives stay."""

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits

from striate.cli.main import main
from striate.transfer.data import MIN_STEPS, fit_to_data, target_config


def _budget_npz(path, per_class: int):
    """``per_class`` labelled training images a class (an official test split of 20 a class), plain NumPy."""
    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255 / 16)), 0, 255).astype(np.uint8)
    train, test = [], []
    for digit in range(10):
        where = np.flatnonzero(bunch.target == digit)
        train.extend(where[:per_class])
        test.extend(where[per_class:per_class + 20])
    np.savez(path, x_train=images[train], y_train=bunch.target[train], x_test=images[test], y_test=bunch.target[test])
    return path


def test_a_hundred_labels_a_class_get_a_small_batch_a_real_validation_split_and_enough_steps(tiny_run, tmp_path):
    config = target_config(tiny_run, str(_budget_npz(tmp_path / "target.npz", 100)))
    config.optim.batch_size = 256  # a recipe made for 50,000 images
    config.data.val_fraction = 0.02
    fit = fit_to_data(config)
    assert fit["val_fraction"] == 0.2 and fit["val"] >= 10 * 10  # at least 10 images a class to choose an epoch by
    assert fit["train"] + fit["val"] == 1000 and fit["test"] == 200
    assert 8 <= config.optim.batch_size <= fit["train"] // 10  # 10 steps an epoch at least
    assert config.optim.epochs * fit["steps_per_epoch"] >= MIN_STEPS


def test_given_settings_stay(tiny_run, tmp_path):
    config = target_config(tiny_run, str(_budget_npz(tmp_path / "target.npz", 100)))
    config.optim.batch_size, config.optim.epochs, config.data.val_fraction = 256, 1, 0.05
    fit = fit_to_data(config, ["batch_size", "optim.epochs", "data.val_fraction"])
    assert (config.optim.batch_size, config.optim.epochs, config.data.val_fraction) == (256, 1, 0.05)
    assert fit["steps_per_epoch"] == 4  # 950 images in batches of 256


def test_finetune_prints_the_split_and_the_settings_it_chose_and_the_run_keeps_them(tiny_run, tmp_path, capsys):
    target = _budget_npz(tmp_path / "target.npz", 100)
    code = main(["transfer", "finetune", "--from", str(tiny_run), "--data", str(target), "--out_dir",
                 str(tmp_path / "runs"), "--progress", "off", "--optim.lr", "0.05"])
    out = capsys.readouterr().out
    assert code == 0, out
    line = next(line for line in out.splitlines() if line.startswith("target data:"))
    assert "800 training, 200 validation and 200 test images of 10 classes" in line
    run_dir = next((tmp_path / "runs").iterdir())
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert f"batch {saved['optim']['batch_size']}" in line and f"epochs {saved['optim']['epochs']}" in line
    assert saved["data"]["val_fraction"] == pytest.approx(0.2)
