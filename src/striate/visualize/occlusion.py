"""Occlusion sensitivity (Zeiler and Fergus 2014): slide a square of the normalised mean (0, grey
once the normalisation is undone) over the image with a stride and record the probability of a
class with each part hidden. Where the probability drops, the network was looking.

All the occluded copies go through the network in a few batches (``batch_size`` copies each), not
one forward pass per position.

>>> found = occlusion_map(model, image, target=3, size=8, stride=2)   # doctest: +SKIP
>>> plot_occlusion(found, image, "occlusion.png", mean=[0.13], std=[0.31])   # doctest: +SKIP
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from striate.errors import ConfigError, ModelError
from striate.visualize.figure import finish_figure, new_figure, show_image, to_display


@dataclass
class Occlusion:
    """The probabilities of ``target`` with a ``size`` square at each position of a grid."""

    target: int
    size: int
    stride: int
    baseline: float  # the probability of target on the whole image
    tops: torch.Tensor  # rows of the squares' top edges
    lefts: torch.Tensor  # columns of the squares' left edges
    probabilities: torch.Tensor  # len(tops) x len(lefts): the square's top-left at (tops[i], lefts[j])
    pixel_map: torch.Tensor  # H x W: each pixel's mean probability over the squares that cover it


def default_size(side: int) -> int:
    """A quarter of the image side (at least 1 pixel)."""
    return max(1, side // 4)


def _starts(side: int, size: int, stride: int) -> torch.Tensor:
    """Square edges from 0 with ``stride``, the last one flush with the far border."""
    starts = list(range(0, side - size + 1, stride))
    if starts[-1] != side - size:
        starts.append(side - size)
    return torch.tensor(starts)


def occlusion_map(model: nn.Module, image: torch.Tensor, target: int | None = None, size: int | None = None,
                  stride: int | None = None, fill: float = 0.0, batch_size: int = 256) -> Occlusion:
    """Occlusion sensitivity of one ``C x H x W`` image for class ``target`` (default: the predicted
    class): a ``size`` square (default a quarter of the side) of value ``fill`` at every ``stride``
    (default a quarter of the size)."""
    image = (image[0] if image.ndim == 4 else image).detach().float()
    height, width = image.shape[-2:]
    size = default_size(min(height, width)) if size is None else int(size)
    stride = max(1, size // 4) if stride is None else int(stride)
    if not 1 <= size <= min(height, width):
        raise ConfigError(f"the occluding square must be 1..{min(height, width)} pixels (the image is "
                          f"{height}x{width}), got {size}")
    if stride < 1:
        raise ConfigError(f"the occlusion stride must be at least 1 pixel, got {stride}")
    tops, lefts = _starts(height, size, stride), _starts(width, size, stride)
    corners = torch.cartesian_prod(tops, lefts)  # N x 2, row-major over the grid
    rows, columns = torch.arange(height), torch.arange(width)
    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.no_grad():
            scores = model(image[None])
            target = int(scores.argmax(dim=1)) if target is None else int(target)
            if not 0 <= target < scores.shape[1]:
                raise ModelError(f"class {target} is out of range: the model has {scores.shape[1]} classes")
            baseline = float(scores.softmax(dim=1)[0, target])
            for first in range(0, len(corners), batch_size):
                chunk = corners[first : first + batch_size]
                in_rows = (rows[None] >= chunk[:, :1]) & (rows[None] < chunk[:, :1] + size)  # n x H
                in_columns = (columns[None] >= chunk[:, 1:]) & (columns[None] < chunk[:, 1:] + size)  # n x W
                hidden = (in_rows[:, :, None] & in_columns[:, None, :])[:, None]  # n x 1 x H x W
                copies = torch.where(hidden, torch.tensor(fill, dtype=image.dtype), image[None])
                chunks.append(model(copies).softmax(dim=1)[:, target].float().cpu())
    finally:
        model.train(was_training)
    probabilities = torch.cat(chunks).view(len(tops), len(lefts))
    total, covered = torch.zeros(height, width), torch.zeros(height, width)
    for (top, left), probability in zip(corners.tolist(), probabilities.flatten().tolist()):
        total[top : top + size, left : left + size] += probability
        covered[top : top + size, left : left + size] += 1
    return Occlusion(target, size, stride, baseline, tops, lefts, probabilities, total / covered)


def plot_occlusion(found: Occlusion, image: torch.Tensor, path: str | Path | None = None, mean=None, std=None,
                   class_names: list[str] | None = None):
    """The image with one occluding square drawn, the probability map (each pixel: the mean probability
    with a square covering it) and the map over the image; the PNG's path, or the Figure when ``path`` is None."""
    from matplotlib.patches import Rectangle

    name = class_names[found.target] if class_names else str(found.target)
    shown = to_display(image[0] if image.ndim == 4 else image, mean, std)
    figure, axes = new_figure(3, 1, width=10.0, height=3.7)
    show_image(axes[0, 0], shown, title=f"image: p('{name}') = {found.baseline:.3f}")
    axes[0, 0].add_patch(Rectangle((-0.5, -0.5), found.size, found.size, fill=False, edgecolor="red", linewidth=1.5))
    drawn = axes[0, 1].imshow(found.pixel_map.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes[0, 1].set_xticks([])
    axes[0, 1].set_yticks([])
    axes[0, 1].set_title(f"p('{name}'), {found.size}x{found.size} square, stride {found.stride}", fontsize=8)
    figure.colorbar(drawn, ax=axes[0, 1], fraction=0.046, pad=0.04)
    show_image(axes[0, 2], shown, title="where hiding hurts (dark: low probability)")
    axes[0, 2].imshow(found.pixel_map.numpy(), cmap="viridis", vmin=0.0, vmax=1.0, alpha=0.55, interpolation="bilinear")
    figure.tight_layout()
    return finish_figure(figure, path)
