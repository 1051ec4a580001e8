"""Losses by name. Each takes ``(outputs, targets, reduction="mean")``; classification losses take class
indices as targets, and turn them into one-hot vectors where the formula needs them.

    cross_entropy  softmax log-loss  -log softmax(s)_y   (optional label smoothing)
    mse            mean of (s - t)^2 over the targets present (NaN targets are missing and masked out)
    hinge          multiclass hinge (Weston-Watkins, CS231n's SVM loss): sum_{j!=y} max(0, s_j - s_y + 1)
    squared_hinge  the L2-loss form: sum_{j!=y} max(0, s_j - s_y + 1)^2
    bce            binary cross-entropy on sigmoid(s), one output per class (one-vs-rest)
"""

import functools

import torch
import torch.nn.functional as F

from striate.errors import ConfigError, did_you_mean
from striate.training.validation import check_value

LOSSES = ("cross_entropy", "mse", "hinge", "squared_hinge", "bce")


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "sum":
        return values.sum()
    if reduction == "none":
        return values
    return values.mean()


def _one_hot_like(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Class indices -> one-hot float targets with the outputs' shape; float targets pass through."""
    if targets.dtype in (torch.int64, torch.int32, torch.uint8) and targets.dim() == outputs.dim() - 1:
        return F.one_hot(targets.long(), outputs.shape[1]).to(outputs.dtype)
    return targets.to(outputs.dtype)


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Squared error averaged over the present targets; a NaN target is missing and contributes nothing.

    With ``reduction="sum"`` the per-sample mean over its present targets is summed over samples.

    >>> masked_mse(torch.tensor([[1.0, 5.0]]), torch.tensor([[2.0, float("nan")]]))
    tensor(1.)
    """
    targets = _one_hot_like(outputs, targets)
    present = ~torch.isnan(targets)
    errors = torch.where(present, outputs - torch.nan_to_num(targets), torch.zeros_like(outputs)).square()
    if reduction == "mean":
        return errors.sum() / present.sum().clamp_min(1)
    per_sample = errors.flatten(1).sum(1) / present.flatten(1).sum(1).clamp_min(1)
    return _reduce(per_sample, reduction)


def multiclass_hinge(outputs: torch.Tensor, labels: torch.Tensor, reduction: str = "mean", power: int = 1,
                     margin: float = 1.0) -> torch.Tensor:
    """sum over wrong classes j of max(0, s_j - s_y + margin) ** power, per sample."""
    correct = outputs.gather(1, labels.long().unsqueeze(1))
    margins = (outputs - correct + margin).clamp_min(0)
    margins = margins.scatter(1, labels.long().unsqueeze(1), 0.0)  # the true class does not count
    return _reduce(margins.pow(power).sum(1), reduction)


def binary_cross_entropy(outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE with logits; class indices become one-hot targets (one-vs-rest). Per-sample sums over outputs."""
    targets = _one_hot_like(outputs, targets)
    values = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
    per_sample = values.flatten(1).sum(1) if values.dim() > 1 else values
    return _reduce(per_sample, reduction)


def build_loss(name: str, label_smoothing: float = 0.0):
    """A loss function ``(outputs, targets, reduction="mean")`` by name."""
    if name not in LOSSES:
        raise ConfigError(f"unknown loss '{name}'{did_you_mean(name, LOSSES)}; expected one of {LOSSES}")
    check_value("optim.label_smoothing", label_smoothing)  # in [0, 1)
    if label_smoothing and name != "cross_entropy":
        raise ConfigError(f"optim.label_smoothing is {label_smoothing:g} but applies to cross_entropy only, not "
                          f"'{name}'; set it to 0 (--optim.label_smoothing 0) or use optim.loss cross_entropy")
    if name == "cross_entropy":
        return functools.partial(F.cross_entropy, label_smoothing=label_smoothing)
    if name == "mse":
        return masked_mse
    if name == "hinge":
        return multiclass_hinge
    if name == "squared_hinge":
        return functools.partial(multiclass_hinge, power=2)
    return binary_cross_entropy
