"""Every building block by name, for Python and for YAML network specs.

``make_layer(kind, in_shape, **options)`` builds one block for an input of shape
``in_shape`` (C, H, W for images, (F,) once flattened), checking the shapes first so
that an impossible layer fails with a message that names it:

    conv            out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=true,
                    dropconnect=0 (rate of dropped weights in training, see layers/dropconnect.py)
    locally_connected  out_channels, kernel_size, stride=1, padding=0, bias=true  (unshared weights,
                    see layers/local.py; the input size comes from the shape)
    conv_transpose  out_channels, kernel_size, stride=1, padding=0, output_padding=0, dilation=1, groups=1
    maxpool         kernel_size, stride=kernel_size, padding=0, dilation=1, ceil_mode=false
    avgpool         kernel_size, stride=kernel_size, padding=0, ceil_mode=false
    global_avgpool  (average over the whole map: C x 1 x 1)
    global_maxpool
    relu, leaky_relu (negative_slope), sigmoid, tanh, elu, gelu, identity
    maxout          pieces
    lrn             size=5, alpha=1e-4, beta=0.75, k=2   (AlexNet form, see layers/lrn.py)
    batchnorm       eps, momentum (2d on maps, 1d on vectors)
    dropout         rate
    flatten
    linear          out_features, bias=true, dropconnect=0   (also 'fc')
    softmax

>>> make_layer("conv", (3, 32, 32), out_channels=16, kernel_size=3, padding=1)
Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
"""

from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.layers.activations import ACTIVATIONS, Maxout, make_activation
from striate.layers.dropconnect import DropConnectConv2d, DropConnectLinear, check_rate
from striate.layers.local import LocallyConnected2d
from striate.layers.lrn import LocalResponseNorm


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _need_map(name: str, kind: str, in_shape: tuple) -> None:
    if len(in_shape) != 3:
        raise ModelError(f"{name}: {kind} needs a channels x height x width input, got shape {tuple(in_shape)}; "
                         "move it before the flatten")


def check_window(name: str, in_shape: tuple, kernel_size, stride, padding, dilation=1) -> None:
    """Raise if a window (convolution or pooling) cannot slide over the input at least once.

    The output side is (W - F_eff + 2P) / S + 1 with F_eff = D (F - 1) + 1; it must be at least 1.
    """
    height, width = in_shape[1:]
    for side, kernel, pad, dil in zip((height, width), _pair(kernel_size), _pair(padding), _pair(dilation)):
        effective = dil * (kernel - 1) + 1
        if effective > side + 2 * pad:
            padded = f" ({side + 2 * pad} with padding {pad})" if pad else ""
            raise ModelError(f"{name}: kernel {effective if dil > 1 else kernel} is larger than its "
                             f"{height}x{width} input{padded}; use a smaller kernel, more padding, or a larger "
                             "input (fewer poolings before it)")


def _conv(name, in_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
          dropconnect=0):
    _need_map(name, "conv", in_shape)
    if in_shape[0] % groups or out_channels % groups:
        raise ModelError(f"{name}: groups={groups} must divide both the input channels ({in_shape[0]}) "
                         f"and out_channels ({out_channels})")
    check_window(name, in_shape, kernel_size, stride, padding, dilation)
    if check_rate(dropconnect, f"{name}: dropconnect"):
        return DropConnectConv2d(in_shape[0], out_channels, kernel_size, stride, padding, dilation, groups, bias,
                                 rate=dropconnect)
    return nn.Conv2d(in_shape[0], out_channels, kernel_size, stride, padding, dilation, groups, bias)


def _locally_connected(name, in_shape, out_channels, kernel_size, stride=1, padding=0, bias=True):
    _need_map(name, "locally_connected", in_shape)
    check_window(name, in_shape, kernel_size, stride, padding)
    return LocallyConnected2d(in_shape[0], out_channels, kernel_size, in_shape[1:], stride, padding, bias)


def _conv_transpose(name, in_shape, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                    dilation=1, groups=1, bias=True):
    _need_map(name, "conv_transpose", in_shape)
    return nn.ConvTranspose2d(in_shape[0], out_channels, kernel_size, stride, padding, output_padding, groups,
                              bias, dilation)


def _pool(cls, kind):
    def build(name, in_shape, kernel_size, stride=None, padding=0, ceil_mode=False, **options):
        _need_map(name, kind, in_shape)
        if any(2 * p > k for p, k in zip(_pair(padding), _pair(kernel_size))):
            raise ModelError(f"{name}: padding {padding} is more than half the kernel {kernel_size}; "
                             "pooling pads at most kernel_size // 2")
        check_window(name, in_shape, kernel_size, stride or kernel_size, padding, options.get("dilation", 1))
        return cls(kernel_size, stride, padding, ceil_mode=ceil_mode, **options)
    return build


def _global(cls, kind):
    def build(name, in_shape):
        _need_map(name, kind, in_shape)
        return cls(1)
    return build


def _linear(name, in_shape, out_features, bias=True, dropconnect=0):
    if len(in_shape) != 1:
        raise ModelError(f"{name}: linear needs a flat input, got shape {tuple(in_shape)}; "
                         "put a 'flatten' (or a global pooling and a flatten) before it")
    if check_rate(dropconnect, f"{name}: dropconnect"):
        return DropConnectLinear(in_shape[0], out_features, bias, rate=dropconnect)
    return nn.Linear(in_shape[0], out_features, bias)


def _batchnorm(name, in_shape, eps=1e-5, momentum=0.1):
    cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return cls(in_shape[0], eps=eps, momentum=momentum)


def _simple(factory):
    return lambda name, in_shape, **options: factory(**options)


LAYERS = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "locally_connected": _locally_connected,
    "maxpool": _pool(nn.MaxPool2d, "maxpool"),
    "avgpool": _pool(nn.AvgPool2d, "avgpool"),
    "global_avgpool": _global(nn.AdaptiveAvgPool2d, "global_avgpool"),
    "global_maxpool": _global(nn.AdaptiveMaxPool2d, "global_maxpool"),
    "maxout": _simple(Maxout),
    "lrn": _simple(LocalResponseNorm),
    "batchnorm": _batchnorm,
    "dropout": lambda name, in_shape, rate=0.5: nn.Dropout(rate),
    "flatten": _simple(nn.Flatten),
    "linear": _linear,
    "fc": _linear,
    "softmax": lambda name, in_shape, dim=1: nn.Softmax(dim=dim),
    **{kind: (lambda name, in_shape, _kind=kind, **options: make_activation(_kind, **options)) for kind in ACTIVATIONS},
}


def layer_names() -> list[str]:
    return sorted(LAYERS)


def make_layer(kind: str, in_shape: tuple, name: str | None = None, **options) -> nn.Module:
    """Build the block ``kind`` for inputs of shape ``in_shape`` (no batch axis)."""
    name = name or kind
    if kind not in LAYERS:
        raise ModelError(f"{name}: unknown layer type '{kind}'{did_you_mean(kind, LAYERS)}; "
                         f"expected one of {layer_names()}")
    try:
        return LAYERS[kind](name, tuple(in_shape), **options)
    except TypeError as error:
        raise ModelError(f"{name}: bad options for '{kind}' {options}: {error}") from None
