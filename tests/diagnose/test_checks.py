"""Each check passes on a healthy model and fails on a deliberately broken one."""

import dataclasses

import pytest
import torch
from torch import nn

from striate.diagnose.checks import learns_signal, loss_at_init, overfit_tiny, regularisation_increases_loss
from striate.diagnose.gradcheck import gradient_check
from striate.diagnose.layer_stats import activation_check, gradient_norm_check
from striate.diagnose.report import FAIL, PASS


@pytest.fixture
def setup(tiny_cfg):
    """A CheckSetup for the tiny MLP (64 -> 32 -> 10) on scikit-learn's 8x8 digits."""
    from striate.diagnose.run_checks import build_setup

    return build_setup(tiny_cfg, torch.device("cpu"))[0]


def with_model(setup, change):
    """A copy of ``setup`` whose models pass through ``change(model)`` after being built."""
    make = setup.make_model

    def make_changed() -> nn.Module:
        model = make()
        with torch.no_grad():
            change(model)
        return model

    return dataclasses.replace(setup, make_model=make_changed)


class _ReLUFunction(torch.autograd.Function):
    """ReLU with a hand-written backward; ``scale`` != 1 makes the backward wrong."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x > 0) * ctx.scale, None


class HandMadeReLU(nn.Module):
    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return _ReLUFunction.apply(x, self.scale)


def _replace_activation(scale):
    def change(model):
        model.features.act1 = HandMadeReLU(scale)
    return change


def _scale_weights(factor):
    def change(model):
        for parameter in model.parameters():
            if parameter.ndim > 1:
                parameter.mul_(factor)
    return change


def _kill(model):
    """A dead network: zero weights and negative biases, so no ReLU ever fires."""
    for name, parameter in model.named_parameters():
        parameter.fill_(0.0 if name.endswith("weight") else -1.0)


def _gradcheck(setup):
    torch.manual_seed(0)
    return gradient_check(setup.make_model(), setup.train_images[:4], setup.train_labels[:4])


def test_gradient_check_passes_a_correct_custom_layer(setup):
    result = _gradcheck(with_model(setup, _replace_activation(1.0)))
    assert result.verdict == PASS, result.measured
    custom = [row for row in result.details if "HandMadeReLU, custom" in row["tensor"]]
    assert custom and all(row["relative_error"] < 1e-6 for row in custom)


def test_gradient_check_fails_a_wrong_backward_and_names_the_layer(setup):
    result = _gradcheck(with_model(setup, _replace_activation(2.0)))
    assert result.verdict == FAIL
    assert "features.act1 (HandMadeReLU, custom)" in result.measured
    bad = {row["tensor"] for row in result.details if row["verdict"] == FAIL}
    assert "features.fc1.weight" in bad  # the tensors below the broken layer get wrong gradients
    assert "head.weight" not in bad  # the ones above it do not


def test_gradient_check_leaves_the_model_unchanged(setup):
    model = setup.make_model()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    gradient_check(model, setup.train_images[:4], setup.train_labels[:4])
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    assert all(parameter.dtype == torch.float32 and parameter.grad is None for parameter in model.parameters())


def test_loss_at_init(setup):
    assert loss_at_init(setup).verdict == PASS
    broken = loss_at_init(with_model(setup, _scale_weights(1000.0)))
    assert broken.verdict == FAIL and float(broken.measured.split()[1]) > 10


def test_regularisation_raises_the_loss(setup):
    assert regularisation_increases_loss(setup).verdict == PASS
    assert regularisation_increases_loss(with_model(setup, _kill)).verdict == FAIL


def test_overfit_tiny_subset(setup):
    result = overfit_tiny(setup)
    assert result.verdict == PASS, result.measured
    assert result.measured.startswith("lr 0.1: 100%")


def test_overfit_fails_with_a_learning_rate_that_diverges(setup):
    result = overfit_tiny(dataclasses.replace(setup, lr=1e4))
    assert result.verdict == FAIL, result.measured


def test_overfit_fails_on_a_dead_network(setup):
    assert overfit_tiny(with_model(setup, _kill)).verdict == FAIL


def test_learns_signal_fails_with_shuffled_labels(setup):
    assert learns_signal(setup).verdict == PASS
    shuffled = setup.train_labels[torch.randperm(len(setup.train_labels), generator=torch.Generator().manual_seed(1))]
    result = learns_signal(dataclasses.replace(setup, train_labels=shuffled))
    assert result.verdict == FAIL, result.measured


def test_activation_statistics(setup):
    torch.manual_seed(0)
    healthy = activation_check(setup.make_model(), setup.train_images[:128])
    assert healthy.verdict == PASS, healthy.measured
    assert {row["layer"] for row in healthy.details} >= {"features.fc1", "features.act1", "head"}
    dead = activation_check(with_model(setup, _kill).make_model(), setup.train_images[:128])
    assert dead.verdict == FAIL
    assert next(row for row in dead.details if row["layer"] == "features.act1")["dead_fraction"] == 1.0
    exploding = activation_check(with_model(setup, _scale_weights(1000.0)).make_model(), setup.train_images[:128])
    assert exploding.verdict == FAIL
    assert next(row for row in exploding.details if row["layer"] == "head")["std"] > 1e4


def test_gradient_norms(setup):
    images, labels = setup.train_images[:128], setup.train_labels[:128]
    torch.manual_seed(0)
    assert gradient_norm_check(setup.make_model(), images, labels).verdict == PASS
    dead = gradient_norm_check(with_model(setup, _kill).make_model(), images, labels)
    assert dead.verdict == FAIL
    assert next(row for row in dead.details if row["tensor"] == "features.fc1.weight")["grad_norm"] == 0.0
    exploding = gradient_norm_check(with_model(setup, _scale_weights(1000.0)).make_model(), images, labels)
    assert exploding.verdict == FAIL


def test_overfit_falls_back_to_a_tenth_of_the_rate(setup):
    """A rate that overshoots on 20 repeated images but whose tenth memorises them still passes, and says so."""
    result = overfit_tiny(dataclasses.replace(setup, lr=5.0))
    assert result.verdict == PASS
    assert result.measured.startswith("lr 5: diverged") and "; lr 0.5: 100%" in result.measured


class _ScaleFunction(torch.autograd.Function):
    """y = x * s; the gradient of the shared weight s is the sum over positions of dy * x (here wrongly halved)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x, scale)
        return x * scale

    @staticmethod
    def backward(ctx, grad_output):
        x, scale = ctx.saved_tensors
        return grad_output * scale, 0.5 * (grad_output * x).sum().reshape(1)


class WrongScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.full((1,), 1.5))

    def forward(self, x):
        return _ScaleFunction.apply(x, self.scale)


def test_gradient_check_finds_a_wrong_parameter_gradient_in_a_custom_layer(setup):
    def change(model):
        model.features.fc1 = nn.Sequential(model.features.fc1, WrongScale())

    result = _gradcheck(with_model(setup, change))
    assert result.verdict == FAIL
    verdicts = {row["tensor"]: row["verdict"] for row in result.details}
    assert verdicts["features.fc1.1 (WrongScale, custom): scale"] == FAIL
    assert verdicts["features.fc1.1 (WrongScale, custom): input"] == PASS  # its input gradient is right
    assert verdicts["features.fc1.1.scale"] == FAIL


def test_gradient_check_passes_lenet_on_images_with_flat_background():
    """Max pooling over a constant background has exact ties; the check must not mistake them for a bug."""
    from striate.models import create_model

    torch.manual_seed(0)
    images = torch.zeros(4, 1, 32, 32)
    images[:, :, 10:20, 10:20] = torch.rand(4, 1, 10, 10)
    result = gradient_check(create_model("lenet5"), images, torch.tensor([0, 1, 2, 3]), per_tensor=4)
    assert result.verdict == PASS, result.measured
    assert len(result.details) == 11  # the input and the 10 parameter tensors
