"""Each schedule against the formula it names; warm-up in front; plateau; state round trip."""

import math

import pytest
import torch

from striate.training.watch import Watch

from striate.errors import ConfigError
from striate.training.config import OptimConfig
from striate.training.schedules import build_schedule

STEPS_PER_EPOCH = 4


def lrs(steps: int = 24, **settings) -> list[float]:
    """The learning rate used by each of the first ``steps`` steps."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = build_schedule(optimizer, OptimConfig(lr=0.5, epochs=6, **settings), STEPS_PER_EPOCH)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        schedule.step()
    return rates


def formula(function) -> list[float]:
    return [0.5 * function(s / STEPS_PER_EPOCH, s) for s in range(24)]


@pytest.mark.parametrize("name, settings, function", [
    ("constant", {}, lambda t, s: 1.0),
    ("step", {"step_size": 2, "gamma": 0.5}, lambda t, s: 0.5 ** math.floor(t / 2)),
    ("multistep", {"milestones": [1, 4], "gamma": 0.1}, lambda t, s: 0.1 ** ((t >= 1) + (t >= 4))),
    ("exponential", {"decay_rate": 0.3}, lambda t, s: math.exp(-0.3 * t)),
    ("inverse_time", {"kappa": 2.0}, lambda t, s: 1 / (t + 2.0)),
    ("cosine", {}, lambda t, s: 0.5 * (1 + math.cos(math.pi * s / 24))),
])
def test_schedule_follows_its_formula(name, settings, function):
    assert lrs(schedule=name, **settings) == pytest.approx(formula(function))


def test_onecycle_rises_to_the_peak_then_falls_to_almost_zero():
    rates = lrs(steps=24, schedule="onecycle", onecycle_start=0.25)
    assert rates[0] == pytest.approx(0.5 / 25)
    assert max(rates) == pytest.approx(0.5) and rates.index(max(rates)) == 6
    assert rates[-1] < 0.5 / 25 and all(a >= b for a, b in zip(rates[6:], rates[7:]))


def test_linear_warmup_in_front_of_cosine():
    rates = lrs(schedule="cosine", warmup_epochs=1)
    assert rates[:4] == pytest.approx([0.5 * k / 4 for k in (1, 2, 3, 4)])
    assert rates[4:] == pytest.approx([0.5 * 0.5 * (1 + math.cos(math.pi * s / 20)) for s in range(20)])


def test_plateau_multiplies_by_gamma_after_patience_epochs_without_improvement():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = build_schedule(optimizer, OptimConfig(lr=0.5, schedule="plateau", plateau_patience=2, gamma=0.1,
                                                     watch="val_loss"), STEPS_PER_EPOCH, Watch("val_loss", False))
    seen = []
    for value in (1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.75):
        schedule.observe(value)
        seen.append(optimizer.param_groups[0]["lr"])
    assert seen == pytest.approx([0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.005])


def test_schedule_state_round_trip_and_lr_mult():
    optimizer = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr_mult": 10.0}], lr=1.0)
    config = OptimConfig(lr=0.5, epochs=6, schedule="step", step_size=1, gamma=0.5)
    schedule = build_schedule(optimizer, config, STEPS_PER_EPOCH)
    for _ in range(9):
        schedule.step()
    state = schedule.state_dict()
    fresh = build_schedule(optimizer, config, STEPS_PER_EPOCH)
    fresh.load_state_dict(state)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * 10 * 0.5**2)


def test_bad_schedule_settings_are_errors():
    with pytest.raises(ConfigError, match="did you mean 'cosine'"):
        lrs(schedule="cosin")
    with pytest.raises(ConfigError, match="milestones"):
        lrs(schedule="multistep")
