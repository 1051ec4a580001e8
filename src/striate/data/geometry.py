"""Bringing images to the network's input size: zero-padding or resizing (batched, uint8 or float)."""

import torch
import torch.nn.functional as F

from striate.errors import DataError

FIT_MODES = ("pad", "resize")


def fit_to_size(images: torch.Tensor, size: int, mode: str = "pad") -> torch.Tensor:
    """Bring ``N x C x H x W`` images to ``size x size``.

    ``pad`` centres them on a zero canvas (MNIST's 28x28 digits on LeNet-5's
    32x32 input, as LeCun et al. did); ``resize`` rescales bilinearly.

    >>> fit_to_size(torch.ones(1, 1, 28, 28, dtype=torch.uint8), 32).shape
    torch.Size([1, 1, 32, 32])
    """
    height, width = images.shape[-2:]
    if (height, width) == (size, size):
        return images
    if mode == "pad":
        if height > size or width > size:
            raise DataError(
                f"cannot zero-pad {height}x{width} images to {size}x{size}; set data.fit: resize "
                f"or a data.input_size of at least {max(height, width)}"
            )
        top, left = (size - height) // 2, (size - width) // 2
        return F.pad(images, (left, size - width - left, top, size - height - top))
    if mode == "resize":
        return resize(images, (size, size))
    raise DataError(f"unknown fit mode '{mode}'; expected one of {FIT_MODES}")


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased) resize of ``N x C x H x W`` images to ``size`` = (height, width); keeps uint8."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    resized = F.interpolate(images.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
    return resized.round().clamp(0, 255).to(torch.uint8) if images.dtype == torch.uint8 else resized


def fit_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """A uint8 ``C x H x W`` image -> ``C x size x size``: the shorter side scaled to ``size``
    (bilinear, antialiased), the centre cropped.

    >>> fit_image(torch.zeros(3, 40, 80, dtype=torch.uint8), 32).shape
    torch.Size([3, 32, 32])
    """
    height, width = image.shape[-2:]
    if (height, width) == (size, size):
        return image
    scale = size / min(height, width)
    new_height, new_width = max(size, round(height * scale)), max(size, round(width * scale))
    scaled = resize(image.unsqueeze(0), (new_height, new_width))[0]
    top, left = (new_height - size) // 2, (new_width - size) // 2
    return scaled[:, top : top + size, left : left + size].contiguous()
