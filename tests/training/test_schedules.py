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
    assert max(rates) == pytest.approx(0.5) and rates.index(max(rates)) == 5  # 0.25 * 24 - 1, as torch
    assert rates[-1] == pytest.approx(0.5 / 25e4) and all(a >= b for a, b in zip(rates[5:], rates[6:]))


@pytest.mark.parametrize("total, start", [(100, 0.3), (37, 0.3), (1000, 0.25), (37, 0.5), (10, 0.05), (7, 0.9)])
def test_onecycle_is_torchs_one_cycle_lr_step_for_step(total, start):
    """Side by side with torch.optim.lr_scheduler.OneCycleLR over a whole run: every step's rate, to
    rounding. The momentum is not cycled (cycle_momentum=False): it stays what the optimizer was given."""
    ours = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.9)
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.9)
    schedule = build_schedule(ours, OptimConfig(lr=0.05, epochs=1, schedule="onecycle", onecycle_start=start), total)
    reference = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=0.05, total_steps=total, pct_start=start,
                                                    anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
                                                    three_phase=False, cycle_momentum=False)
    for step in range(total):
        expected = theirs.param_groups[0]["lr"]
        assert ours.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12, abs=1e-18), f"step {step} of {total}"
        assert ours.param_groups[0]["momentum"] == 0.9
        theirs.step()
        ours.step()
        if step < total - 1:  # torch refuses to step past the end
            reference.step()
        schedule.step()
    assert expected == pytest.approx(0.05 / 25 / 1e4, rel=1e-12)


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
