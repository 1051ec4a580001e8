"""Blocks by name, shape checks that name the layer, and initialisation schemes by name."""

import math

import pytest
import torch
from torch import nn

from striate.errors import ModelError
from striate.layers import init_names, init_weights, layer_names, make_activation, make_layer

OPTIONS = {"conv": dict(out_channels=4, kernel_size=3, padding=1, dilation=1, groups=2),
           "conv_transpose": dict(out_channels=4, kernel_size=2, stride=2),
           "locally_connected": dict(out_channels=3, kernel_size=3, stride=2),
           "maxpool": dict(kernel_size=3, stride=2), "avgpool": dict(kernel_size=2), "linear": dict(out_features=5),
           "fc": dict(out_features=5), "maxout": dict(pieces=2), "leaky_relu": dict(negative_slope=0.1)}
EXPECTED = {"conv": (4, 8, 8), "conv_transpose": (4, 16, 16), "locally_connected": (3, 3, 3),
            "maxpool": (4, 3, 3), "avgpool": (4, 4, 4),
            "global_avgpool": (4, 1, 1), "global_maxpool": (4, 1, 1), "flatten": (256,), "maxout": (2, 8, 8)}


@pytest.mark.parametrize("kind", layer_names())
def test_every_block_builds_by_name_and_runs(kind):
    in_shape = (64,) if kind in ("linear", "fc") else (4, 8, 8)
    module = make_layer(kind, in_shape, **OPTIONS.get(kind, {}))
    output = module(torch.randn(2, *in_shape))
    assert torch.isfinite(output).all()
    assert tuple(output.shape[1:]) == EXPECTED.get(kind, (5,) if kind in ("linear", "fc") else in_shape)


def test_impossible_pooling_names_the_layer_and_shapes():
    with pytest.raises(ModelError, match="pool2: kernel 2 is larger than its 1x1 input"):
        make_layer("maxpool", (16, 1, 1), name="pool2", kernel_size=2)


def test_dilated_kernel_is_checked_with_its_effective_size():
    with pytest.raises(ModelError, match="conv3: kernel 9 is larger than its 7x7 input"):
        make_layer("conv", (1, 7, 7), name="conv3", out_channels=1, kernel_size=3, dilation=4)


def test_linear_after_a_map_asks_for_a_flatten():
    with pytest.raises(ModelError, match="fc1: linear needs a flat input.*flatten"):
        make_layer("linear", (16, 5, 5), name="fc1", out_features=10)


def test_unknown_block_and_activation_suggest_names():
    with pytest.raises(ModelError, match="did you mean 'maxpool'"):
        make_layer("maxpol", (1, 4, 4))
    with pytest.raises(ModelError, match="did you mean 'leaky_relu'"):
        make_activation("leakyrelu")


def layer_stack():
    return nn.Sequential(nn.Conv2d(64, 128, 3), nn.Linear(400, 300))


@pytest.mark.parametrize("scheme,std", [
    ("xavier_normal", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
    ("glorot_uniform", lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3)),
    ("he_normal", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
    ("msr_uniform", lambda fan_in, fan_out: math.sqrt(6 / fan_in) / math.sqrt(3)),
    ("naive", lambda fan_in, fan_out: 0.01),
])
def test_init_schemes_give_the_textbook_spread(scheme, std):
    torch.manual_seed(0)
    model = init_weights(layer_stack(), scheme)
    conv, linear = model
    assert conv.weight.std().item() == pytest.approx(std(64 * 9, 128 * 9), rel=0.03)
    assert linear.weight.std().item() == pytest.approx(std(400, 300), rel=0.03)
    assert conv.bias.abs().sum() == 0


def test_uniform_schemes_stay_within_their_bound():
    weight = init_weights(layer_stack(), "he_uniform")[1].weight
    assert weight.abs().max() <= math.sqrt(6 / 400)
    assert weight.abs().max() > 0.9 * math.sqrt(6 / 400)


def test_unknown_init_lists_the_names():
    with pytest.raises(ModelError, match="did you mean 'he_normal'"):
        init_weights(layer_stack(), "he_norml")
    assert {"xavier_uniform", "glorot_normal", "he_uniform", "msr_normal", "naive"} <= set(init_names())


def test_training_recipe_init_is_checked_before_a_run_directory_exists(tiny_cfg, tmp_path):
    from striate.session import train_run

    config = tiny_cfg
    config.model.init = "he_norml"
    with pytest.raises(ModelError, match="unknown initialisation 'he_norml'"):
        train_run(config)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
