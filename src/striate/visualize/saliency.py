"""Where the network looks, for one image: gradient saliency (Simonyan, Vedaldi and Zisserman
2014: the largest absolute input gradient of the class score over the colour channels) and
Grad-CAM (Selvaraju et al. 2017: the layer's maps weighted by their spatially averaged
gradients, summed, ReLU, upsampled), both overlaid on the image.

>>> plot_saliency(model, image, "features.conv2", "saliency.png", mean=[0.13], std=[0.31])   # doctest: +SKIP
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.models import tap_outputs
from striate.visualize.figure import finish_figure, new_figure, show_image, to_display


def _single(image: torch.Tensor) -> torch.Tensor:
    return (image.unsqueeze(0) if image.ndim == 3 else image[:1]).detach().float()


def gradient_saliency(model: nn.Module, image: torch.Tensor, target: int | None = None) -> tuple[torch.Tensor, int]:
    """``H x W`` map of max over channels of |d score_target / d image| and the class used
    (the predicted one when ``target`` is None)."""
    batch = _single(image).requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        scores = model(batch)
        target = int(scores.argmax(dim=1)) if target is None else int(target)
        (gradient,) = torch.autograd.grad(scores[0, target], batch)
    finally:
        model.train(was_training)
    return gradient[0].abs().amax(dim=0), target


def grad_cam(model: nn.Module, image: torch.Tensor, layer: str, target: int | None = None) -> tuple[torch.Tensor, int]:
    """``H x W`` Grad-CAM map of ``layer`` (upsampled to the image, in 0..1) and the class used."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ModelError(f"no layer named '{layer}'{did_you_mean(layer, modules)}")
    batch = _single(image)
    captured: dict[str, torch.Tensor] = {}
    handle = modules[layer].register_forward_hook(lambda _m, _i, output: captured.__setitem__("maps", output))
    was_training = model.training
    model.eval()
    try:
        scores = model(batch)
        target = int(scores.argmax(dim=1)) if target is None else int(target)
        maps = captured["maps"]
        if maps.ndim != 4:
            raise ModelError(f"Grad-CAM needs a layer with channel maps; '{layer}' gives {tuple(maps.shape)}")
        (gradient,) = torch.autograd.grad(scores[0, target], maps)
    finally:
        handle.remove()
        model.train(was_training)
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # alpha_k: averaged gradient per channel
    cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=batch.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return cam / cam.max() if cam.max() > 0 else cam, target


def default_cam_layer(model: nn.Module, image: torch.Tensor) -> str:
    """The module that runs last among those whose output is still a stack of maps with more
    than one position: the block output after the last convolution's activation, pooling or
    skip connection, the layer Grad-CAM is usually computed on."""
    names = [name for name, _ in model.named_modules() if name]
    was_training = model.training
    model.eval()
    try:
        outputs = tap_outputs(model, _single(image), names)  # in the order the modules ran
    finally:
        model.train(was_training)
    spatial = [name for name, output in outputs.items() if isinstance(output, torch.Tensor) and output.ndim == 4
               and output.shape[-1] * output.shape[-2] > 1]
    if not spatial:
        raise ModelError(f"{type(model).__name__} has no layer with channel maps; Grad-CAM needs one")
    return spatial[-1]


def plot_saliency(model: nn.Module, image: torch.Tensor, layer: str | None = None, path: str | Path | None = None,
                  mean=None, std=None, class_names: list[str] | None = None, target: int | None = None):
    """Image, gradient saliency and Grad-CAM of ``layer`` (default: :func:`default_cam_layer`)
    side by side, the maps overlaid; the PNG's path, or the Figure when ``path`` is None."""
    layer = layer or default_cam_layer(model, image)
    saliency, used = gradient_saliency(model, image, target)
    cam, _ = grad_cam(model, image, layer, used)
    shown = to_display(_single(image)[0], mean, std)
    name = class_names[used] if class_names else str(used)
    figure, axes = new_figure(3, 1, width=9.5, height=3.6)
    show_image(axes[0, 0], shown, title="image")
    show_image(axes[0, 1], shown, title=f"gradient saliency for '{name}'")
    saliency = saliency / saliency.max() if saliency.max() > 0 else saliency
    axes[0, 1].imshow(saliency.numpy(), cmap="hot", alpha=0.6, interpolation="nearest")
    show_image(axes[0, 2], shown, title=f"Grad-CAM on {layer}")
    axes[0, 2].imshow(cam.numpy(), cmap="jet", alpha=0.45, interpolation="bilinear")
    figure.tight_layout()
    return finish_figure(figure, path)
