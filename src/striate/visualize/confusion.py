"""What the model gets wrong: the confusion matrix (counts and row-normalised), the most
confused pairs, and the top losses (the images it got most wrong, with true and predicted class).

>>> figures = evaluate(model, loader, num_classes)                        # doctest: +SKIP
>>> plot_confusion(figures["confusion"], class_names, "confusion.png")    # doctest: +SKIP
>>> plot_confusion(figures["confusion"], class_names)   # the Figure, for a notebook   # doctest: +SKIP
>>> plot_top_losses(top_losses(model, loader), "losses.png", class_names=class_names)  # doctest: +SKIP
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import DataError
from striate.visualize.figure import finish_figure, grid_shape, hide_unused, new_figure, show_image, to_display


def row_normalised(confusion) -> np.ndarray:
    """Each row divided by its total (the share of each true class given each prediction); empty rows stay 0."""
    counts = np.asarray(confusion, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def most_confused_pairs(confusion, count: int = 10) -> list[tuple[int, int, int]]:
    """``(true, predicted, images)`` for the largest off-diagonal counts, largest first (ties: by class)."""
    counts = np.asarray(confusion, dtype=np.int64)
    pairs = [(int(counts[t, p]), t, p) for t in range(len(counts)) for p in range(len(counts)) if t != p and counts[t, p]]
    pairs.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [(t, p, n) for n, t, p in pairs[:count]]


def _matrix(axis, values: np.ndarray, names: list[str], title: str, fmt: str) -> None:
    axis.imshow(values, cmap="Blues", interpolation="nearest")
    ticks = range(len(names))
    axis.set_xticks(ticks, names, rotation=90 if max(map(len, names)) > 2 else 0, fontsize=7)
    axis.set_yticks(ticks, names, fontsize=7)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(title, fontsize=10)
    if len(names) <= 20:
        high = values.max() or 1
        for (row, column), value in np.ndenumerate(values):
            axis.text(column, row, format(value, fmt), ha="center", va="center", fontsize=6,
                      color="white" if value > 0.6 * high else "black")


def plot_confusion(confusion, class_names: list[str], path: str | Path | None = None):
    """Counts and row-normalised shares side by side (rows: true class, columns: predicted); the PNG
    written to ``path`` and its path returned, or without a path the matplotlib Figure."""
    counts = np.asarray(confusion, dtype=np.int64)
    side = 4.0 + 0.25 * len(class_names)
    figure, axes = new_figure(2, 1, width=2 * side + 1, height=side)
    _matrix(axes[0, 0], counts, class_names, f"counts ({counts.sum()} images)", "d")
    _matrix(axes[0, 1], row_normalised(counts), class_names, "row-normalised (recall on the diagonal)", ".2f")
    figure.tight_layout()
    return finish_figure(figure, path)


@dataclass
class TopLosses:
    """The ``k`` highest per-image losses of a data set, highest first."""

    losses: torch.Tensor  # k
    indices: torch.Tensor  # k positions of the images in the stream
    images: torch.Tensor  # k x C x H x W network inputs
    labels: torch.Tensor  # k true classes
    predictions: torch.Tensor  # k predicted classes
    probabilities: torch.Tensor  # k probabilities of the predicted class


@torch.no_grad()
def top_losses(model: nn.Module, batches: Iterable, k: int = 16) -> TopLosses:
    """Scan ``(images, labels)`` batches once, keeping only the ``k`` highest cross-entropy losses."""
    was_training = model.training
    model.eval()
    kept: TopLosses | None = None
    offset = 0
    try:
        for images, labels in batches:
            logits = model(images).float()
            probabilities, predictions = torch.softmax(logits, dim=1).max(dim=1)
            batch = TopLosses(F.cross_entropy(logits, labels, reduction="none").cpu(),
                              torch.arange(offset, offset + len(labels)), images.detach().cpu(), labels.cpu(),
                              predictions.cpu(), probabilities.cpu())
            kept = batch if kept is None else _concat(kept, batch)
            order = kept.losses.topk(min(k, len(kept.losses))).indices
            kept = TopLosses(*(getattr(kept, name)[order] for name in TopLosses.__dataclass_fields__))
            offset += len(labels)
    finally:
        model.train(was_training)
    if kept is None:
        raise DataError("no images to score: the data set is empty")
    return kept


def _concat(first: TopLosses, second: TopLosses) -> TopLosses:
    return TopLosses(*(torch.cat([getattr(first, name), getattr(second, name)])
                       for name in TopLosses.__dataclass_fields__))


def plot_top_losses(found: TopLosses, path: str | Path | None = None, mean=None, std=None, class_names=None):
    """A grid of the images, each titled 'true / predicted (probability) loss'; the PNG's path, or
    the Figure when ``path`` is None."""
    names = class_names or [str(i) for i in range(int(max(found.labels.max(), found.predictions.max())) + 1)]
    rows, columns = grid_shape(len(found.losses), max_columns=8)
    figure, axes = new_figure(columns, rows, width=1.7 * columns, height=2.3 * rows + 0.4)
    for index, axis in enumerate(axes.flat[: len(found.losses)]):
        title = (f"true {names[int(found.labels[index])]}\npred {names[int(found.predictions[index])]} "
                 f"({100 * float(found.probabilities[index]):.0f}%)\nloss {float(found.losses[index]):.2f}")
        show_image(axis, to_display(found.images[index], mean, std), title=title)
    hide_unused(axes, len(found.losses))
    figure.suptitle("top losses: the images the model got most wrong", fontsize=10)
    figure.tight_layout()
    return finish_figure(figure, path)
