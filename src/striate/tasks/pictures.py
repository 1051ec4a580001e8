"""Pictures of a task model's predictions on held-out images (matplotlib's Agg backend, imported here):
predicted against true keypoints, segmentation overlays, reconstruction grids.

>>> draw_keypoints(images, predicted, true, "keypoints.png")   # doctest: +SKIP
"""

import io
from pathlib import Path

import torch

from striate.files import atomic_write_bytes

COLUMNS = 8


def _figure(rows: int, columns: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.6 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    return plt, figure, axes


def _save(plt, figure, path: Path) -> Path:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _show(axis, image: torch.Tensor) -> None:
    """``C x H x W`` in 0..1 -> shown in grey (one channel) or colour."""
    if image.shape[0] == 1:
        axis.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())


def draw_keypoints(images: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor, path) -> Path:
    """Images ``N x C x H x W`` (0..1) with true points (green circles) and predicted ones (red crosses);
    points are ``N x K x 2`` pixel coordinates, NaN where missing."""
    plt, figure, axes = _figure(1, min(len(images), COLUMNS))
    for index, axis in enumerate(axes.flat):
        _show(axis, images[index])
        axis.scatter(true[index, :, 0], true[index, :, 1], s=30, facecolors="none", edgecolors="lime")
        axis.scatter(predicted[index, :, 0], predicted[index, :, 1], s=25, c="red", marker="x")
    return _save(plt, figure, Path(path))


def draw_overlays(images: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor, num_classes: int, path) -> Path:
    """Rows: the image, the true mask over it, the predicted mask over it (class 0 left clear)."""
    import numpy as np

    plt, figure, axes = _figure(3, min(len(images), COLUMNS))
    colours = plt.get_cmap("tab20", max(num_classes, 2))
    for index in range(axes.shape[1]):
        for row, mask in enumerate((None, true[index], predicted[index])):
            _show(axes[row, index], images[index])
            if mask is not None:
                mask = mask.numpy()
                shown = np.ma.masked_where((mask == 0) | (mask >= num_classes), mask)
                axes[row, index].imshow(shown, cmap=colours, vmin=0, vmax=max(num_classes - 1, 1), alpha=0.6,
                                        interpolation="nearest")
    for row, title in enumerate(("image", "true", "predicted")):
        axes[row, 0].set_title(title, fontsize=8, loc="left")
    return _save(plt, figure, Path(path))


def overlay_colours(image: torch.Tensor, mask: torch.Tensor, num_classes: int, alpha: float = 0.6):
    """An ``H x W x 3`` uint8 picture: ``image`` (``C x H x W``, 0..1) with each class of ``mask`` but class 0
    (background) blended in its colour, the colours of the training pictures (matplotlib's tab20)."""
    import matplotlib
    import numpy as np

    base = image.clamp(0, 1).expand(3, -1, -1).permute(1, 2, 0).numpy() if image.shape[0] == 1 else \
        image.clamp(0, 1).permute(1, 2, 0).numpy()
    colours = matplotlib.colormaps["tab20"].resampled(max(num_classes, 2))(np.arange(max(num_classes, 2)))[:, :3]
    labels = mask.numpy().astype(np.int64)
    shown = (labels > 0) & (labels < num_classes)
    blended = base.copy()
    blended[shown] = (1 - alpha) * base[shown] + alpha * colours[labels[shown]]
    return (blended * 255).round().astype(np.uint8)


def draw_reconstructions(images: torch.Tensor, reconstructions: torch.Tensor, path) -> Path:
    """Two rows: originals above, their reconstructions below."""
    plt, figure, axes = _figure(2, min(len(images), COLUMNS))
    for index in range(axes.shape[1]):
        _show(axes[0, index], images[index])
        _show(axes[1, index], reconstructions[index])
    return _save(plt, figure, Path(path))


@torch.no_grad()
def first_predictions(model, loader) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first (unshuffled) batch of ``loader``, up to COLUMNS images: the images in 0..1, the model's
    outputs and the targets, on the CPU."""
    was_training = model.training
    model.eval()
    inputs, targets = next(iter(loader))
    outputs = model(inputs[:COLUMNS]).float().cpu()
    model.train(was_training)
    index = torch.arange(min(len(inputs), COLUMNS))
    images = loader.images[index].float().div(255).cpu()  # the first batch is unshuffled for evaluation
    return images, outputs, targets[:COLUMNS].cpu()
