"""What every picture shares: a headless matplotlib figure, the one ending of every picture
function (:func:`finish_figure`: with a path, a PNG written atomically and the path returned;
without one, the figure itself for a notebook), and turning tensors into displayable images.

The figure helpers (blank_figure, finish_figure, figure_png, save_figure, inline_figure_class)
are defined once in striate.tasks.pictures, the lowest part that draws (striate.tasks and
striate.diagnose may not import striate.visualize), and re-exported here.

matplotlib is imported inside the functions (``import striate`` stays light). Figures are drawn
by the Agg renderer on a canvas of their own, never registered with pyplot: drawing needs no
display, switches no backend of the caller's (a notebook keeps its own), and leaves nothing open
in pyplot. A figure returned to a notebook shows inline: it has a ``_repr_png_``.

>>> plot_filters(model)                      # a Figure: Jupyter shows it inline   # doctest: +SKIP
>>> plot_filters(model, path="filters.png")  # writes the PNG, returns its path    # doctest: +SKIP
"""

import math

import numpy as np
import torch

from striate.tasks.pictures import (  # re-exported (the pictures' one ending), hence __all__
    DPI,
    blank_figure,
    figure_png,
    finish_figure,
    inline_figure_class,
    save_figure,
)

__all__ = ["DPI", "blank_figure", "figure_png", "finish_figure", "grid_shape", "hide_unused", "inline_figure_class",
           "new_figure", "pyplot", "save_figure", "show_image", "tile_grid", "to_display"]

# plt.subplots arguments that shape the grid of axes rather than the figure
_SUBPLOT_ARGS = ("sharex", "sharey", "subplot_kw", "gridspec_kw", "width_ratios", "height_ratios")


def pyplot():
    """matplotlib.pyplot switched to the Agg backend (no display needed). The pictures do not use it
    (:func:`blank_figure` needs no backend); kept for callers that want pyplot itself."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def new_figure(columns: int = 1, rows: int = 1, width: float = 6.0, height: float = 4.0, **kwargs):
    """A figure with a ``rows x columns`` grid of axes (always a 2-D array of axes); ``kwargs`` as
    plt.subplots takes them (``sharex``, ``gridspec_kw``... shape the grid, the rest the figure)."""
    grid = {key: kwargs.pop(key) for key in _SUBPLOT_ARGS if key in kwargs}
    figure = blank_figure(width, height, **kwargs)
    axes = figure.subplots(rows, columns, squeeze=False, **grid)
    return figure, axes


def grid_shape(count: int, max_columns: int = 16) -> tuple[int, int]:
    """(rows, columns) of a near-square grid holding ``count`` tiles."""
    columns = max(1, min(max_columns, math.ceil(math.sqrt(count))))
    return math.ceil(count / columns), columns


def to_display(image: torch.Tensor, mean=None, std=None) -> np.ndarray:
    """A ``C x H x W`` tensor -> an ``H x W`` (grey) or ``H x W x 3`` float array in 0..1.

    With ``mean`` and ``std`` the network's normalisation is undone; without them the
    values are stretched to 0..1 (min to max), as filter and activation pictures need.
    """
    image = image.detach().float().cpu()
    if mean is not None and std is not None:
        mean_t = torch.tensor(mean, dtype=image.dtype).view(-1, 1, 1)
        std_t = torch.tensor(std, dtype=image.dtype).view(-1, 1, 1)
        image = (image * std_t + mean_t).clamp(0, 1)
    else:
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else torch.zeros_like(image)
    array = image.numpy()
    return array[0] if array.shape[0] == 1 else array[:3].transpose(1, 2, 0)


def show_image(axis, image: np.ndarray, title: str | None = None, **kwargs) -> None:
    """Draw an image from :func:`to_display` on ``axis`` without ticks."""
    if image.ndim == 2:
        kwargs.setdefault("cmap", "gray")
        kwargs.setdefault("vmin", 0.0)
        kwargs.setdefault("vmax", 1.0)
    axis.imshow(image, interpolation="nearest", **kwargs)
    axis.set_xticks([])
    axis.set_yticks([])
    if title:
        axis.set_title(title, fontsize=8)


def tile_grid(tiles: np.ndarray, columns: int, gap: int = 1, fill: float = 1.0) -> np.ndarray:
    """``N x h x w`` (or ``N x h x w x 3``) tiles -> one image with the tiles in rows of ``columns``,
    ``gap`` pixels of ``fill`` between them (NaN as fill shows as the background colour)."""
    count, height, width = tiles.shape[:3]
    rows = -(-count // columns)
    canvas = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, *tiles.shape[3:]), fill, dtype=float)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top : top + height, left : left + width] = tiles[index]
    return canvas


def hide_unused(axes, used: int) -> None:
    """Switch off the axes of a grid beyond the first ``used`` tiles."""
    for axis in axes.flat[used:]:
        axis.axis("off")
