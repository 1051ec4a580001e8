"""How the parameters of a run are trained: its optimizer and what is frozen in each epoch.

:class:`TrainingPlan` trains what ``optim.freeze`` leaves trainable with ``optim``'s optimizer.
:class:`FineTunePlan` is a fine-tune's (Yosinski et al. 2014, "How transferable are features in deep neural
networks?"): the bottom of a source network frozen, the body optionally on a smaller learning rate than
the new head, everything optionally un-frozen from a given epoch. A fine-tune's model.json keeps its plan,
so ``striate train --resume`` rebuilds it exactly.

>>> plan = FineTunePlan(freeze_stages=2, body_lr_scale=0.1, unfreeze_at=5)
>>> plan.as_dict()["unfreeze_at"]
5
"""

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from striate.errors import ConfigError
from striate.training.freeze import (body_stages, build_transfer_optimizer, freeze_layer_range, freeze_stages, layer_range,
                                  trainable_parameters, unfreeze)
from striate.training.optim import build_optimizer


class TrainingPlan:
    """The default: ``optim``'s optimizer over the trainable parameters, nothing changes between epochs."""

    def prepare(self, model: nn.Module) -> list[str]:
        """Freeze what the plan freezes from the start; the frozen parameter names."""
        return []

    def optimizer(self, model: nn.Module, optim) -> torch.optim.Optimizer:
        return build_optimizer(model, optim)

    def before_epoch(self, model: nn.Module, epoch: int) -> None:
        """Called before each epoch's first batch (also for the epoch a resume continues)."""

    def epoch_figures(self, model: nn.Module) -> dict:
        """Figures of the plan that join each epoch's line of metrics.jsonl."""
        return {}

    def as_dict(self) -> dict | None:
        """What model.json keeps to rebuild the plan (None: the default plan)."""
        return None


@dataclass
class FineTunePlan(TrainingPlan):
    """A fine-tune's plan: freeze the bottom (a layer range or N stages), the body on a smaller rate than the
    head, everything trained from ``unfreeze_at``.

    >>> FineTunePlan(freeze_stages=2, unfreeze_at=3).as_dict()["freeze_stages"]
    2
    """

    freeze: str | None = None  # body layers to freeze: 'conv1..conv3', 'conv2' (bottom up to it), 'conv1,conv3'
    freeze_stages: int = 0  # or: freeze the bottom N stages
    body_lr_scale: float = 1.0  # the body's learning rate is optim.lr times this (the head's is optim.lr)
    unfreeze_at: int = 0  # from this epoch on everything trains (0: the frozen layers stay frozen)

    @classmethod
    def from_dict(cls, values: dict) -> "FineTunePlan":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self, model: nn.Module) -> None:
        """Raise ConfigError for a plan that does not fit ``model``, before anything is written."""
        if self.freeze:
            layer_range(model, self.freeze)
        if not 0 <= self.freeze_stages <= len(body_stages(model)):
            raise ConfigError(f"--freeze-stages {self.freeze_stages}: the body has {len(body_stages(model))} stages")
        if self.unfreeze_at < 0 or self.body_lr_scale < 0:
            raise ConfigError("--unfreeze-at and --body-lr-scale must be zero or positive")

    def prepare(self, model: nn.Module) -> list[str]:
        """Freeze what the plan says (nothing when it un-freezes from the first epoch)."""
        self.check(model)
        if self.unfreeze_at == 1:
            return []
        frozen = freeze_layer_range(model, self.freeze) if self.freeze else []
        return frozen + (freeze_stages(model, self.freeze_stages) if self.freeze_stages else [])

    def optimizer(self, model: nn.Module, optim) -> torch.optim.Optimizer:
        return build_transfer_optimizer(model, optim, self.body_lr_scale)

    def before_epoch(self, model: nn.Module, epoch: int) -> None:
        if self.unfreeze_at and epoch >= self.unfreeze_at:
            unfreeze(model)  # from this epoch on everything trains

    def epoch_figures(self, model: nn.Module) -> dict:
        return {"trainable_parameters": trainable_parameters(model)}
