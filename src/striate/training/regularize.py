"""Regularisers that are not the optimizer's weight decay: the L1 penalty (with weight decay: the elastic
net), the dropout rate, and early stopping on the watched figure. Label smoothing lives in the loss,
gradient clipping in ``train_step``.

>>> stopper = EarlyStopping(patience=3, watch=Watch("val_accuracy", higher_is_better=True))
>>> [stopper.update(value) for value in (0.90, 0.91, 0.90, 0.90, 0.90)]
[False, False, False, False, True]
"""

import math

import torch
from torch import nn

from striate.errors import ConfigError
from striate.training.watch import Watch


def l1_penalty(parameters: list[torch.Tensor]) -> torch.Tensor:
    """sum |w| over ``parameters``. Its subgradient l1 * sign(w) pulls every weight towards zero by a fixed
    amount a step, so weights the data does not need end up at zero (within lr * l1, where SGD oscillates)."""
    return torch.stack([parameter.abs().sum() for parameter in parameters]).sum()


def decayed_parameters(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The parameters of the groups that take weight decay (biases and normalisation are left out)."""
    return [p for group in optimizer.param_groups if group.get("decay", True) for p in group["params"]]


def set_dropout_rate(model: nn.Module, rate: float) -> int:
    """Set ``p`` of every dropout layer of ``model``; returns how many were set."""
    if not 0 <= rate < 1:
        raise ConfigError(f"optim.dropout_rate must be in [0, 1), got {rate}")
    layers = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    if not layers and rate > 0:
        raise ConfigError(f"optim.dropout_rate is {rate} but {type(model).__name__} has no dropout layers; "
                          "build it with dropout (e.g. model.args.dropout_rate for mlp)")
    for layer in layers:
        layer.p = rate
    return len(layers)


class EarlyStopping:
    """``update(value)`` returns True once ``patience`` epochs in a row did not improve on the best value."""

    def __init__(self, patience: int, watch: Watch = Watch("val_accuracy", True)):
        self.patience = patience
        self.watch = watch
        self.best: float | None = None
        self.bad_epochs = 0

    def update(self, value: float) -> bool:
        if self.patience <= 0 or value is None or math.isnan(value):
            return False
        if self.watch.better(value, self.best):
            self.best, self.bad_epochs = value, 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def reason(self, best_epoch: int | None = None) -> str:
        """Why it stopped, for the log: 'val_loss did not improve on 0.1234 (epoch 3) for 2 epochs (...)'."""
        where = f" (epoch {best_epoch})" if best_epoch else ""
        return (f"{self.watch.name} did not improve on {self.best:.4g}{where} for {self.bad_epochs} epochs "
                f"(optim.early_stop_patience {self.patience})")

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs = state["best"], int(state["bad_epochs"])
