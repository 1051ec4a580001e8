"""Top activating patches (Zeiler and Fergus 2014): for each chosen channel of a layer, the image
patches of a data set that drive it hardest, cropped to the channel's receptive field.

One streaming pass: each image scores a channel by its strongest position, and a bounded top-k
per channel keeps the k best values with their crops, so memory does not grow with the data set.

>>> found = top_activating_patches(model, loader, "features.conv2", [0, 1, 2], input_shape=(1, 32, 32))  # doctest: +SKIP
>>> plot_top_patches(found, "patches.png", mean=[0.13], std=[0.31])                                      # doctest: +SKIP
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ModelError
from striate.models import tap_outputs
from striate.visualize.figure import blank_figure, finish_figure, grid_shape, show_image, to_display
from striate.visualize.receptive import receptive_field, window


@dataclass
class TopPatches:
    """The k strongest activations of each channel, strongest first (rows follow ``channels``)."""

    layer: str
    channels: list[int]
    receptive_field: tuple[int, int, float]  # (size, jump, start), see striate.visualize.receptive
    values: torch.Tensor  # channels x k activation values
    image_indices: torch.Tensor  # channels x k positions of the images in the stream
    positions: torch.Tensor  # channels x k x 2 (row, column) in the layer's output
    patches: torch.Tensor  # channels x k x C x size x size input crops, NaN outside the image
    labels: torch.Tensor  # channels x k labels of the images (-1 when unknown)


def _empty(channels: int, k: int, image_channels: int, size: int) -> dict:
    return {"values": torch.full((channels, k), -float("inf")), "image_indices": torch.full((channels, k), -1),
            "positions": torch.zeros(channels, k, 2, dtype=torch.long), "labels": torch.full((channels, k), -1),
            "patches": torch.full((channels, k, image_channels, size, size), float("nan"))}


def _crop(padded: torch.Tensor, row: int, column: int, field: tuple[int, int, float], margin: int) -> torch.Tensor:
    size, jump, start = field
    top, bottom = window(size, jump, start, row)
    left, right = window(size, jump, start, column)
    return padded[:, top + margin : bottom + margin, left + margin : right + margin]


def _merge_batch(state: dict, scores: torch.Tensor, where: torch.Tensor, width: int, batch: tuple, offset: int,
                 field) -> None:
    """Merge one batch's per-image scores (``B x channels``, at flat positions ``where`` of maps
    ``width`` wide) into the running top-k; ``batch`` is ``(images, labels or None)``."""
    images, labels = batch
    k = state["values"].shape[1]
    size = field[0]
    margin = size + abs(int(field[2])) + 1
    candidates = torch.cat([state["values"], scores.t()], dim=1)  # channels x (k + B)
    best = candidates.topk(k, dim=1).indices
    padded = None
    previous = {key: value.clone() for key, value in state.items()}
    for channel in range(candidates.shape[0]):
        for slot, index in enumerate(best[channel].tolist()):
            if index < k:  # an entry kept from earlier batches
                for key in state:
                    state[key][channel, slot] = previous[key][channel, index]
                continue
            image = index - k
            row, column = divmod(int(where[image, channel]), width)
            if padded is None:
                padded = F.pad(images.float().cpu(), (margin,) * 4, value=float("nan"))
            state["values"][channel, slot] = scores[image, channel]
            state["image_indices"][channel, slot] = offset + image
            state["positions"][channel, slot] = torch.tensor([row, column])
            state["labels"][channel, slot] = int(labels[image]) if labels is not None else -1
            state["patches"][channel, slot] = _crop(padded[image], row, column, field, margin)


def top_activating_patches(model: nn.Module, batches: Iterable, layer: str, channels: list[int] | None = None,
                           k: int = 9, input_shape=None) -> TopPatches:
    """Scan ``batches`` (``images`` or ``(images, labels)``) once; keep the ``k`` images whose
    strongest position most activates each of ``channels`` (default: the first 16) of ``layer``."""
    was_training = model.training
    model.eval()
    state, field, offset = None, None, 0
    try:
        for batch in batches:
            images, labels = (batch if isinstance(batch, (tuple, list)) else (batch, None))
            output = tap_outputs(model, images, [layer])[layer]
            if output.ndim != 4:
                raise ModelError(f"layer '{layer}' gives {tuple(output.shape)} outputs, not channel maps; "
                                 "choose a convolution or pooling layer")
            if state is None:
                channels = list(range(min(16, output.shape[1]))) if channels is None else list(channels)
                _check_channels(layer, channels, output.shape[1])
                field = receptive_field(model, layer, input_shape or tuple(images.shape[1:]))
                state = _empty(len(channels), k, images.shape[1], field[0])
            maps = output[:, channels].detach().float().cpu().flatten(2)  # B x channels x (h*w)
            scores, where = maps.max(dim=2)
            _merge_batch(state, scores, where, output.shape[3], (images, labels), offset, field)
            offset += len(images)
    finally:
        model.train(was_training)
    if state is None:
        raise ModelError("no images to scan: the data set is empty")
    kept = state["image_indices"][0] >= 0
    return TopPatches(layer, channels, field, **{key: value[:, kept] for key, value in state.items()})


def _check_channels(layer: str, channels: list[int], available: int) -> None:
    bad = [c for c in channels if not 0 <= c < available]
    if bad:
        raise ModelError(f"layer '{layer}' has channels 0..{available - 1}, got {bad[0]}; choose channels in that range")


OUTSIDE_COLOUR = (0.75, 0.85, 0.95)  # pale blue: the part of a receptive field beyond the image border


def patch_display(patch: torch.Tensor, mean=None, std=None) -> np.ndarray:
    """A crop (NaN outside the image) -> an RGB array in 0..1 with the outside drawn pale blue."""
    outside = torch.isnan(patch).any(dim=0).numpy()
    valid = patch[~torch.isnan(patch)]
    filled = patch.nan_to_num(float(valid.min()) if mean is None and len(valid) else 0.0)
    image = to_display(filled, mean, std)
    image = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image.copy()
    image[outside] = OUTSIDE_COLOUR
    return image


def plot_top_patches(found: TopPatches, path: str | Path | None = None, mean=None, std=None, class_names=None):
    """One 3x3 (for k=9) block of patches per channel, strongest first, each labelled with its value;
    the PNG's path, or the Figure when ``path`` is None."""
    count = len(found.channels)
    rows, columns = grid_shape(count, max_columns=4)
    side = max(1, int(round(found.values.shape[1] ** 0.5 + 0.49)))
    figure = blank_figure(3.2 * columns, 3.5 * rows, layout="constrained")
    panels = figure.subfigures(rows, columns, squeeze=False)
    for panel, (row_index, channel) in zip(panels.flat, enumerate(found.channels)):
        axes = panel.subplots(side, side, squeeze=False)
        for slot, axis in enumerate(axes.flat):
            if slot >= found.values.shape[1]:
                axis.axis("off")
                continue
            label = int(found.labels[row_index, slot])
            name = class_names[label] if class_names and label >= 0 else ""
            show_image(axis, patch_display(found.patches[row_index, slot], mean, std),
                       title=f"{float(found.values[row_index, slot]):.2f}" + (f" ({name})" if name else ""))
        panel.suptitle(f"channel {channel}", fontsize=10)
    for panel in list(panels.flat)[count:]:
        panel.subplots().axis("off")
    size = found.receptive_field[0]
    figure.suptitle(f"{found.layer}: top {found.values.shape[1]} patches per channel "
                    f"(receptive field {size}x{size})", fontsize=11)
    return finish_figure(figure, path)
