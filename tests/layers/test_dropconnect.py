"""DropConnect: masks on the weights in training (about ``rate`` of them, a fresh mask each forward),
the plain layer (the expectation, inverted scaling) in eval, gradients through kept weights only;
usable from the spec language and the mlp / lenet5 builders."""

import math

import pytest
import torch
from torch import nn

from striate.errors import ModelError
from striate.layers import DropConnectConv2d, DropConnectLinear, make_layer
from striate.models import create_model
from striate.models.spec import build_from_spec

IN, OUT = 64, 48  # 3,072 weights


def _effective_weight(layer: DropConnectLinear) -> torch.Tensor:
    """The weight one training forward used: the identity batch reads it out column by column."""
    return layer(torch.eye(IN)).T  # row i of eye(IN) @ W_eff^T is column i of W_eff


def _linear(rate, seed=0):
    torch.manual_seed(seed)
    return DropConnectLinear(IN, OUT, bias=False, rate=rate)


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_training_drops_about_rate_of_the_weights_and_scales_the_rest(rate):
    layer = _linear(rate)
    weight = _effective_weight(layer)
    dropped = (weight == 0).float().mean().item()
    sigma = math.sqrt(rate * (1 - rate) / weight.numel())  # binomial proportion
    assert abs(dropped - rate) < 5 * sigma
    kept = weight != 0
    torch.testing.assert_close(weight[kept], layer.weight[kept] / (1 - rate))  # inverted scaling


def test_masks_differ_between_forwards():
    layer = _linear(0.5)
    first, second = (_effective_weight(layer) != 0 for _ in range(2))
    differ = (first != second).float().mean().item()
    assert abs(differ - 0.5) < 5 * math.sqrt(0.25 / first.numel())  # independent masks disagree half the time


def test_eval_is_deterministic_and_the_plain_layer():
    torch.manual_seed(1)
    layer = DropConnectLinear(IN, OUT, rate=0.5).eval()
    x = torch.randn(3, IN)
    torch.testing.assert_close(layer(x), layer(x), rtol=0, atol=0)
    torch.testing.assert_close(layer(x), nn.functional.linear(x, layer.weight, layer.bias), rtol=0, atol=0)


def test_eval_is_the_expectation_of_training():
    layer = _linear(0.5, seed=2)
    with torch.no_grad():
        mean = torch.stack([_effective_weight(layer) for _ in range(400)]).mean(dim=0)
    # each entry: w * Bernoulli(1/2) * 2 has std |w|, its mean over 400 draws |w| / 20
    assert ((mean - layer.weight).abs() <= 5 * layer.weight.abs() / 20 + 1e-7).float().mean() > 0.99
    assert (mean - layer.weight).abs().mean() < 0.1 * layer.weight.abs().mean()


def test_gradients_reach_the_kept_weights_only():
    layer = _linear(0.5, seed=3)
    x = torch.eye(IN)
    output = layer(x)
    kept = output.T.detach() != 0
    output.sum().backward()
    grad = layer.weight.grad
    assert (grad[~kept] == 0).all()
    torch.testing.assert_close(grad[kept], torch.full_like(grad[kept], 2.0))  # d(sum)/dw = mask / keep


def test_the_convolution_masks_its_kernel():
    torch.manual_seed(4)
    layer = DropConnectConv2d(4, 8, 3, padding=1, bias=False, rate=0.5)
    x = torch.randn(2, 4, 6, 6)
    layer(x).sum().backward()
    zero = layer.weight.grad == 0
    assert abs(zero.float().mean().item() - 0.5) < 5 * math.sqrt(0.25 / zero.numel())
    first = layer(x)
    assert not torch.equal(first, layer(x))  # a new mask
    layer.eval()
    torch.testing.assert_close(layer(x), nn.functional.conv2d(x, layer.weight, padding=1), rtol=0, atol=0)


def test_spec_language_and_builders_take_a_dropconnect_rate():
    spec = {"input": [1, 8, 8], "features": [
        {"conv1": {"type": "conv", "out_channels": 2, "kernel_size": 3, "dropconnect": 0.3}}, "relu", "flatten",
        {"fc2": {"type": "linear", "out_features": 6, "dropconnect": 0.5}}]}
    model = build_from_spec(spec, num_classes=3)
    assert isinstance(model.features.conv1, DropConnectConv2d) and model.features.conv1.rate == 0.3
    assert isinstance(model.features.fc2, DropConnectLinear) and model.features.fc2.rate == 0.5
    assert not isinstance(model.head, DropConnectLinear)
    mlp = create_model("mlp", num_classes=3, input_size=4, hidden=[8, 8], dropconnect=0.5)
    assert [type(m) for m in mlp.features if isinstance(m, nn.Linear)] == [DropConnectLinear] * 2
    lenet = create_model("lenet5", dropconnect=0.5)
    assert isinstance(lenet.features.fc4, DropConnectLinear)
    assert sum(p.numel() for p in lenet.parameters()) == 61_706  # the same parameters
    assert type(create_model("lenet5").features.fc4) is nn.Linear  # none unless asked


@pytest.mark.parametrize("rate", [1.0, -0.1, "half", True])
def test_bad_rates_fail_in_one_clear_line(rate):
    with pytest.raises(ModelError, match=r"fc1: dropconnect: rate must be a number in \[0, 1\)"):
        make_layer("linear", (8,), name="fc1", out_features=2, dropconnect=rate)
    with pytest.raises(ModelError, match=r"DropConnectConv2d: rate must be a number in \[0, 1\)"):
        DropConnectConv2d(1, 1, 1, rate=rate)


def test_a_recipe_trains_an_mlp_with_dropconnect_and_the_run_rebuilds_it(tiny_cfg):
    from striate.session import load_run_model, train_run

    tiny_cfg.model.args = {"hidden": [32], "dropconnect": 0.5}  # model.args: {dropconnect: 0.5} in a recipe
    tiny_cfg.optim.epochs = 1
    result = train_run(tiny_cfg)
    model, _ = load_run_model(result["run_dir"])
    assert isinstance(model.features.fc1, DropConnectLinear) and model.features.fc1.rate == 0.5
    assert result["summary"]["parameters"] == 64 * 32 + 32 + 32 * 10 + 10
