"""What the fast CIFAR-10 recipe adds to a run: the patch-whitening layer measured on the training split before
training (and left alone by it), and data.val_is_test (the test split measured after every epoch)."""

import json

import pytest
import torch

from striate.errors import ConfigError
from striate.layers import PatchWhitening
from striate.models import create_model
from striate.session import prepare, train_run
from striate.session.prepare import build_model, init_from_data, make_loader
from striate.training.checkpoint import load_weights
from striate.training.config import validate
from tests.conftest import tiny_config


def fast_config(out_dir, **overrides):
    config = tiny_config(out_dir, **overrides)
    config.model.name, config.model.args = "fastnet", {"widths": [8, 8, 16]}
    config.data.input_size, config.data.fit = 32, "resize"
    config.optim.epochs, config.optim.batch_size = 1, 128
    return config


def whitened_covariance(layer, images):
    with torch.no_grad():
        out = layer(images)
    components = out[:, : out.shape[1] // 2].permute(0, 2, 3, 1).flatten(0, 2)
    return torch.cov(components.T, correction=0)


def test_the_whitening_layer_is_measured_on_the_training_images(tmp_path):
    config = fast_config(tmp_path)
    prepared = prepare(config)
    model = build_model(config, prepared)  # measures it (init_from_data), as a run's start and `striate check` do
    layer = model.features.whiten
    images = torch.cat([batch for batch, _ in make_loader(prepared, "train", config, "cpu", train=False)])  # as seen
    assert init_from_data(model, prepared) == 1  # measuring again gives the same filters
    covariance = whitened_covariance(layer, images)
    # unit variance along the leading components (the last, nearly flat ones are damped by epsilon)
    assert torch.allclose(covariance.diagonal()[:2], torch.ones(2), atol=0.05)
    assert torch.allclose(covariance - torch.diag(covariance.diagonal()), torch.zeros_like(covariance), atol=0.05)


def test_a_run_keeps_its_whitening_filters_through_training(tmp_path):
    config = fast_config(tmp_path)
    run_dir = train_run(config)["run_dir"]
    prepared = prepare(config)
    model = build_model(config, prepared)
    saved = load_weights(run_dir / "best.safetensors")
    assert isinstance(model.features.whiten, PatchWhitening)
    assert torch.allclose(saved["features.whiten.weight"], model.features.whiten.weight, atol=1e-5)
    assert torch.allclose(saved["features.whiten.bias"], model.features.whiten.bias, atol=1e-5)


def test_striate_check_builds_its_models_with_the_measured_whitening(tmp_path):
    from striate.diagnose.run_checks import build_setup

    config = fast_config(tmp_path)
    setup, prepared = build_setup(config, "cpu")
    checked = setup.make_model()
    reference = build_model(config, prepared)
    unmeasured = create_model(config.model.name, **prepared.model_args).features.whiten  # as built, not measured
    assert torch.equal(checked.features.whiten.weight, reference.features.whiten.weight)
    assert not torch.allclose(checked.features.whiten.weight, unmeasured.weight)


def test_val_is_test_measures_the_test_split_every_epoch_and_keeps_the_last(tmp_path):
    config = fast_config(tmp_path, data__val_fraction=0.0, data__val_is_test=True)
    config.model.name, config.model.args = "mlp", {"hidden": [16]}
    config.data.input_size, config.optim.epochs = 8, 2
    prepared = prepare(config)
    assert prepared.splits["val"] is prepared.splits["test"] and prepared.watch.last_because
    result = train_run(config)
    history = [json.loads(line) for line in (result["run_dir"] / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 2 and result["summary"]["best_epoch"] == 2
    assert history[-1]["val_accuracy"] == pytest.approx(result["summary"]["test_accuracy"])


def test_val_is_test_refuses_a_carved_validation_split(tmp_path):
    config = fast_config(tmp_path, data__val_is_test=True)
    with pytest.raises(ConfigError, match="val_fraction 0"):
        validate(config)


def test_a_run_without_validation_split_logs_no_nan_validation_figures(tmp_path):
    config = fast_config(tmp_path, data__val_fraction=0.0)
    config.model.name, config.model.args, config.data.input_size = "mlp", {"hidden": [16]}, 8
    result = train_run(config)
    history = [json.loads(line) for line in (result["run_dir"] / "metrics.jsonl").read_text().splitlines()]
    assert history and not any(key.startswith("val_") for key in history[-1])
    assert result["summary"]["best_epoch"] == 1 and result["summary"]["test_accuracy"] > 0.2
