"""The losses of the dense and regression tasks: keypoints use the training engine's masked MSE,
segmentation a per-pixel softmax with an ignore index, autoencoders a reconstruction MSE.

>>> masked_mse(torch.tensor([[0.5, 9.0]]), torch.tensor([[1.0, float("nan")]]))
tensor(0.2500)
"""

import torch
import torch.nn.functional as F

from striate.train.losses import masked_mse  # the training engine's: MSE over the present (non-NaN) targets

__all__ = ["masked_mse", "pixel_cross_entropy", "reconstruction_mse"]


def pixel_cross_entropy(outputs: torch.Tensor, masks: torch.Tensor, ignore_index: int = 255,
                        reduction: str = "mean") -> torch.Tensor:
    """Per-pixel softmax loss: ``outputs`` N x C x H x W scores, ``masks`` N x H x W class indices;
    pixels labelled ``ignore_index`` (object borders, unlabelled areas) add nothing."""
    loss = F.cross_entropy(outputs, masks, ignore_index=ignore_index, reduction="sum")
    if reduction == "sum":  # per image, so that summing over batches then dividing by images is the mean
        return loss / masks[0].numel()
    return loss / (masks != ignore_index).sum().clamp_min(1)


def reconstruction_mse(outputs: torch.Tensor, images: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error between reconstructions and the images (pixels in 0..1); ``"sum"``: per image."""
    errors = F.mse_loss(outputs, images, reduction="sum")
    return errors / images[0].numel() if reduction == "sum" else errors / images.numel()
