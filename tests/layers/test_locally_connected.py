"""The locally connected layer: against the NumPy reference, a gradient check, the course's
parameter arithmetic (on the meta device), initialisation, the spec language and the inspector."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from striate import reference as ref
from striate.errors import ModelError
from striate.inspect import summary
from striate.layers import LocallyConnected2d, init_weights, locally_connected2d, make_layer
from striate.models.spec import build_from_spec


def _reference_weight(layer: LocallyConnected2d) -> np.ndarray:
    out_h, out_w = layer.output_size
    kh, kw = layer.kernel_size
    return layer.weight.detach().view(out_h, out_w, layer.out_channels, layer.in_channels, kh, kw).numpy()


@pytest.mark.parametrize("kernel, stride, padding, bias", [(3, 1, 0, True), (2, 2, 1, True), (3, 2, 2, False),
                                                           (1, 1, 0, True)])
def test_matches_the_numpy_reference_forward_and_backward(kernel, stride, padding, bias):
    torch.manual_seed(0)
    layer = LocallyConnected2d(2, 3, kernel, input_size=(6, 5), stride=stride, padding=padding, bias=bias).double()
    x = torch.randn(2, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    ours, cache = ref.locally_connected2d_forward(x.detach().numpy(), _reference_weight(layer),
                                                  layer.bias.detach().numpy() if bias else None, stride, padding)
    np.testing.assert_allclose(y.detach().numpy(), ours, rtol=1e-10, atol=1e-10)
    upstream = torch.randn_like(y)
    y.backward(upstream)
    dx, dw, db = ref.locally_connected2d_backward(upstream.numpy(), cache)
    np.testing.assert_allclose(x.grad.numpy(), dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.weight.grad.view(dw.shape).numpy(), dw, rtol=1e-10, atol=1e-10)
    if bias:
        np.testing.assert_allclose(layer.bias.grad.numpy(), db, rtol=1e-10, atol=1e-10)
    else:
        assert db is None and layer.bias is None


def test_weights_are_unshared_and_equal_a_convolution_when_tied():
    """Every position its own kernel: copying one conv kernel to every position gives the convolution;
    changing one position's kernel changes that output position only."""
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 3, stride=1, padding=1)
    layer = LocallyConnected2d(2, 3, 3, input_size=5, padding=1)
    with torch.no_grad():
        layer.weight.copy_(conv.weight.reshape(1, 3, -1).expand_as(layer.weight))
        layer.bias.copy_(conv.bias[:, None, None].expand_as(layer.bias))
    x = torch.randn(2, 2, 5, 5)
    torch.testing.assert_close(layer(x), conv(x))
    before = layer(x).detach()
    with torch.no_grad():
        layer.weight[7] += 1.0  # position (1, 2) of the 5x5 output
    changed = (layer(x).detach() - before).abs().sum(dim=(0, 1)) > 0
    assert changed.nonzero().tolist() == [[1, 2]]


def test_gradcheck_in_float64():
    torch.manual_seed(2)
    layer = LocallyConnected2d(2, 2, 2, input_size=4, stride=2, padding=1).double()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)

    def forward(x, weight, bias):
        return locally_connected2d(x, weight, bias, layer.kernel_size, layer.stride, layer.padding)

    assert torch.autograd.gradcheck(forward, (x, layer.weight, layer.bias))


def test_the_course_parameter_arithmetic_on_the_meta_device():
    """200x200 grey image, 400,000 hidden units, 10x10 fields: 40 million weights locally connected,
    16 billion fully connected, 4,000 for a convolution with the same 40 filters."""
    with torch.device("meta"):
        local = LocallyConnected2d(1, 40, kernel_size=10, input_size=200, stride=2, padding=4)
        full = nn.Linear(200 * 200, 400_000)
        conv = nn.Conv2d(1, 40, kernel_size=10, stride=2, padding=4)
        units = local(torch.empty(1, 1, 200, 200)).numel()
        conv_units = conv(torch.empty(1, 1, 200, 200)).numel()
    assert local.output_size == (100, 100) and units == conv_units == 400_000
    assert local.weight.numel() == 40_000_000 == units * 10 * 10
    assert full.weight.numel() == 16_000_000_000
    assert conv.weight.numel() == 4_000
    assert local.bias.numel() == 400_000 and conv.bias.numel() == 40  # biases unshared too


def test_default_initialisation_is_the_convolutions():
    torch.manual_seed(3)
    layer = LocallyConnected2d(4, 8, 3, input_size=12)
    bound = 1 / math.sqrt(4 * 9)
    assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.95 * bound
    assert layer.bias.abs().max() <= bound


@pytest.mark.parametrize("scheme", ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "naive"])
def test_init_schemes_use_the_fans_of_the_same_convolution(scheme):
    torch.manual_seed(4)
    layer = LocallyConnected2d(16, 32, 3, input_size=10)  # 64 positions x 32 x 144: 294,912 weights
    conv = nn.Conv2d(16, 32, 3)
    init_weights(nn.Sequential(layer, conv), scheme)
    assert layer.weight.std().item() == pytest.approx(conv.weight.std().item(), rel=0.05)
    assert (layer.bias == 0).all()
    if scheme.endswith("uniform"):
        assert layer.weight.abs().max() <= conv.weight.abs().max() * 1.01


def test_spec_language_builds_it_with_the_input_size_from_the_shape():
    spec = {"input": [3, 9, 9], "features": [
        {"local1": {"type": "locally_connected", "out_channels": 4, "kernel_size": 3, "stride": 2}},
        "relu", "flatten"]}
    model = build_from_spec(spec, num_classes=5)
    local = model.features.local1
    assert isinstance(local, LocallyConnected2d) and local.input_size == (9, 9) and local.output_size == (4, 4)
    assert model(torch.randn(2, 3, 9, 9)).shape == (2, 5)


def test_bad_settings_fail_in_one_clear_line():
    with pytest.raises(ModelError, match="local1: kernel 5 is larger than its 3x3 input"):
        make_layer("locally_connected", (1, 3, 3), name="local1", out_channels=2, kernel_size=5)
    with pytest.raises(ModelError, match="local1: locally_connected needs a channels x height x width input"):
        make_layer("locally_connected", (16,), name="local1", out_channels=2, kernel_size=1)
    with pytest.raises(ModelError, match="kernel_size must be an integer or a pair"):
        LocallyConnected2d(1, 2, 2.5, input_size=8)
    with pytest.raises(ModelError, match="must be positive"):
        LocallyConnected2d(1, 0, 3, input_size=8)
    layer = LocallyConnected2d(1, 2, 3, input_size=8)
    with pytest.raises(ModelError, match="built for 1 channels and 36 positions, got a 1x10x10 input"):
        layer(torch.zeros(1, 1, 10, 10))


def test_summary_counts_parameters_macs_and_fields_like_the_same_convolution():
    def spec(kind):
        return {"input": [2, 11, 11], "features": [
            {"conv1": {"type": "conv", "out_channels": 3, "kernel_size": 3}},
            {"layer2": {"type": kind, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}},
            "flatten"]}
    local = summary(build_from_spec(spec("locally_connected")), (2, 11, 11)).row("features.layer2")
    conv = summary(build_from_spec(spec("conv")), (2, 11, 11)).row("features.layer2")
    assert local.output_shape == conv.output_shape == (4, 5, 5)
    assert local.params == 25 * 4 * 3 * 9 + 4 * 25 and conv.params == 4 * 3 * 9 + 4
    assert local.macs == conv.macs == 4 * 25 * 3 * 9
    assert (local.rf_size, local.rf_jump, local.rf_start) == (conv.rf_size, conv.rf_jump, conv.rf_start) == (5, 2, 1)
    assert local.rf_width == conv.rf_width


def test_summary_runs_on_the_meta_device():
    with torch.device("meta"):
        model = nn.Sequential(LocallyConnected2d(1, 40, 10, input_size=200, stride=2, padding=4))
    table = summary(model, (1, 200, 200))
    assert table.total_params == 40_000_000 + 400_000
    assert table.total_macs == 40_000_000
    assert table.rows[0].rf_size == 10 and table.rows[0].rf_jump == 2
