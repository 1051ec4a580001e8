"""Each optimizer against the formula it names, a few steps by hand; parameter groups, lr_mult, freezing."""

import math

import pytest
import torch
from torch import nn

from striate.errors import ConfigError
from striate.training.config import OptimConfig
from striate.training.optim import build_optimizer, freeze_parameters, parameter_groups

GRADIENTS = [torch.tensor([0.5, -1.0]), torch.tensor([0.2, 0.3]), torch.tensor([-0.4, 0.1])]


class Weights(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))


def run_steps(name: str, **settings) -> torch.Tensor:
    """Three steps where the gradient of step k is GRADIENTS[k] (loss = w . g)."""
    model = Weights()
    optimizer = build_optimizer(model, OptimConfig(optimizer=name, weight_decay=0.0, **settings))
    for gradient in GRADIENTS:
        optimizer.zero_grad()
        (model.weight * gradient.double()).sum().backward()
        optimizer.step()
    return model.weight.detach()


def by_hand(update) -> torch.Tensor:
    w = torch.tensor([1.0, -2.0], dtype=torch.float64)
    memory = {}
    for t, g in enumerate(GRADIENTS, start=1):
        w = update(w, g.double(), memory, t)
    return w


def test_sgd():
    expected = by_hand(lambda w, g, m, t: w - 0.1 * g)
    assert torch.allclose(run_steps("sgd", lr=0.1, momentum=0.0), expected)


def test_momentum():
    def update(w, g, m, t):
        m["v"] = 0.9 * m.get("v", 0) + g
        return w - 0.1 * m["v"]

    assert torch.allclose(run_steps("momentum", lr=0.1, momentum=0.9), by_hand(update))


def test_nesterov():
    def update(w, g, m, t):
        m["v"] = 0.9 * m.get("v", 0) + g
        return w - 0.1 * (g + 0.9 * m["v"])

    assert torch.allclose(run_steps("nesterov", lr=0.1, momentum=0.9), by_hand(update))
    assert not torch.allclose(run_steps("nesterov", lr=0.1, momentum=0.9), run_steps("momentum", lr=0.1, momentum=0.9))


def test_adagrad():
    def update(w, g, m, t):
        m["s"] = m.get("s", 0) + g * g
        return w - 0.1 * g / (m["s"].sqrt() + 1e-8)

    assert torch.allclose(run_steps("adagrad", lr=0.1), by_hand(update))


def test_rmsprop():
    def update(w, g, m, t):
        m["s"] = 0.9 * m.get("s", 0) + 0.1 * g * g
        return w - 0.01 * g / (m["s"].sqrt() + 1e-8)

    assert torch.allclose(run_steps("rmsprop", lr=0.01, rms_decay=0.9), by_hand(update))


def adam_update(decay: float = 0.0, decoupled: bool = False):
    def update(w, g, m, t):
        if decay and not decoupled:
            g = g + decay * w
        if decoupled:
            w = w * (1 - 0.01 * decay)
        m["m"] = 0.9 * m.get("m", 0) + 0.1 * g
        m["v"] = 0.999 * m.get("v", 0) + 0.001 * g * g
        m_hat, v_hat = m["m"] / (1 - 0.9**t), m["v"] / (1 - 0.999**t)
        return w - 0.01 * m_hat / (v_hat.sqrt() + 1e-8)

    return update


def test_adam():
    assert torch.allclose(run_steps("adam", lr=0.01), by_hand(adam_update()))


def test_adamw_decouples_weight_decay():
    model = Weights()
    optimizer = build_optimizer(model, OptimConfig(optimizer="adamw", lr=0.01, weight_decay=0.5, no_decay_bias_norm=False))
    for gradient in GRADIENTS:
        optimizer.zero_grad()
        (model.weight * gradient.double()).sum().backward()
        optimizer.step()
    assert torch.allclose(model.weight.detach(), by_hand(adam_update(0.5, decoupled=True)))
    assert not torch.allclose(model.weight.detach(), by_hand(adam_update(0.5, decoupled=False)))


def test_unknown_optimizer_names_the_nearest():
    with pytest.raises(ConfigError, match="did you mean 'adamw'"):
        build_optimizer(Weights(), OptimConfig(optimizer="adamww"))


def small_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 4, 3))


def test_no_weight_decay_on_biases_and_normalisation():
    groups = parameter_groups(small_net(), lr=0.1, weight_decay=1e-3)
    decay = {name for group in groups if group["weight_decay"] for name in group["names"]}
    no_decay = {name for group in groups if not group["weight_decay"] for name in group["names"]}
    assert decay == {"0.weight", "3.weight"}
    assert no_decay == {"0.bias", "1.weight", "1.bias", "3.bias"}


def test_lr_mult_longest_prefix_wins():
    groups = parameter_groups(small_net(), lr=0.1, weight_decay=0.0, lr_mult={"3": 10, "3.bias": 2})
    rates = {name: group["lr"] for group in groups for name in group["names"]}
    assert math.isclose(rates["3.weight"], 1.0) and math.isclose(rates["3.bias"], 0.2)
    assert math.isclose(rates["0.weight"], 0.1)


def test_lr_mult_from_nested_flags():
    groups = parameter_groups(small_net(), lr=0.1, weight_decay=0.0, lr_mult={"3": {"weight": 5}})
    rates = {name: group["lr"] for group in groups for name in group["names"]}
    assert math.isclose(rates["3.weight"], 0.5) and math.isclose(rates["3.bias"], 0.1)


def test_freeze_to_freezes_the_first_layers_and_they_do_not_move():
    model = small_net()
    frozen = freeze_parameters(model, [], freeze_to=2)
    assert frozen == ["0.weight", "0.bias", "1.weight", "1.bias"]
    before = model[0].weight.detach().clone()
    optimizer = build_optimizer(model, OptimConfig(lr=0.5))
    model(torch.randn(2, 1, 4, 4)).sum().backward()
    optimizer.step()
    assert torch.equal(model[0].weight, before)
    assert all(not p.requires_grad for p in model[1].parameters())


def test_freeze_unknown_prefix_is_an_error():
    with pytest.raises(ConfigError, match="no parameter under 'conv9'"):
        freeze_parameters(small_net(), ["conv9"])
