"""Each regulariser changes what it should: L2 shrinks weights, L1 drives small weights to zero, dropout is
off in eval, gradient clipping caps the norm, early stopping stops."""

import pytest
import torch

from striate.training.watch import Watch
from torch import nn

from striate.errors import ConfigError
from striate.training.config import OptimConfig
from striate.training.loop import StepOptions, train_step
from striate.training.optim import build_optimizer
from striate.training.regularize import EarlyStopping, decayed_parameters, set_dropout_rate


def regression_data():
    """Noisy targets that depend on the first 3 of 20 inputs only: the other weights are not needed (but
    least squares gives them small non-zero values that fit the noise)."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(128, 20, generator=generator)
    targets = inputs[:, :3] @ torch.tensor([[2.0], [-1.5], [1.0]]) + 0.3 * torch.randn(128, 1, generator=generator)
    return inputs, targets


class SquaredError:
    """A task of the loop's protocol with a plain mean squared error as its loss."""

    def loss(self, outputs, targets, reduction="mean"):
        return ((outputs - targets) ** 2).mean()


def train_linear(l1: float = 0.0, weight_decay: float = 0.0, steps: int = 300) -> torch.Tensor:
    torch.manual_seed(0)
    model = nn.Linear(20, 1)
    optimizer = build_optimizer(model, OptimConfig(optimizer="sgd", momentum=0.0, lr=0.05, weight_decay=weight_decay))
    options = StepOptions(l1=l1, l1_parameters=decayed_parameters(optimizer))
    inputs, targets = regression_data()
    for step in range(steps):
        optimizer.param_groups[0]["lr"] = 0.05 * (1 - step / steps)  # a decaying rate: SGD settles
        train_step(model, inputs, targets, optimizer, SquaredError(), options)
    return model.weight.detach()[0]


def test_l1_drives_the_unneeded_weights_to_zero():
    plain, sparse = train_linear(), train_linear(l1=0.2)
    assert (sparse[3:].abs() < 1e-3).all()  # within lr * l1 of zero
    assert (plain[3:].abs() > 2e-3).sum() >= 12  # without L1 they keep small non-zero values
    assert (sparse[:3].abs() > 0.5).all()  # the needed ones stay


def test_l2_shrinks_the_weights_and_elastic_net_does_both():
    plain, decayed = train_linear(), train_linear(weight_decay=0.5)
    assert decayed.norm() < 0.8 * plain.norm()
    elastic = train_linear(l1=0.2, weight_decay=0.5)
    assert elastic.norm() < decayed.norm()
    assert (elastic[3:].abs() < 1e-3).sum() >= (decayed[3:].abs() < 1e-3).sum() + 5


def test_l1_leaves_biases_alone():
    model = nn.Linear(4, 1)
    optimizer = build_optimizer(model, OptimConfig(lr=0.1, momentum=0.0, weight_decay=0.0))
    assert [tuple(p.shape) for p in decayed_parameters(optimizer)] == [(1, 4)]


def test_dropout_rate_is_set_and_off_in_eval():
    model = nn.Sequential(nn.Linear(50, 50), nn.Dropout(0.0))
    assert set_dropout_rate(model, 0.5) == 1
    inputs = torch.ones(4, 50)
    model.train()
    assert not torch.equal(model(inputs), model(inputs))  # random masks while training
    assert (model(inputs) == 0).any()
    model.eval()
    assert torch.equal(model(inputs), model(inputs))
    assert torch.allclose(model(inputs), model[0](inputs))  # eval: the identity


def test_dropout_rate_on_a_model_without_dropout_is_an_error():
    with pytest.raises(ConfigError, match="no dropout layers"):
        set_dropout_rate(nn.Linear(3, 3), 0.5)


def test_gradient_clipping_caps_the_global_norm():
    model = nn.Linear(10, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    inputs, targets = torch.randn(8, 10) * 100, torch.zeros(8, 1)
    train_step(model, inputs, targets, optimizer, SquaredError(), StepOptions())
    unclipped = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    train_step(model, inputs, targets, optimizer, SquaredError(), StepOptions(clip_grad_norm=1.0))
    clipped = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert unclipped > 10 and clipped == pytest.approx(1.0, rel=1e-4)


def test_early_stopping_watches_min_or_max():
    stopper = EarlyStopping(patience=2, watch=Watch("val_loss", higher_is_better=False))
    assert [stopper.update(v) for v in (1.0, 0.9, 0.95, 0.8, 0.85, 0.81)] == [False, False, False, False, False, True]
    assert not any(EarlyStopping(patience=0).update(v) for v in (1.0, 0.5, 0.1))
