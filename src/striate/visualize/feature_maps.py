"""Feature maps: every channel of chosen layers for one input image (one panel per layer,
each channel stretched to its own range); a layer with a vector output is drawn as bars.

>>> plot_feature_maps(model, image, ["features.conv1", "features.conv2"], "maps.png")   # doctest: +SKIP
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from striate.models import tap_outputs
from striate.visualize.figure import blank_figure, finish_figure, grid_shape, show_image, tile_grid, to_display


def default_layers(model: nn.Module) -> list[str]:
    """The model's named feature taps when it has them, else its convolution layers."""
    if hasattr(model, "feature_taps"):
        return list(model.feature_taps())
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def mosaic(maps: torch.Tensor, columns: int, gap: int = 1) -> np.ndarray:
    """``channels x h x w`` maps -> one grey image with the channels in a grid (each stretched to
    0..1 on its own), separated by ``gap`` pixels of white."""
    return tile_grid(np.stack([to_display(maps[index : index + 1]) for index in range(len(maps))]), columns, gap)


def _draw_maps(subfigure, name: str, maps: torch.Tensor, max_channels: int) -> None:
    channels = maps.shape[0]
    shown = min(channels, max_channels)
    _, columns = grid_shape(shown, max_columns=16)
    axis = subfigure.subplots()
    show_image(axis, mosaic(maps[:shown], columns, gap=max(1, maps.shape[-1] // 8)))
    subfigure.suptitle(f"{name}: {shown} of {channels} channels, {maps.shape[1]}x{maps.shape[2]} "
                       "(each stretched to its own range)", fontsize=9)


def _draw_vector(subfigure, name: str, values: torch.Tensor) -> None:
    axis = subfigure.subplots()
    axis.bar(range(len(values)), values.numpy(), width=1.0)
    axis.set_xlabel("unit")
    subfigure.suptitle(f"{name}: {len(values)} units", fontsize=9)


def plot_feature_maps(model: nn.Module, image: torch.Tensor, layers: list[str] | None = None,
                      path: str | Path | None = None, display: torch.Tensor | None = None, max_channels: int = 64):
    """Draw the outputs of ``layers`` (default: the model's feature taps) for one normalised input
    ``image`` (``C x H x W`` or ``1 x C x H x W``); ``display`` is the image to show beside them.
    Returns the PNG's ``path``, or the matplotlib Figure when ``path`` is None."""
    batch = image.unsqueeze(0) if image.ndim == 3 else image[:1]
    layers = layers or default_layers(model)
    was_training = model.training
    model.eval()
    try:
        outputs = tap_outputs(model, batch, layers)
    finally:
        model.train(was_training)
    heights = [1.6] + [_panel_height(outputs[name][0], max_channels) for name in layers]
    figure = blank_figure(10, sum(heights), layout="constrained")
    panels = figure.subfigures(len(heights), 1, height_ratios=heights)
    axis = panels[0].subplots()
    show_image(axis, to_display(display if display is not None else batch[0]), title="input")
    for panel, name in zip(panels[1:], layers):
        output = outputs[name][0].detach().float().cpu()
        if output.ndim == 3 and output.shape[1] * output.shape[2] > 1:
            _draw_maps(panel, name, output, max_channels)
        else:
            _draw_vector(panel, name, output.flatten())
    return finish_figure(figure, path)


def _panel_height(output: torch.Tensor, max_channels: int) -> float:
    if output.ndim != 3 or output.shape[1] * output.shape[2] == 1:
        return 1.6
    rows, columns = grid_shape(min(output.shape[0], max_channels), max_columns=16)
    return min(0.9 * rows, 9.0 * rows * output.shape[1] / (columns * output.shape[2])) + 0.5
