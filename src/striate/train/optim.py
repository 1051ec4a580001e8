"""Optimizers and learning-rate schedules by name."""

import math

import torch
from torch import nn

from striate.errors import ConfigError, did_you_mean

OPTIMIZERS = ("sgd",)
SCHEDULES = ("constant", "cosine")


def build_optimizer(model: nn.Module, name: str, lr: float, momentum: float = 0.0, nesterov: bool = False,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """An optimizer over the model's trainable parameters.

    >>> optimizer = build_optimizer(model, "sgd", lr=0.05, momentum=0.9)   # doctest: +SKIP
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if name == "sgd":
        if nesterov and momentum <= 0:
            raise ConfigError("optim.nesterov needs optim.momentum > 0 (e.g. 0.9)")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimizer '{name}'{did_you_mean(name, OPTIMIZERS)}; expected one of {OPTIMIZERS}")


def build_schedule(optimizer: torch.optim.Optimizer, name: str, total_steps: int):
    """A per-step learning-rate schedule (call ``.step()`` after each optimizer step)."""
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if name == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
        )
    raise ConfigError(f"unknown schedule '{name}'{did_you_mean(name, SCHEDULES)}; expected one of {SCHEDULES}")
