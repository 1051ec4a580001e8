"""Learned filters: the first convolution's kernels as a colour (RGB input) or grey grid, as the
AlexNet paper shows its 96 first-layer kernels; a deeper layer as a grid of output channels
(rows) by input channels (columns), on one signed colour scale.

>>> plot_filters(model, "filters.png")                            # doctest: +SKIP
>>> plot_filters(model, "conv2.png", layer="features.conv2")      # doctest: +SKIP
>>> plot_filters(model)            # the Figure, for a notebook    # doctest: +SKIP
"""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.visualize.figure import finish_figure, grid_shape, new_figure, show_image, tile_grid


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """The model's 2-D convolutions in definition order, with their names."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def find_conv(model: nn.Module, layer: str | None) -> tuple[str, nn.Conv2d]:
    """The named convolution, or the first one when ``layer`` is None; raises ModelError otherwise."""
    convs = conv_layers(model)
    if not convs:
        raise ModelError(f"{type(model).__name__} has no convolution layer, so it has no filters to show; "
                         "train a convolutional model (e.g. lenet5)")
    if layer is None:
        return convs[0]
    named = dict(convs)
    if layer not in named:
        raise ModelError(f"no convolution named '{layer}'{did_you_mean(layer, named)}; "
                         f"the convolutions are {', '.join(named)}")
    return layer, named[layer]


def kernel_tiles(weight: torch.Tensor) -> np.ndarray:
    """``out x in x kh x kw`` weights -> one tile per output channel, each stretched to 0..1 on its own.

    Tiles are ``kh x kw`` (one input channel) or ``kh x kw x 3`` (RGB); other channel counts
    use only the first input channel.
    """
    weight = weight.detach().float().cpu()
    tiles = weight if weight.shape[1] == 3 else weight[:, :1]
    low = tiles.amin(dim=(1, 2, 3), keepdim=True)
    high = tiles.amax(dim=(1, 2, 3), keepdim=True)
    tiles = (tiles - low) / (high - low).clamp_min(1e-12)
    array = tiles.numpy()
    return array[:, 0] if array.shape[1] == 1 else array.transpose(0, 2, 3, 1)


def _plot_first_layer(name: str, conv: nn.Conv2d, max_filters: int):
    tiles = kernel_tiles(conv.weight[:max_filters])
    _, columns = grid_shape(len(tiles), max_columns=12)
    side = tiles.shape[1]
    canvas = tile_grid(tiles, columns, gap=max(1, side // 5))
    rows = -(-len(tiles) // columns)
    tile = min(1.2, max(0.6, 8.0 / columns))  # inches per kernel: few kernels are drawn larger
    figure, axes = new_figure(1, 1, width=tile * columns + 0.4, height=tile * rows + 0.7)
    show_image(axes[0, 0], canvas)
    for spine in axes[0, 0].spines.values():
        spine.set_visible(False)
    kind = "colour" if tiles.ndim == 4 else "grey"
    axes[0, 0].set_title(f"{name}: {len(tiles)} of {conv.out_channels} kernels {side}x{tiles.shape[2]}\n"
                         f"({kind}, each stretched to its own range)", fontsize=9)
    return figure


def _plot_per_input(name: str, conv: nn.Conv2d, max_filters: int, max_inputs: int):
    weight = conv.weight.detach().float().cpu()[:max_filters, :max_inputs]
    outputs, inputs, height, width = weight.shape
    limit = float(weight.abs().max()) or 1.0
    gap = max(1, height // 4)
    tiles = weight.reshape(outputs * inputs, height, width).numpy()
    canvas = tile_grid(tiles, inputs, gap=gap, fill=float("nan"))
    figure, axes = new_figure(1, 1, width=0.5 * inputs + 1.6, height=0.5 * outputs + 1.0)
    axis = axes[0, 0]
    show_image(axis, canvas, cmap="seismic", vmin=-limit, vmax=limit)
    axis.set_xticks([c * (width + gap) + (width - 1) / 2 for c in range(inputs)], range(inputs), fontsize=6)
    axis.set_yticks([r * (height + gap) + (height - 1) / 2 for r in range(outputs)], range(outputs), fontsize=6)
    axis.tick_params(length=0)
    for spine in axis.spines.values():
        spine.set_visible(False)
    axis.set_xlabel("input channel", fontsize=8)
    axis.set_ylabel("output channel", fontsize=8)
    axis.set_title(f"{name}: {outputs}/{conv.out_channels} x {inputs}/{conv.in_channels} kernels\n"
                   "red > 0 > blue, one scale", fontsize=9)
    return figure


def plot_filters(model: nn.Module, path: str | Path | None = None, layer: str | None = None, max_filters: int = 96,
                 max_inputs: int = 16):
    """Draw a convolution's kernels; the first layer (1 or 3 input channels) as a tile grid,
    any other as output x input channels. Returns ``path`` once the PNG is written, or the
    matplotlib Figure when ``path`` is None."""
    name, conv = find_conv(model, layer)
    if conv.in_channels in (1, 3):  # the input layer: each kernel is an image patch
        figure = _plot_first_layer(name, conv, max_filters)
    else:
        figure = _plot_per_input(name, conv, min(max_filters, 32), max_inputs)
    return finish_figure(figure, path)
