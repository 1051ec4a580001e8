"""Receptive fields for the pictures: the inspector's figures when it is installed, and a small
fallback for sequential convolution/pooling chains when it is not.

Convention: ``(size, jump, start)`` where ``size`` is the side of the receptive field in input
pixels, ``jump`` the distance in input pixels between neighbouring output positions, and
``start`` the centre of output position 0 in input pixel coordinates (pixel ``i`` is centred
at ``i``). Output position ``y`` then sees input rows ``start + y*jump - (size-1)/2`` up to
``start + y*jump + (size-1)/2`` (Dumoulin and Visin 2016; Araujo et al. 2019).
"""

from torch import nn

from striate.errors import ModelError, did_you_mean

# layers that keep the spatial geometry (element-wise or per-channel)
_GEOMETRY_NEUTRAL = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.GELU, nn.BatchNorm2d, nn.Dropout,
                     nn.Dropout2d, nn.Identity, nn.LocalResponseNorm)


def _pair(value) -> int:
    value = value[0] if isinstance(value, tuple) else value
    return int(value)


def _step(module: nn.Module, size: float, jump: float, start: float):
    kernel = _pair(module.kernel_size)
    stride = _pair(module.stride if module.stride is not None else module.kernel_size)
    padding = _pair(module.padding)
    dilation = _pair(getattr(module, "dilation", 1))
    effective = dilation * (kernel - 1) + 1
    return size + (effective - 1) * jump, jump * stride, start + ((effective - 1) / 2 - padding) * jump


def sequential_receptive_field(model: nn.Module, layer_name: str) -> tuple[int, int, float]:
    """Receptive field of ``layer_name``'s output for a model whose leaf modules run in
    definition order (LeNet, AlexNet, VGG); raises ModelError for anything else."""
    modules = dict(model.named_modules())
    if layer_name not in modules:
        raise ModelError(f"no layer named '{layer_name}'{did_you_mean(layer_name, modules)}")
    stop_at = _last_leaf(modules[layer_name], layer_name)
    size, jump, start = 1.0, 1.0, 0.0
    for name, module in model.named_modules():
        if list(module.children()):
            continue
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            size, jump, start = _step(module, size, jump, start)
        elif not isinstance(module, _GEOMETRY_NEUTRAL):
            raise ModelError(f"cannot follow the receptive field through '{name}' ({type(module).__name__}); "
                             "choose a convolution or pooling layer before it")
        if name == stop_at:
            return int(size), int(jump), start
    raise ModelError(f"'{layer_name}' has no spatial output whose receptive field can be followed")


def _last_leaf(module: nn.Module, prefix: str) -> str:
    """The name of the last leaf module inside ``module`` (``prefix`` itself when it is a leaf)."""
    leaves = [f"{prefix}.{name}" for name, child in module.named_modules() if name and not list(child.children())]
    return leaves[-1] if leaves else prefix


def receptive_field(model: nn.Module, layer_name: str, input_shape) -> tuple[int, int, float]:
    """``(size, jump, start)`` of ``layer_name``: from :mod:`striate.inspect` when it provides
    ``receptive_field``, else from :func:`sequential_receptive_field`."""
    try:
        from striate.inspect import receptive_field as inspect_receptive_field
    except ImportError:
        return sequential_receptive_field(model, layer_name)
    size, jump, start = inspect_receptive_field(model, layer_name, tuple(input_shape))
    return int(size), int(jump), float(start)


def window(size: int, jump: int, start: float, position: int) -> tuple[int, int]:
    """The input rows (or columns) ``[first, last + 1)`` seen by output ``position``, unclipped."""
    first = round(start + position * jump - (size - 1) / 2)
    return first, first + size
