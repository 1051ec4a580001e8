"""Tensors -> small JSON pictures for the page: feature-map grids, vectors and filters.

Every picture is ``{"shape": [count, (channels,) height, width], "data": base64 of uint8 values,
"min": float, "max": float}``; the page paints the bytes into canvases. Values are scaled
0..255 over the whole layer (so strong and weak maps can be compared), or per filter for
filters (each filter's own pattern matters, not its scale).
"""

import base64

import torch
import torch.nn.functional as F
from torch import nn

MAX_MAPS = 64  # feature maps or filters drawn per layer
MAX_SIDE = 48  # larger maps are averaged down to this side
MAX_VECTOR = 1024  # longest vector drawn
MAX_LAYERS = 32  # deep networks (a ResNet-152 has hundreds of leaves) show this many, spread evenly


def drawn_layers(names: list[str], limit: int = MAX_LAYERS) -> list[str]:
    """At most ``limit`` of ``names``, evenly spread, always with the first and the last.

    >>> drawn_layers([f"l{i}" for i in range(10)], 4)
    ['l0', 'l3', 'l6', 'l9']
    """
    if len(names) <= limit:
        return list(names)
    step = (len(names) - 1) / (limit - 1)
    return [names[round(index * step)] for index in range(limit)]


def _encode(values: torch.Tensor, low: float, high: float) -> dict:
    scaled = (values.float() - low) / max(high - low, 1e-12)
    data = scaled.mul(255).round().clamp(0, 255).to(torch.uint8).contiguous().numpy().tobytes()
    return {"shape": list(values.shape), "data": base64.b64encode(data).decode("ascii"), "min": low, "max": high}


def layer_picture(name: str, output: torch.Tensor) -> dict:
    """One layer's output for one image (``C x H x W`` maps or a vector) as a picture record."""
    output = output.detach().float().cpu()
    record = {"name": name, "output_shape": list(output.shape)}
    if output.dim() == 3 and output.shape[1] * output.shape[2] > 1:  # C x 1 x 1 maps read better as a vector
        maps = output[:MAX_MAPS]
        if max(maps.shape[-2:]) > MAX_SIDE:
            maps = F.adaptive_avg_pool2d(maps.unsqueeze(0), MAX_SIDE)[0]
        record.update(kind="maps", **_encode(maps, float(maps.min()), float(maps.max())))
    else:
        vector = output.flatten()[:MAX_VECTOR]
        record.update(kind="vector", **_encode(vector.unsqueeze(0).unsqueeze(0), float(vector.min()), float(vector.max())))
    return record


def input_picture(image: torch.Tensor) -> dict:
    """The normalised network input ``C x H x W``: grey or colour, scaled to its own range."""
    image = image.detach().float().cpu()
    kind = "colour" if image.shape[0] == 3 else "maps"
    return {"name": "input", "output_shape": list(image.shape), "kind": kind,
            **_encode(image.unsqueeze(0) if kind == "colour" else image, float(image.min()), float(image.max()))}


def first_layer_filters(model: nn.Module, input_shape) -> dict | None:
    """The first layer's weights as pictures: a Conv2d's kernels, or a Linear layer's rows seen as
    images when it reads the whole flattened input (an MLP's "templates"). None if neither comes first."""
    channels, height, width = input_shape
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            weights = module.weight.detach()[:MAX_MAPS]
            break
        if isinstance(module, nn.Linear):
            if module.in_features != channels * height * width:
                return None
            weights = module.weight.detach()[:MAX_MAPS].reshape(-1, channels, height, width)
            break
    else:
        return None
    if weights.shape[1] not in (1, 3):  # grey or colour only; other widths are shown by their mean
        weights = weights.mean(1, keepdim=True)
    low = weights.flatten(1).min(1).values.view(-1, 1, 1, 1)
    high = weights.flatten(1).max(1).values.view(-1, 1, 1, 1)
    scaled = (weights - low) / (high - low).clamp_min(1e-12)  # each filter on its own 0..1 scale
    kind = "colour" if weights.shape[1] == 3 else "maps"
    pictures = scaled if kind == "colour" else scaled[:, 0]
    return {"name": name, "kind": kind, "output_shape": list(module.weight.shape), **_encode(pictures, 0.0, 1.0),
            "min": float(weights.min()), "max": float(weights.max())}
