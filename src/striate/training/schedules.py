"""Learning-rate schedules by name, each a formula of the time t in epochs, with an optional linear
warm-up in front. The schedule sets ``lr = base_lr * lr_mult * factor`` on every parameter group before
each step, so the learning rate of any step can be read off the formula.

    constant      1
    step          gamma ** floor(t / step_size)
    multistep     gamma ** (number of milestones <= t)
    exponential   exp(-k t)                 (eta0 e^(-kt), k = decay_rate)
    inverse_time  1 / (t + kappa)           (eta0 / (t + kappa))
    cosine        (1 + cos(pi s / S)) / 2   (Loshchilov and Hutter 2017, no restarts)
    onecycle      cosine rise from 1/25 to 1, peaking at step onecycle_start * S - 1, then cosine fall
                  to 1/25e4 at the last step S - 1 (Smith and Topin 2018): step for step torch's
                  OneCycleLR(div_factor=25, final_div_factor=1e4, pct_start=onecycle_start,
                  anneal_strategy="cos", three_phase=False, cycle_momentum=False). The momentum is
                  not cycled: it stays optim.momentum (or Adam's beta1) all run.
    plateau       gamma ** (number of times the monitored figure stopped improving for plateau_patience epochs)

t = s / steps_per_epoch counts from the end of the warm-up; s and S are steps after the warm-up.

>>> schedule = build_schedule(optimizer, config.optim, steps_per_epoch=100)   # doctest: +SKIP
"""

import math
from collections.abc import Callable

import torch

from striate.errors import ConfigError, did_you_mean
from striate.training.validation import check_fields, check_warmup
from striate.training.watch import Watch

SCHEDULES = ("constant", "step", "multistep", "exponential", "inverse_time", "plateau", "cosine", "onecycle")
ONECYCLE_DIV, ONECYCLE_FINAL_DIV = 25.0, 1e4
# the settings a schedule reads, checked against their ranges (striate.training.config.RANGES) in this order
SETTINGS = ("epochs", "warmup_epochs", "step_size", "milestones", "gamma", "decay_rate", "kappa", "plateau_patience",
            "onecycle_start")


def schedule_factor(optim, steps_per_epoch: int, main_steps: int) -> Callable[[int], float]:
    """The formula of ``optim.schedule`` as a function of the step s counted after the warm-up (the settings
    already checked by :func:`build_schedule`: step_size >= 1, kappa > 0, 0 < onecycle_start < 1)."""
    name = optim.schedule
    epochs = lambda s: s / steps_per_epoch  # noqa: E731  (t of the formulas above)
    if name in ("constant", "plateau"):
        return lambda s: 1.0
    if name == "step":
        return lambda s: optim.gamma ** math.floor(epochs(s) / optim.step_size)
    if name == "multistep":
        milestones = sorted(float(m) for m in optim.milestones)
        if not milestones:
            raise ConfigError("schedule 'multistep' needs optim.milestones, e.g. [10, 15] (epochs)")
        return lambda s: optim.gamma ** sum(1 for m in milestones if epochs(s) >= m)
    if name == "exponential":
        return lambda s: math.exp(-optim.decay_rate * epochs(s))
    if name == "inverse_time":
        return lambda s: 1.0 / (epochs(s) + optim.kappa)
    if name == "cosine":
        total = max(main_steps, 1)
        return lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    if name == "onecycle":
        return _onecycle(max(main_steps, 1), optim.onecycle_start)
    raise ConfigError(f"unknown schedule '{name}'{did_you_mean(name, SCHEDULES)}; expected one of {SCHEDULES}")


def _onecycle(total: int, start: float) -> Callable[[int], float]:
    """torch's OneCycleLR (two phases, cosine annealing) as a factor of the peak rate, over ``total`` steps:
    step 0 at 1/25, the peak at step ``start * total - 1`` (a float, as torch computes it), 1/25e4 at step
    ``total - 1`` and after it (torch raises there; a run never steps past its end)."""
    low, final = 1 / ONECYCLE_DIV, 1 / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV)
    peak, last = float(start * total) - 1, total - 1

    def anneal(begin: float, end: float, share: float) -> float:
        return end + (begin - end) / 2.0 * (math.cos(math.pi * share) + 1)

    def factor(s: int) -> float:
        s = min(s, last)
        if s <= peak:  # peak > 0 here unless s == peak == 0: a rise of no steps starts at the peak
            return anneal(low, 1.0, s / peak) if peak > 0 else 1.0
        return anneal(1.0, final, (s - peak) / (last - peak))

    return factor


class Schedule:
    """Sets each group's learning rate before every step; ``step()`` after each optimizer step,
    ``observe(value)`` after each epoch (used by plateau). The state is a small JSON-able dict."""

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float, factor: Callable[[int], float],
                 warmup_steps: int = 0, plateau: dict | None = None):
        self.optimizer = optimizer
        self.base_lr = base_lr
        self.factor = factor
        self.warmup_steps = warmup_steps
        self.plateau = plateau  # {"patience", "gamma", "watch"} or None
        self.steps = 0
        self.scale = 1.0  # plateau's reductions so far
        self.best: float | None = None
        self.bad_epochs = 0
        self.apply()

    def lr_factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        return self.factor(step - self.warmup_steps) * self.scale

    def apply(self) -> None:
        factor = self.lr_factor(self.steps)
        for group in self.optimizer.param_groups:
            group["lr"] = self.base_lr * group.get("lr_mult", 1.0) * factor

    def step(self) -> None:
        self.steps += 1
        self.apply()

    def observe(self, value: float) -> None:
        """Plateau: after ``patience`` epochs without improvement, multiply the learning rate by ``gamma``."""
        if self.plateau is None or value is None or math.isnan(value):
            return
        if self.plateau["watch"].better(value, self.best):
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.plateau["patience"]:
            self.scale *= self.plateau["gamma"]
            self.bad_epochs = 0
            self.apply()

    def state_dict(self) -> dict:
        return {"steps": self.steps, "scale": self.scale, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.scale = int(state["steps"]), float(state["scale"])
        self.best, self.bad_epochs = state["best"], int(state["bad_epochs"])
        self.apply()


def build_schedule(optimizer: torch.optim.Optimizer, optim, steps_per_epoch: int,
                   watch: Watch = Watch("val_accuracy", True)) -> Schedule:
    """The schedule of ``optim`` (an :class:`OptimConfig`) for a run of ``optim.epochs`` epochs; the plateau
    schedule follows ``watch`` (the watched figure and which way it is better). The settings it reads are
    checked first, as a recipe's are, so an OptimConfig built in Python gets the same messages: optim.epochs -1
    is a problem of optim.epochs, not a warm-up longer than the run."""
    check_fields("optim", optim, SETTINGS)
    check_warmup(optim)
    steps_per_epoch = max(steps_per_epoch, 1)
    total = optim.epochs * steps_per_epoch
    warmup = min(round(optim.warmup_epochs * steps_per_epoch), total)  # warmup_epochs <= epochs: checked
    factor = schedule_factor(optim, steps_per_epoch, total - warmup)
    plateau = None
    if optim.schedule == "plateau":
        plateau = {"patience": optim.plateau_patience, "gamma": optim.gamma, "watch": watch}
    return Schedule(optimizer, optim.lr, factor, warmup, plateau)
