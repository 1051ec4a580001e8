"""The random transform every augmentation is (DESIGN.md principle 5): ``draw`` its parameters for a batch,
seeded through a ``torch.Generator``, then apply them with pure kernels (striate.data.kernels) to images,
masks and keypoints alike. The augmentations themselves are in striate.data.augment and
striate.data.policies; recipes name them through striate.data.augment.build_augment.
"""

import torch


def uniform(count: int, low: float, high: float, generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(count, generator=generator, device=device)


class Augmentation:
    """A random transform: ``draw`` its parameters for a batch, then apply them with pure kernels.
    Photometric ones leave masks and keypoints alone (the defaults below)."""

    name = ""
    exact = False  # True: exact on uint8 images too (pixels only move), so it can run before the float conversion
    ranges: dict = {}  # parameter -> (low, high, whole number?), checked where a recipe's entry is built

    def draw(self, shape, generator: torch.Generator, device) -> dict:
        raise NotImplementedError

    def images(self, images: torch.Tensor, params: dict) -> torch.Tensor:
        raise NotImplementedError

    def masks(self, masks: torch.Tensor, params: dict) -> torch.Tensor:
        return masks

    def keypoints(self, keypoints: torch.Tensor, params: dict, size, swap) -> torch.Tensor:
        return keypoints
