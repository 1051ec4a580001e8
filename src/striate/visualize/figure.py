"""What every picture shares: a headless matplotlib figure, an atomic PNG write, and
turning tensors into displayable images.

matplotlib is imported inside the functions (``import striate`` stays light) and
always with the Agg backend, so pictures are drawn without a display.
"""

import io
import math
from pathlib import Path

import numpy as np
import torch

from striate.files import atomic_write_bytes

DPI = 100


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def new_figure(columns: int = 1, rows: int = 1, width: float = 6.0, height: float = 4.0, **kwargs):
    """A figure with a ``rows x columns`` grid of axes (always a 2-D array of axes)."""
    plt = pyplot()
    figure, axes = plt.subplots(rows, columns, figsize=(width, height), squeeze=False, **kwargs)
    return figure, axes


def figure_png(figure) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def save_figure(figure, path: str | Path) -> Path:
    """Write the figure as a PNG file atomically (a crash leaves no half-written file) and close it."""
    path = Path(path)
    atomic_write_bytes(path, figure_png(figure))
    return path


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
