"""Pictures of a task model's predictions on held-out images: predicted against true keypoints,
segmentation overlays, reconstruction grids; and the figure helpers every picture of striate
ends with (here, the lowest part that draws: striate.visualize and striate.diagnose import them,
striate.tasks may import neither; striate.visualize.figure re-exports them).

Every picture function takes ``path=None``: given a path it writes the PNG there (atomically) and
returns the path; without one it returns the matplotlib Figure, which Jupyter shows inline.
matplotlib is imported inside the functions (``import striate`` stays light); figures are drawn by
the Agg renderer on a canvas of their own, never registered with pyplot: no display is needed, no
backend of the caller's (a notebook's) is switched, and nothing is left open in pyplot.

>>> draw_keypoints(images, predicted, true, "keypoints.png")   # doctest: +SKIP
>>> draw_keypoints(images, predicted, true)   # the Figure, for a notebook   # doctest: +SKIP
"""

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from striate.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMNS = 8
DPI = 100  # the resolution of the picture files (and of a figure shown in a notebook)
_INLINE_FIGURE = None
# Font files (lower case, without - and _) that draw the scripts DejaVu Sans lacks (Chinese, Japanese,
# Korean...): Debian's fonts-wqy-microhei, fonts-noto-cjk, fonts-droid-fallback, Adobe's Source Han.
FALLBACK_FONTS = ("wqymicrohei", "wqyzenhei", "notosanscjk", "droidsansfallback", "sourcehansans")
_FALLBACKS_ADDED = False


def add_fallback_fonts() -> list[str]:
    """Make the installed fonts with CJK glyphs fallbacks of matplotlib's font families (after them, so
    Latin text looks as before), so class names in any script are drawn, not empty boxes: matplotlib
    takes a glyph its first font lacks from the next family of ``font.family``.
    Looked up once a process, among the system's fonts (a few milliseconds); returns the families added.
    Without such a font matplotlib warns "Glyph ... missing": install one (``apt-get install
    fonts-wqy-microhei``)."""
    global _FALLBACKS_ADDED
    if _FALLBACKS_ADDED:
        return []
    _FALLBACKS_ADDED = True
    import matplotlib
    from matplotlib import font_manager

    families = []
    for path in font_manager.findSystemFonts():
        name = Path(path).name.lower().replace("-", "").replace("_", "")
        if not name.startswith(FALLBACK_FONTS):
            continue
        try:
            font_manager.fontManager.addfont(path)
            families.append(font_manager.FontProperties(fname=path).get_name())
        except (OSError, RuntimeError, ValueError):  # an unreadable font file: draw without it
            continue
    chosen = list(matplotlib.rcParams["font.family"])
    added = [family for family in dict.fromkeys(families) if family not in chosen]
    if added:
        matplotlib.rcParams["font.family"] = [*chosen, *added]
    return added


def inline_figure_class() -> type:
    """matplotlib's Figure with a ``_repr_png_``, so that Jupyter shows it inline whatever the
    notebook's matplotlib backend (a plain Figure shows only as text unless the inline backend is
    active). Made on first use: matplotlib is imported only when drawing."""
    global _INLINE_FIGURE
    if _INLINE_FIGURE is None:
        from matplotlib.figure import Figure

        class InlineFigure(Figure):
            """A Figure that shows itself in a notebook as a PNG (at DPI, in a tight box)."""

            def _repr_png_(self) -> bytes:
                return figure_png(self, close=False)

        InlineFigure.__module__, InlineFigure.__qualname__ = __name__, "InlineFigure"  # pickle finds it by name
        _INLINE_FIGURE = InlineFigure
    return _INLINE_FIGURE


def __getattr__(name: str):
    if name == "InlineFigure":  # the class inline_figure_class makes, by name (as pickle looks it up)
        return inline_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def blank_figure(width: float = 6.0, height: float = 4.0, **kwargs) -> "Figure":
    """An empty ``width x height`` inch figure on an Agg canvas of its own (not registered with
    pyplot); ``kwargs`` go to matplotlib's Figure (``layout="constrained"``, ``dpi``...)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    add_fallback_fonts()
    figure = inline_figure_class()(figsize=(width, height), **kwargs)
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure, dpi: float = DPI, bbox_inches: str | None = "tight", close: bool = True) -> bytes:
    """The figure as PNG bytes; the figure is closed (released by pyplot, should pyplot hold it)
    unless ``close`` is False."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches=bbox_inches)
    finally:
        if close and "matplotlib.pyplot" in sys.modules:  # a blank_figure is in no pyplot list: nothing to do
            sys.modules["matplotlib.pyplot"].close(figure)
    return buffer.getvalue()


def save_figure(figure, path: str | Path, dpi: float = DPI, bbox_inches: str | None = "tight") -> Path:
    """Write the figure as a PNG file atomically (a crash leaves no half-written file) and close it."""
    path = Path(path)
    atomic_write_bytes(path, figure_png(figure, dpi=dpi, bbox_inches=bbox_inches))
    return path


def finish_figure(figure, path: str | Path | None = None, dpi: float = DPI,
                  bbox_inches: str | None = "tight") -> "Path | Figure":
    """The end of every picture function. With ``path``: write the figure there as a PNG
    (atomically), close it and return the path. With None: return the figure itself, open and
    unwritten, for a notebook to show inline (or for the caller to change and save)."""
    if path is None:
        return figure
    return save_figure(figure, path, dpi=dpi, bbox_inches=bbox_inches)


def _figure(rows: int, columns: int):
    figure = blank_figure(1.6 * columns, 1.6 * rows)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    return figure, axes


def _finish(figure, path):
    figure.tight_layout()
    return finish_figure(figure, path, dpi=80, bbox_inches=None)


def _show(axis, image: torch.Tensor) -> None:
    """``C x H x W`` in 0..1 -> shown in grey (one channel) or colour."""
    if image.shape[0] == 1:
        axis.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        axis.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())


def draw_keypoints(images: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor, path=None):
    """Images ``N x C x H x W`` (0..1) with true points (green circles) and predicted ones (red crosses);
    points are ``N x K x 2`` pixel coordinates, NaN where missing. The PNG's path, or the Figure without one."""
    figure, axes = _figure(1, min(len(images), COLUMNS))
    for index, axis in enumerate(axes.flat):
        _show(axis, images[index])
        axis.scatter(true[index, :, 0], true[index, :, 1], s=30, facecolors="none", edgecolors="lime")
        axis.scatter(predicted[index, :, 0], predicted[index, :, 1], s=25, c="red", marker="x")
    return _finish(figure, path)


def draw_overlays(images: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor, num_classes: int, path=None):
    """Rows: the image, the true mask over it, the predicted mask over it (class 0 left clear); the PNG's
    path, or the Figure without one."""
    import matplotlib
    import numpy as np

    figure, axes = _figure(3, min(len(images), COLUMNS))
    colours = matplotlib.colormaps["tab20"].resampled(max(num_classes, 2))
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
    return _finish(figure, path)


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


def draw_reconstructions(images: torch.Tensor, reconstructions: torch.Tensor, path=None):
    """Two rows: originals above, their reconstructions below; the PNG's path, or the Figure without one."""
    figure, axes = _figure(2, min(len(images), COLUMNS))
    for index in range(axes.shape[1]):
        _show(axes[0, index], images[index])
        _show(axes[1, index], reconstructions[index])
    return _finish(figure, path)


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
