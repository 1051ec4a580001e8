"""The pictures of a run, one function each, for ``striate plot`` and the Python API alike: each takes an
opened run (striate.session.open_run) and a ``path``; with a path it writes the PNG and returns the path,
without one it returns the matplotlib Figure (shown inline in a notebook).

>>> figure = curves(open_run("runs/lenet5-mnist"))                      # doctest: +SKIP
>>> confusion(open_run("runs/lenet5-mnist"), "confusion.png")           # doctest: +SKIP
"""

import torch

from striate.errors import ConfigError, RunError
from striate.tasks import ClassificationTask
from striate.visualize.confusion import plot_confusion, plot_top_losses, top_losses as find_top_losses
from striate.visualize.curves import plot_training_curves, read_step_records
from striate.visualize.feature_maps import plot_feature_maps
from striate.visualize.filters import conv_layers, plot_filters
from striate.visualize.monitors import monitor_series, plot_monitors
from striate.visualize.occlusion import occlusion_map, plot_occlusion
from striate.visualize.projections import plot_deconvnet, plot_guided_backprop, top_projections
from striate.visualize.saliency import plot_saliency
from striate.visualize.top_patches import plot_top_patches, top_activating_patches


def curves(run, path=None):
    """Loss and the task's figure per epoch (training against validation), and the learning rate."""
    history = run.history
    if not history:
        raise RunError(f"{run.root} has no metrics.jsonl: train the run first ('striate train') or give a run directory")
    return plot_training_curves(history, path, read_step_records(run.root) or None, figure=run.task.curve_figure,
                                loss_label=run.task.loss_label)


def monitors(run, path=None):
    """Per-layer monitor statistics over the epochs (a run trained with run.monitor)."""
    table = monitor_series(run.history)
    if not table:
        raise RunError(f"{run.root} recorded no layer monitors; train with the layer monitors switched on")
    return plot_monitors(table, path)


def filters(run, layer: str | None = None, path=None):
    """The first convolution's kernels (or ``layer``'s) as an image grid."""
    return plot_filters(run.model, path, layer)


def feature_maps(run, image: int = 0, layers: list[str] | None = None, path=None):
    """Every channel of ``layers`` (default: the model's feature taps) for test image ``image``."""
    tensor, _ = run.image(image)
    return plot_feature_maps(run.model, tensor, layers, path, display=_display(tensor, run))


def _display(image: torch.Tensor, run) -> torch.Tensor:
    """The normalised image back in 0..1 for display (whitened inputs are shown as they are, stretched)."""
    if run.mean is None:
        return image
    return (image * torch.tensor(run.std).view(-1, 1, 1) + torch.tensor(run.mean).view(-1, 1, 1)).clamp(0, 1)


def _classifier_only(run, picture: str) -> None:
    """Pictures of class scores need a classifier run; say so for the others."""
    if not isinstance(run.task, ClassificationTask):
        raise ConfigError(f"the {picture} picture is for classifier runs; {run.root} is a {run.task.name} run "
                          "(see its curves, filters, feature maps and predictions.png)")


def top_patches(run, layer: str | None = None, channels: list[int] | None = None, path=None):
    """The 9 test patches that activate each chosen channel of ``layer`` (default: the last convolution) most."""
    _classifier_only(run, "top-patches")
    layers = conv_layers(run.model)
    layer = layer or (layers[-1][0] if layers else None)
    if layer is None:
        raise ConfigError("this model has no convolution layer; give --layer with a layer that has channel maps")
    found = top_activating_patches(run.model, run.loader(), layer, channels, k=9, input_shape=run.input_shape)
    return plot_top_patches(found, path, mean=run.mean, std=run.std, class_names=run.class_names)


def _last_conv(run) -> str:
    layers = conv_layers(run.model)
    if not layers:
        raise ConfigError("this model has no convolution layer; give --layer with a layer that has channel maps")
    return layers[-1][0]


def deconvnet(run, layer: str | None = None, channels: list[int] | None = None, path=None):
    """The 9 strongest activations of each chosen channel (default: the first 4) of ``layer`` (default:
    the last convolution) in the test split: the image patches and their deconvnet projections."""
    _classifier_only(run, "deconvnet")
    found = top_projections(run.model, run.loader, layer or _last_conv(run), channels, k=9, input_shape=run.input_shape)
    return plot_deconvnet(found, path, mean=run.mean, std=run.std, class_names=run.class_names)


def guided_backprop(run, image: int = 0, layer: str | None = None, channels: list[int] | None = None, path=None):
    """Guided backpropagation for test image ``image``: of the predicted class's score, or with ``layer``
    of each of ``channels`` (default: the 4 most active on the image) at its maximal activation."""
    _classifier_only(run, "guided-backprop")
    if channels is not None and layer is None:
        raise ConfigError("guided backpropagation of channels needs the layer they belong to (--layer)")
    tensor, _ = run.image(image)
    return plot_guided_backprop(run.model, tensor, path, mean=run.mean, std=run.std, class_names=run.class_names,
                                layer=layer, channels=channels)


def occlusion(run, image: int = 0, size: int | None = None, stride: int | None = None, path=None):
    """Occlusion sensitivity of test image ``image`` for its true class: a square of the normalised mean
    (``size`` pixels, default a quarter of the side) slid with ``stride`` (default a quarter of the size)."""
    _classifier_only(run, "occlusion")
    tensor, label = run.image(image)
    found = occlusion_map(run.model, tensor, label, size, stride)
    return plot_occlusion(found, tensor, path, mean=run.mean, std=run.std, class_names=run.class_names)


def saliency(run, image: int = 0, layer: str | None = None, path=None):
    """Gradient saliency and Grad-CAM (at ``layer``) for test image ``image``."""
    _classifier_only(run, "saliency")
    tensor, _ = run.image(image)
    return plot_saliency(run.model, tensor, layer, path, mean=run.mean, std=run.std, class_names=run.class_names)


def confusion(run, path=None, figures: dict | None = None):
    """The confusion matrix of the test split (the figures of ``run.evaluate()``), counts and row-normalised."""
    _classifier_only(run, "confusion")
    figures = figures if figures is not None else run.evaluate()
    return plot_confusion(figures["confusion"], run.class_names, path)


def top_losses(run, count: int = 16, path=None):
    """The ``count`` test images with the highest loss, with true and predicted class."""
    _classifier_only(run, "top-losses")
    found = find_top_losses(run.model, run.loader(), k=count)
    return plot_top_losses(found, path, mean=run.mean, std=run.std, class_names=run.class_names)
