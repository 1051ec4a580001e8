"""The gradient check never fails a healthy network: zero gradients (a bias before batch norm) agree with
rounding noise, steps across a ReLU kink are taken again; and it still catches a wrong backward, of a zero
gradient too (issue 18)."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from striate.diagnose import gradcheck
from striate.diagnose.gradcheck import error_floor, gradient_check, relative_error, resolution
from striate.diagnose.kinks import KinkWatch, same_side
from striate.diagnose.report import FAIL, PASS
from striate.models import create_model

LABELS = torch.tensor([0, 1, 2, 3])


def _images(channels: int, size: int, seed: int) -> torch.Tensor:
    return torch.randn(4, channels, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("channels,size,seed", [(1, 32, 0), (1, 32, 1), (3, 32, 2), (3, 36, 0), (3, 40, 1)])
def test_lenet5_with_batch_norm_passes_and_explains_its_zero_biases(channels, size, seed):
    torch.manual_seed(seed)
    model = create_model("lenet5", in_channels=channels, input_size=size, batch_norm=True)
    result = gradient_check(model, _images(channels, size, seed), LABELS, seed=seed)
    assert result.verdict == PASS, (result.measured, [row for row in result.details if row["verdict"] != PASS])
    biases = {"features.conv1.bias": "bn1", "features.conv2.bias": "bn2", "features.conv3.bias": "bn3",
              "features.fc4.bias": "bn4"}
    notes = {row["tensor"]: row["note"] for row in result.details}
    for bias, norm in biases.items():
        assert notes[bias].startswith(f"zero on both sides: feeds features.{norm} (batch norm)"), notes[bias]
    assert "batch mean" in result.note and all(bias in result.note for bias in biases)
    assert "bias" not in result.measured.split(";")[0]  # the headline error is one that means something


@pytest.mark.parametrize("channels,seed", [(1, 0), (3, 1)])
def test_convnet4_with_batch_norm_passes(channels, seed):
    torch.manual_seed(seed)
    model = create_model("convnet4", in_channels=channels, input_size=32, batch_norm=True)
    result = gradient_check(model, _images(channels, 32, seed), LABELS, seed=seed, per_tensor=4)
    assert result.verdict == PASS, result.measured


@pytest.mark.slow
def test_resnet20_passes_although_its_steps_cross_relu_kinks():
    """About one step in a few crosses a ReLU kink in ResNet-20 with batch norm: a relative error near 1e-3
    on a correct backward, until the step is taken again smaller."""
    torch.manual_seed(0)
    model = create_model("resnet20", in_channels=3, input_size=32)
    result = gradient_check(model, _images(3, 32, 0), LABELS, per_tensor=2)
    assert result.verdict == PASS, [row for row in result.details if row["verdict"] != PASS]
    assert any("kinks" in row["note"] for row in result.details)


def test_striate_check_passes_lenet5_with_batch_norm_on_three_channel_data(tmp_path, tiny_cfg):
    """The gradient check as `striate check` runs it: the recipe's data (3 channels, resized), a fresh model."""
    from striate.diagnose.run_checks import GRADCHECK_BATCH, build_setup

    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, size=(120, 20, 20, 3), dtype=np.uint8)
    np.savez(tmp_path / "colour.npz", x_train=images, y_train=np.arange(120) % 4)
    config = tiny_cfg
    config.data.source, config.data.path, config.data.input_size = "npz", str(tmp_path / "colour.npz"), 32
    config.model.name, config.model.args = "lenet5", {"batch_norm": True}
    setup = build_setup(config, torch.device("cpu"))[0]
    assert setup.train_images.shape[1:] == (3, 32, 32)
    torch.manual_seed(setup.seed)
    result = gradient_check(setup.make_model(), setup.train_images[:GRADCHECK_BATCH],
                            setup.train_labels[:GRADCHECK_BATCH], seed=setup.seed)
    assert result.verdict == PASS, result.measured


# ---- negative controls: the floor does not hide a wrong backward ------------------------------------------------
class _AddBias(torch.autograd.Function):
    """y = x + b (per channel); the bias gradient is off by ``error`` in every entry."""

    @staticmethod
    def forward(ctx, x, bias, error):
        ctx.error = error
        return x + bias.view(1, -1, 1, 1)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output.sum(dim=(0, 2, 3)) + ctx.error, None


class WrongBias(nn.Module):
    def __init__(self, channels: int, error: float):
        super().__init__()
        self.bias, self.error = nn.Parameter(torch.zeros(channels)), error

    def forward(self, x):
        return _AddBias.apply(x, self.bias, self.error)


def _lenet_with(error: float, position: str) -> nn.Module:
    """LeNet-5 with batch norm after conv2 and a hand-made bias whose backward is ``error`` off, before the
    batch norm (its true gradient is 0) or after it (its true gradient is not)."""
    torch.manual_seed(0)
    model = create_model("lenet5", batch_norm=["conv2"])
    bias = WrongBias(16, error)
    features = list(model.features.named_children())
    index = [name for name, _ in features].index("bn2" if position == "before" else "act2")
    features.insert(index, ("added_bias", bias))
    model.features = nn.Sequential(OrderedDict(features))
    return model


@pytest.mark.parametrize("position", ["before", "after"])
def test_a_wrong_bias_gradient_fails_even_where_the_true_gradient_is_zero(position):
    healthy = gradient_check(_lenet_with(0.0, position), _images(1, 32, 0), LABELS)
    assert healthy.verdict == PASS, healthy.measured
    wrong = gradient_check(_lenet_with(1e-3, position), _images(1, 32, 0), LABELS)
    assert wrong.verdict == FAIL
    verdicts = {row["tensor"]: row["verdict"] for row in wrong.details}
    assert verdicts["features.added_bias.bias"] == FAIL
    assert "features.added_bias (WrongBias, custom)" in wrong.measured


def test_a_wrong_backward_in_a_batch_norm_network_still_fails():
    from tests.diagnose.test_checks import HandMadeReLU  # the ReLU with a backward twice too large

    torch.manual_seed(0)
    model = create_model("lenet5", batch_norm=True)
    model.features.act2 = HandMadeReLU(2.0)
    result = gradient_check(model, _images(1, 32, 0), LABELS)
    assert result.verdict == FAIL and "features.act2 (HandMadeReLU, custom)" in result.measured


# ---- the floor and the kinks, alone ------------------------------------------------------------------------------
def test_the_floor_sits_above_rounding_and_below_real_gradients():
    noise = resolution(2.3)  # a cross-entropy near ln(10), step 1e-6
    assert 1e-9 < noise < 1e-8
    assert error_floor(2.3) == pytest.approx(noise / gradcheck.WARN_ERROR)
    zero, rounding = torch.tensor([1e-17]), torch.tensor([4.4e-10])  # what a bias before batch norm gives
    assert relative_error(zero, rounding) > 0.99  # the plain relative error: a "failure"
    assert relative_error(zero, rounding, error_floor(2.3)) < gradcheck.WARN_ERROR
    wrong = torch.tensor([2e-6])  # a small gradient, wrong by 100%
    assert relative_error(wrong, wrong / 2, error_floor(2.3)) > gradcheck.FAIL_ERROR


def test_a_step_across_a_relu_kink_is_taken_again_smaller():
    """A hidden unit whose input sits 3e-7 from zero: a step of 1e-6 in its bias crosses the kink."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    images, labels = torch.randn(2, 4), torch.tensor([0, 1])
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    inputs = images.double() + 1e-2 * noise  # the point the check evaluates at
    with torch.no_grad():
        model[0].bias[0] = 3e-7 - float(model[0].weight[0] @ inputs[0])
        model[2].weight.fill_(1.0)
        model[2].weight[1] = -1.0  # the unit matters to the loss
    result = gradient_check(model.float(), images, labels, per_tensor=4)
    assert result.verdict == PASS, result.details
    row = next(row for row in result.details if row["tensor"] == "0.bias")
    assert "kinks: 1 retaken with a smaller step" in row["note"] and "kink" in result.note


def test_kink_watch_records_relu_signs_and_max_pool_winners():
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    watch = KinkWatch(model)
    x = torch.tensor([[[[1.0, -1.0], [0.5, 0.2]]]])
    model(x)
    first = watch.take()
    model(x + torch.tensor([[[[0.0, 0.0], [0.6, 0.0]]]]))  # the pool's winner changes, no sign does
    second = watch.take()
    assert len(first) == 2 and torch.equal(first[0], second[0]) and not same_side(first, second)
    watch.close()
    model(x)
    assert watch.take() == []
