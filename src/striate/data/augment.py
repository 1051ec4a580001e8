"""Batched random augmentation on the training device: a pure kernel plus a separate random draw."""

import torch
import torch.nn.functional as F

from striate.errors import ConfigError, did_you_mean


def translate(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Shift each image by integer ``(dy, dx)`` pixels (``shifts``: N x 2), filling with zeros.

    >>> translate(torch.arange(4.).view(1, 1, 2, 2), torch.tensor([[0, 1]]))[0, 0].tolist()
    [[0.0, 0.0], [0.0, 2.0]]
    """
    count, _, height, width = images.shape
    margin = int(shifts.abs().max()) if len(shifts) else 0
    if margin == 0:
        return images
    padded = F.pad(images, (margin, margin, margin, margin))
    rows = torch.arange(height, device=images.device).view(1, height, 1) + margin - shifts[:, 0].view(count, 1, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, width) + margin - shifts[:, 1].view(count, 1, 1)
    batch = torch.arange(count, device=images.device).view(count, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def draw_shifts(count: int, max_shift: int, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randint(-max_shift, max_shift + 1, (count, 2), generator=generator, device=device)


def random_translate(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    return translate(images, draw_shifts(len(images), max_shift, generator, images.device))


AUGMENTATIONS = {"translate": random_translate}


def build_augment(names: list[str]):
    """Compose the named augmentations into one ``fn(images, generator)``, or None for none."""
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ConfigError(f"unknown augmentation '{unknown[0]}'{did_you_mean(unknown[0], AUGMENTATIONS)}; "
                          f"expected some of {sorted(AUGMENTATIONS)}")
    if not names:
        return None
    steps = [AUGMENTATIONS[name] for name in names]

    def augment(images, generator):
        for step in steps:
            images = step(images, generator)
        return images

    return augment
