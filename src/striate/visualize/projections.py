"""What a unit responds to, in pixels: deconvnet projections of top activations (Zeiler and Fergus
2014) and guided backpropagation (Springenberg et al. 2015), both one backward pass through
:func:`striate.visualize.backprop_rules.backprop_rule`.

A unit's projection keeps only its maximal activation (its channel at its strongest position; every
other activation of the layer set to zero) and sends it back to the pixels through the layers below:
ReLUs by the rule, convolutions by their transposed convolution, max pooling through its switches.
Every non-zero pixel of a projection lies inside the unit's receptive field.

>>> found = top_projections(model, run.loader, "features.conv2", [0, 1], input_shape=(1, 32, 32))  # doctest: +SKIP
>>> plot_deconvnet(found, "deconvnet.png", mean=[0.13], std=[0.31])                             # doctest: +SKIP
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.visualize.backprop_rules import backprop_rule
from striate.visualize.figure import blank_figure, finish_figure, new_figure, show_image, to_display
from striate.visualize.receptive import receptive_field, window
from striate.visualize.top_patches import OUTSIDE_COLOUR, TopPatches, patch_display, top_activating_patches


class _Stop(Exception):
    """Raised by the capturing hook: nothing above the layer needs to run."""


def layer_maps(model: nn.Module, images: torch.Tensor, layer: str) -> torch.Tensor:
    """``layer``'s output for ``images`` (in the graph, for a backward pass); the forward pass stops
    there. A layer whose output is not a stack of channel maps is refused."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ModelError(f"no layer named '{layer}'{did_you_mean(layer, modules)}")
    captured = {}

    def capture(_module, _inputs, output):
        captured["maps"] = output
        raise _Stop

    handle = modules[layer].register_forward_hook(capture)
    try:
        model(images)
    except _Stop:
        pass
    finally:
        handle.remove()
    maps = captured.get("maps")
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
        shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ModelError(f"layer '{layer}' gives {shape} outputs, not channel maps; choose a convolution or "
                         "pooling layer")
    return maps


def project_units(model: nn.Module, images: torch.Tensor, layer: str, channel: int, rule: str = "deconvnet",
                  positions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project one unit per image back to the pixels: ``channel`` of ``layer`` at ``positions``
    (``B x 2`` rows and columns; default: each image's strongest position), its activation kept and
    all others zeroed, by ``rule`` (``deconvnet``, ``guided`` or ``gradient``). Returns the
    projections (``B x C x H x W``), the positions and the activation values."""
    batch = images.detach().float().clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with backprop_rule(model, rule):
            maps = layer_maps(model, batch, layer)
            if not 0 <= channel < maps.shape[1]:
                raise ModelError(f"layer '{layer}' has channels 0..{maps.shape[1] - 1}, got {channel}; "
                                 "choose channels in that range")
            unit = maps[:, channel].detach()
            if positions is None:
                where = unit.flatten(1).argmax(dim=1)
                positions = torch.stack([where // unit.shape[2], where % unit.shape[2]], dim=1)
            rows = torch.arange(len(batch))
            values = unit[rows, positions[:, 0], positions[:, 1]]
            signal = torch.zeros_like(maps)
            signal[rows, channel, positions[:, 0], positions[:, 1]] = values
            (projections,) = torch.autograd.grad(maps, batch, grad_outputs=signal, allow_unused=True)
    finally:
        model.train(was_training)
    projections = torch.zeros_like(batch) if projections is None else projections
    return projections.detach(), positions, values.cpu()


def guided_backprop(model: nn.Module, image: torch.Tensor, target: int | None = None, layer: str | None = None,
                    channel: int | None = None) -> tuple[torch.Tensor, int]:
    """Guided backpropagation for one image (``C x H x W``): of the class score ``target`` (default:
    the predicted class), or with ``layer`` and ``channel`` of that unit's maximal activation. Returns
    the ``C x H x W`` map and the class (or channel) used."""
    single = (image.unsqueeze(0) if image.ndim == 3 else image[:1]).detach().float()
    if layer is not None:
        if channel is None:
            raise ModelError("guided backpropagation of a unit needs its channel as well as its layer")
        projections, _, _ = project_units(model, single, layer, int(channel), rule="guided")
        return projections[0], int(channel)
    batch = single.clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with backprop_rule(model, "guided"):
            scores = model(batch)
            target = int(scores.argmax(dim=1)) if target is None else int(target)
            if not 0 <= target < scores.shape[1]:
                raise ModelError(f"class {target} is out of range: the model has {scores.shape[1]} classes")
            (gradient,) = torch.autograd.grad(scores[0, target], batch)
    finally:
        model.train(was_training)
    return gradient[0], target


@dataclass
class Projections(TopPatches):
    """Deconvnet projections of each channel's top-k activations, strongest first: the top patches (rows
    follow ``channels``) with ``projections``, channels x k x C x size x size, cropped as the patches are."""

    projections: torch.Tensor = None


def crop_field(image: torch.Tensor, row: int, column: int, field: tuple[int, int, float]) -> torch.Tensor:
    """The ``C x size x size`` window of ``image`` seen by output position (row, column), NaN beyond the border."""
    size, jump, start = field
    top, bottom = window(size, jump, start, row)
    left, right = window(size, jump, start, column)
    crop = torch.full((image.shape[0], size, size), float("nan"))
    height, width = image.shape[-2:]
    inside_rows = slice(max(top, 0), min(bottom, height))
    inside_columns = slice(max(left, 0), min(right, width))
    target_rows = slice(inside_rows.start - top, inside_rows.stop - top)
    target_columns = slice(inside_columns.start - left, inside_columns.stop - left)
    crop[:, target_rows, target_columns] = image[:, inside_rows, inside_columns].float().cpu()
    return crop


def gather_images(batches: Iterable, indices: set[int]) -> dict[int, torch.Tensor]:
    """The images at stream positions ``indices`` of ``batches`` (``images`` or ``(images, labels)``)."""
    found, offset = {}, 0
    for batch in batches:
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        for index in range(offset, offset + len(images)):
            if index in indices:
                found[index] = images[index - offset].detach().float().cpu()
        offset += len(images)
        if len(found) == len(indices):
            break
    return found


def top_projections(model: nn.Module, batches: Callable[[], Iterable], layer: str, channels: list[int] | None = None,
                    k: int = 9, input_shape=None) -> Projections:
    """For each of ``channels`` (default: the first 4) of ``layer``: the ``k`` images whose strongest
    position activates it most (:func:`top_activating_patches`) and their deconvnet projections,
    both cropped to the unit's receptive field. ``batches()`` gives a fresh pass over the data
    (two passes: one to rank, one to fetch the chosen images)."""
    if channels is None:
        first = layer_maps_shape(model, batches, layer)
        channels = list(range(min(4, first)))
    found = top_activating_patches(model, batches(), layer, channels, k=k, input_shape=input_shape)
    images = gather_images(batches(), set(found.image_indices.flatten().tolist()))
    field = found.receptive_field
    projected = torch.full_like(found.patches, float("nan"))
    for row, channel in enumerate(found.channels):
        indices = found.image_indices[row].tolist()
        stack = torch.stack([images[index] for index in indices])
        projections, _, _ = project_units(model, stack, layer, channel, "deconvnet", found.positions[row])
        for slot, (r, c) in enumerate(found.positions[row].tolist()):
            projected[row, slot] = crop_field(projections[slot], r, c, field)
    return Projections(found.layer, found.channels, field, found.values, found.image_indices, found.positions,
                       found.patches, found.labels, projections=projected)


def layer_maps_shape(model: nn.Module, batches: Callable[[], Iterable], layer: str) -> int:
    """How many channels ``layer`` has, from the first image of ``batches()``."""
    for batch in batches():
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                return layer_maps(model, images[:1].float(), layer).shape[1]
        finally:
            model.train(was_training)
    raise ModelError("no images to scan: the data set is empty")


def signed_display(projection: torch.Tensor) -> np.ndarray:
    """A ``C x H x W`` signed projection (NaN outside the image) -> RGB in 0..1, zero at mid-grey,
    scaled by its own largest magnitude, the outside pale blue."""
    outside = torch.isnan(projection).any(dim=0).numpy()
    values = projection.nan_to_num(0.0)
    scale = float(values.abs().max())
    values = 0.5 + values / (2 * scale) if scale > 0 else torch.full_like(values, 0.5)
    array = values.clamp(0, 1).numpy()
    image = np.repeat(array[0][..., None], 3, axis=2) if array.shape[0] == 1 else array[:3].transpose(1, 2, 0).copy()
    image[outside] = OUTSIDE_COLOUR
    return image


def plot_deconvnet(found: Projections, path: str | Path | None = None, mean=None, std=None, class_names=None):
    """For each channel two rows: its top image patches and, under each, the deconvnet projection of
    that activation; the PNG's path, or the Figure when ``path`` is None."""
    count, k = len(found.channels), found.values.shape[1]
    figure, axes = new_figure(k, 2 * count, width=max(4.0, 1.1 * k), height=2.3 * count + 0.6)
    for row, channel in enumerate(found.channels):
        for slot in range(k):
            label = int(found.labels[row, slot])
            name = f" ({class_names[label]})" if class_names and label >= 0 else ""
            show_image(axes[2 * row, slot], patch_display(found.patches[row, slot], mean, std),
                       title=f"{float(found.values[row, slot]):.2f}{name}")
            show_image(axes[2 * row + 1, slot], signed_display(found.projections[row, slot]))
        axes[2 * row, 0].set_ylabel(f"channel {channel}", fontsize=8)
        axes[2 * row + 1, 0].set_ylabel("projection", fontsize=8)
    size = found.receptive_field[0]
    figure.suptitle(f"{found.layer}: top {k} activations and their deconvnet projections "
                    f"(receptive field {size}x{size})", fontsize=10)
    figure.tight_layout()
    return finish_figure(figure, path)


def plot_guided_backprop(model: nn.Module, image: torch.Tensor, path: str | Path | None = None, mean=None, std=None,
                         class_names: list[str] | None = None, target: int | None = None, layer: str | None = None,
                         channels: list[int] | None = None):
    """The image, then guided backpropagation of the class score (default: the predicted class) or,
    with ``layer``, of each of ``channels`` (default: the 4 most active on this image) at its maximal
    activation; the PNG's path, or the Figure when ``path`` is None."""
    single = image.unsqueeze(0) if image.ndim == 3 else image[:1]
    if layer is not None:
        if channels is None:
            was_training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    strongest = layer_maps(model, single.float(), layer)[0].flatten(1).amax(dim=1)
            finally:
                model.train(was_training)
            channels = strongest.argsort(descending=True)[:4].tolist()
        maps = [(guided_backprop(model, single[0], layer=layer, channel=c)[0], f"{layer} channel {c}")
                for c in channels]
    else:
        gradient, used = guided_backprop(model, single[0], target)
        name = class_names[used] if class_names else str(used)
        maps = [(gradient, f"class '{name}'")]
    figure, axes = new_figure(1 + len(maps), 1, width=3.0 * (1 + len(maps)), height=3.4)
    show_image(axes[0, 0], to_display(single[0], mean, std), title="image")
    for axis, (gradient, title) in zip(axes[0, 1:], maps):
        show_image(axis, signed_display(gradient), title=f"guided backprop: {title}")
    figure.tight_layout()
    return finish_figure(figure, path)

