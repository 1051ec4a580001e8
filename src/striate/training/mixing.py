"""The loss of a batch whose labels were mixed (MixUp, CutMix: striate.data.mixing). The loader's targets then
carry ``mix = (first, second, weight)``; the training step scores them with :func:`mixed_loss`, which any other
batch passes through unchanged.

>>> import torch.nn.functional as F
>>> scores, labels = torch.tensor([[2.0, 0.0]]), torch.tensor([0])
>>> bool(mixed_loss(F.cross_entropy, scores, labels) == F.cross_entropy(scores, labels))
True
"""

import torch


def mixed_loss(loss, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``loss(outputs, targets)``, or for mixed targets ``w * loss(outputs, first) + (1 - w) * loss(outputs,
    second)``: with cross-entropy the loss of the soft targets (Zhang et al. 2018, eq. 1), label smoothing
    applied to each of the two labels, class weights to each as the loss weighs them."""
    mix = getattr(targets, "mix", None)
    if mix is None:
        return loss(outputs, targets)
    first, second, weight = mix
    return weight * loss(outputs, first) + (1 - weight) * loss(outputs, second)
