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


# striate's optimizer classes are torch's minus the torch._dynamo import (training/optim.py, _EagerOptimizer):
# the same numbers, the same state dict, the hooks once, and no torch._dynamo in the process.

SETTINGS = [("sgd", {}), ("momentum", {}), ("nesterov", {"weight_decay": 1e-3}), ("adagrad", {}), ("rmsprop", {}),
            ("adam", {"weight_decay": 1e-2}), ("adamw", {"weight_decay": 1e-2})]


def twin_models(name: str, settings: dict):
    """Two copies of one small net: one with striate's optimizer, one with torch's class built on the
    same parameter groups and defaults."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    twin = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    twin.load_state_dict(model.state_dict())
    ours = build_optimizer(model, OptimConfig(optimizer=name, lr=0.05, **settings))
    torch_class = type(ours)._torch_class
    groups = [{**group, "params": list(twin.parameters())[:0]} for group in ours.param_groups]
    index = {id(p): i for i, p in enumerate(model.parameters())}
    twin_parameters = list(twin.parameters())
    for group, mine in zip(groups, ours.param_groups):
        group["params"] = [twin_parameters[index[id(p)]] for p in mine["params"]]
    return model, ours, twin, torch_class(groups)


def train_both(model, ours, twin, theirs, steps: int, start: int = 0):
    for step in range(start, start + steps):
        batch = torch.randn(8, 4, generator=torch.Generator().manual_seed(step))
        for net, optimizer in ((model, ours), (twin, theirs)):
            optimizer.zero_grad()
            net(batch).square().mean().backward()
            optimizer.step()


@pytest.mark.parametrize("name, settings", SETTINGS)
def test_striates_optimizer_equals_torchs_class_bit_for_bit_and_shares_its_state_dict(name, settings):
    model, ours, twin, theirs = twin_models(name, settings)
    assert isinstance(ours, type(ours)._torch_class) and type(ours).__name__ == type(theirs).__name__
    train_both(model, ours, twin, theirs, steps=5)
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)
    # the state dicts are interchangeable: resume each side from the other's and they stay equal
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert repr(ours_state) == repr(theirs_state)
    ours.load_state_dict(theirs_state)
    theirs.load_state_dict(ours_state)
    train_both(model, ours, twin, theirs, steps=3, start=5)
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_step_hooks_run_once_a_step_and_a_closure_is_evaluated():
    model, ours, _, _ = twin_models("momentum", {})
    calls = []
    ours.register_step_pre_hook(lambda *args: calls.append("pre"))
    ours.register_step_post_hook(lambda *args: calls.append("post"))

    def closure():
        ours.zero_grad()
        loss = model(torch.ones(4, 4)).sum()
        loss.backward()
        return loss

    loss = ours.step(closure)
    assert calls == ["pre", "post"] and loss.ndim == 0 and loss.requires_grad


DYNAMO_PROBE = """
import sys, torch
from torch import nn
from striate.training.config import OptimConfig
from striate.training.optim import build_optimizer
model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
optimizer = build_optimizer(model, OptimConfig(optimizer={name!r}))
for _ in range(2):
    optimizer.zero_grad()
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
optimizer.load_state_dict(optimizer.state_dict())
print("torch._dynamo" in sys.modules)
"""


@pytest.mark.parametrize("name", ["nesterov", "adamw"])
def test_building_and_stepping_an_optimizer_does_not_import_torch_dynamo(name):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", DYNAMO_PROBE.format(name=name)], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["False"], result.stdout + result.stderr
    # the negative control: torch's own class does import it
    control = DYNAMO_PROBE.replace("build_optimizer(model, OptimConfig(optimizer={name!r}))",
                                   "torch.optim.SGD(model.parameters(), lr=0.1)")
    result = subprocess.run([sys.executable, "-c", control], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True"], result.stdout + result.stderr
