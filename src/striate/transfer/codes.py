"""CNN codes: the activations of one named layer for every image, pooled to one vector per image.

Razavian et al. 2014 ("CNN features off-the-shelf") and Donahue et al. 2014 (DeCAF) take the codes
of a network trained on one task as features for another. Any layer of ``named_modules`` can be
tapped; the special name ``features`` means ``forward_features`` (the last hidden layer, what the
head reads) and ``middle`` the middle one of the model's ``feature_taps``.

Maps (N x C x H x W) become vectors by global average pooling (``avg``), global max pooling
(``max``) or flattening (``flatten``); vectors stay as they are.

>>> codes, labels = extract_codes(model, loader, "features.conv2", pooling="avg")   # doctest: +SKIP
"""

import numpy as np
import torch
from torch import nn

from striate.errors import ConfigError, ModelError, did_you_mean
from striate.models import tap_outputs

POOLINGS = ("avg", "max", "flatten")
LAST_HIDDEN = "features"
MIDDLE = "middle"


def resolve_layer(model: nn.Module, layer: str) -> str:
    """The full module name for ``layer``: 'middle', 'features', a full name or a name inside ``features``
    ('conv2' -> 'features.conv2')."""
    modules = dict(model.named_modules())
    if layer == MIDDLE:
        taps = model.feature_taps() if hasattr(model, "feature_taps") else []
        if not taps:
            raise ModelError("the model names no feature taps, so it has no 'middle' layer; give --layer NAME")
        return taps[(len(taps) - 1) // 2]
    if layer == LAST_HIDDEN or layer in modules and layer:
        return layer
    if f"features.{layer}" in modules:
        return f"features.{layer}"
    taps = model.feature_taps() if hasattr(model, "feature_taps") else list(modules)
    raise ModelError(f"no layer named '{layer}'{did_you_mean(layer, list(modules))}; layers worth tapping: "
                     f"{', '.join(taps)} (or 'features' for the last hidden layer, 'middle')")


def pool_codes(outputs: torch.Tensor, pooling: str = "avg") -> torch.Tensor:
    """N x C x ... activations -> N x D codes (vectors pass through unchanged).

    >>> pool_codes(torch.arange(8.0).view(1, 2, 2, 2), "avg").tolist()
    [[1.5, 5.5]]
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"unknown pooling '{pooling}'{did_you_mean(pooling, POOLINGS)}; expected one of {POOLINGS}")
    if outputs.ndim <= 2:
        return outputs.reshape(len(outputs), -1)
    if pooling == "flatten":
        return outputs.flatten(1)
    spatial = outputs.flatten(2)  # N x C x (H*W)
    return spatial.mean(dim=2) if pooling == "avg" else spatial.amax(dim=2)


@torch.no_grad()
def layer_activations(model: nn.Module, images: torch.Tensor, layer: str) -> torch.Tensor:
    """The raw output of the (resolved) ``layer`` for a batch of network inputs."""
    if layer == LAST_HIDDEN:
        return model.forward_features(images)
    return tap_outputs(model, images, [layer])[layer]


@torch.no_grad()
def extract_codes(model: nn.Module, batches, layer: str, pooling: str = "avg") -> tuple[np.ndarray, np.ndarray]:
    """Codes (float32, N x D) and labels (int64, N) for every batch of ``(images, labels)``, one batch at a time."""
    was_training = model.training
    model.eval()
    layer = resolve_layer(model, layer)
    codes, labels = [], []
    try:
        for images, batch_labels in batches:
            codes.append(pool_codes(layer_activations(model, images, layer), pooling).float().cpu().numpy())
            labels.append(batch_labels.cpu().numpy())
    finally:
        model.train(was_training)
    if not codes:
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.concatenate(codes), np.concatenate(labels).astype(np.int64)
