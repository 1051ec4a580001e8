"""The losses of the dense and regression tasks (kept in one module so the training engine's own
losses can replace them in one place).

>>> masked_mse(torch.tensor([[0.5, 9.0]]), torch.tensor([[1.0, float("nan")]]))
tensor(0.2500)
"""

import torch
import torch.nn.functional as F


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error over the target values that are present (NaN marks a missing keypoint, as in
    the Kaggle facial-keypoints CSV). ``reduction="sum"`` sums the squared errors per present value
    divided by the values per sample, so summing it over batches and dividing by the sample count gives
    the same mean as ``"mean"`` when nothing is missing."""
    present = ~torch.isnan(targets)
    errors = torch.where(present, outputs - torch.nan_to_num(targets), torch.zeros_like(outputs)) ** 2
    if reduction == "sum":
        return errors.sum() / targets[0].numel()
    return errors.sum() / present.sum().clamp_min(1)


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
