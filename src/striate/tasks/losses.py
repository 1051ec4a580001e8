"""The losses of the tasks beyond the engine's: keypoints use the training engine's masked MSE,
segmentation a per-pixel softmax with an ignore index, autoencoders a reconstruction MSE; a classifier's
loss weighed per class (``optim.class_balance``, ``optim.class_weights``) is :func:`class_weighted`.

>>> masked_mse(torch.tensor([[0.5, 9.0]]), torch.tensor([[1.0, float("nan")]]))
tensor(0.2500)
"""

import torch
import torch.nn.functional as F

from striate.training.losses import masked_mse  # the training engine's: MSE over the present (non-NaN) targets

__all__ = ["class_weighted", "masked_mse", "pixel_cross_entropy", "reconstruction_mse"]


def pixel_cross_entropy(outputs: torch.Tensor, masks: torch.Tensor, ignore_index: int = 255,
                        reduction: str = "mean", weight: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pixel softmax loss: ``outputs`` N x C x H x W scores, ``masks`` N x H x W class indices;
    pixels labelled ``ignore_index`` (object borders, unlabelled areas) add nothing. ``weight`` (C values,
    e.g. median frequency balancing) scales each pixel's loss by its true class; the mean is then over
    the weights of the labelled pixels, as torch's weighted cross-entropy."""
    if weight is not None:
        weight = weight.to(device=outputs.device, dtype=outputs.dtype)
    loss = F.cross_entropy(outputs, masks, weight=weight, ignore_index=ignore_index, reduction="sum")
    labelled = masks != ignore_index
    total = labelled.sum() if weight is None else weight[masks[labelled]].sum()
    mean = loss / total.clamp_min(1e-12)
    # "sum": the batch mean times its images, so that summing over batches and dividing by the images gives
    # the same figure as training's per-batch means (weighted or not)
    return mean * len(masks) if reduction == "sum" else mean


def reconstruction_mse(outputs: torch.Tensor, images: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error between reconstructions and the images (pixels in 0..1); ``"sum"``: per image."""
    errors = F.mse_loss(outputs, images, reduction="sum")
    return errors / images[0].numel() if reduction == "sum" else errors / images.numel()


def class_weighted(loss, weights: torch.Tensor):
    """``loss`` (any of striate.training.losses, ``(outputs, labels, reduction)``) with each image's loss
    weighed by its true class: the mean is ``sum(w[y_i] * loss_i) / sum(w[y_i])`` over the batch, as torch's
    weighted cross-entropy (so scaling every weight alike changes nothing); ``"sum"``: that mean times the
    images, as :func:`pixel_cross_entropy`; ``"none"``: each image's weighted loss.

    >>> import torch.nn.functional as F
    >>> scores, labels = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1, 1])
    >>> weights = torch.tensor([1.0, 3.0])
    >>> bool(torch.isclose(class_weighted(F.cross_entropy, weights)(scores, labels), F.cross_entropy(scores, labels, weight=weights)))
    True
    """

    def weighted(outputs: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        weight = weights.to(device=outputs.device, dtype=outputs.dtype)[labels.long()]
        values = loss(outputs, labels, reduction="none") * weight
        if reduction == "none":
            return values
        mean = values.sum() / weight.sum().clamp_min(1e-12)
        return mean * len(labels) if reduction == "sum" else mean

    return weighted
