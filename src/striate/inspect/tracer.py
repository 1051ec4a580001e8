"""Follow receptive fields through a forward pass, through every path.

A :class:`FieldTracer` is a ``TorchFunctionMode``: it sees every torch
function the network calls (``conv2d``, ``max_pool2d``, ``cat``, ``add``,
``view``, ...), modules or not, and attaches a :class:`Field2d` to each tensor
it produces. Convolutions and pooling windows apply the receptive-field
arithmetic; functions that keep the spatial size (activations, normalisation,
residual sums, concatenations) take the union of their inputs' fields, so
branches and skip connections are followed; functions that drop the spatial
axes (flatten, linear, global pooling) give a field covering every input unit.
"""

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from striate.inspect.fields import Field, Field2d, union2d
from striate.layers.local import locally_connected2d


def _pair(value) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value) if len(value) == 2 else (value[0], value[0])
    return (value, value)


def _argument(args, kwargs, index: int, name: str, default):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _tensors(value):
    """Every tensor inside nested lists, tuples and dicts."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _window(field: Field2d, kernel, stride, padding, dilation=1) -> Field2d:
    kernel, stride, padding, dilation = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    return Field2d(field.height.through(kernel[0], stride[0], padding[0], dilation[0]),
                   field.width.through(kernel[1], stride[1], padding[1], dilation[1]))


def _conv(field, args, kwargs) -> Field2d:
    weight = _argument(args, kwargs, 1, "weight", None)
    kernel = tuple(weight.shape[-2:])
    dilation = _pair(_argument(args, kwargs, 5, "dilation", 1))
    padding = _argument(args, kwargs, 4, "padding", 0)
    if padding == "valid":
        padding = 0
    elif padding == "same":
        padding = tuple(d * (k - 1) / 2 for k, d in zip(kernel, dilation))
    return _window(field, kernel, _argument(args, kwargs, 3, "stride", 1), padding, dilation)


def _conv_transposed(field, args, kwargs) -> Field2d:
    weight = _argument(args, kwargs, 1, "weight", None)
    kernel = tuple(weight.shape[-2:])
    stride = _pair(_argument(args, kwargs, 3, "stride", 1))
    padding = _pair(_argument(args, kwargs, 4, "padding", 0))
    dilation = _pair(_argument(args, kwargs, 7, "dilation", 1))
    return Field2d(field.height.through_transposed(kernel[0], stride[0], padding[0], dilation[0]),
                   field.width.through_transposed(kernel[1], stride[1], padding[1], dilation[1]))


def _locally_connected(field, args, kwargs) -> Field2d:
    """Unshared weights, same windows: the field of a convolution with the same kernel, stride and padding."""
    return _window(field, _argument(args, kwargs, 3, "kernel_size", 1), _argument(args, kwargs, 4, "stride", 1),
                   _argument(args, kwargs, 5, "padding", 0))


def _pool(field, args, kwargs, has_dilation: bool) -> Field2d:
    kernel = _argument(args, kwargs, 1, "kernel_size", 1)
    stride = _argument(args, kwargs, 2, "stride", None) or kernel
    dilation = _argument(args, kwargs, 4, "dilation", 1) if has_dilation else 1
    return _window(field, kernel, stride, _argument(args, kwargs, 3, "padding", 0), dilation)


def _pad(field, args, kwargs) -> Field2d:
    pads = list(_argument(args, kwargs, 1, "pad", ())) + [0, 0, 0, 0]
    left, top = pads[0], pads[2]  # F.pad lists the last axis (width) first
    return Field2d(Field(field.height.size, field.height.jump, field.height.start - top * field.height.jump),
                   Field(field.width.size, field.width.jump, field.width.start - left * field.width.jump))


def _adaptive(field, source: torch.Tensor, args, kwargs) -> Field2d:
    """Adaptive pooling: a window of about ceil(in / out) units every in // out units."""
    out = _argument(args, kwargs, 1, "output_size", 1)
    out = tuple(s if o is None else o for o, s in zip(_pair(out), source.shape[-2:]))
    axes = []
    for axis, units, outputs in zip((field.height, field.width), source.shape[-2:], out):
        if outputs == 1:
            axes.append(axis.whole(units))
        else:
            axes.append(axis.through(-(-units // outputs), max(units // outputs, 1), 0))
    return Field2d(*axes)


_WINDOW_RULES = {
    F.conv2d: _conv,
    F.conv_transpose2d: _conv_transposed,
    locally_connected2d: _locally_connected,
    F.pad: _pad,
}
_POOL_RULES = {F.max_pool2d: True, F.avg_pool2d: False}
_ADAPTIVE = (F.adaptive_avg_pool2d, F.adaptive_max_pool2d)


def _generic(fields: list[Field2d], source: torch.Tensor, output: torch.Tensor) -> Field2d:
    """Any other function: same spatial size -> union; spatial axes gone or 1x1 -> whole; else rescale."""
    combined = union2d(fields)
    if not combined.spatial or source.dim() < 3:
        return combined
    in_h, in_w = source.shape[-2:]
    if output.dim() >= 3 and tuple(output.shape[-2:]) == (in_h, in_w):
        return combined
    whole = Field2d(combined.height.whole(in_h), combined.width.whole(in_w), spatial=output.dim() >= 3)
    if output.dim() < 3 or tuple(output.shape[-2:]) == (1, 1):
        return whole
    out_h, out_w = output.shape[-2:]
    return Field2d(combined.height.rescaled(in_h, out_h), combined.width.rescaled(in_w, out_w))


class FieldTracer(TorchFunctionMode):
    """Attach a receptive field to every tensor computed from the traced input.

    >>> with FieldTracer() as tracer:                       # doctest: +SKIP
    ...     images = tracer.track_input(torch.zeros(1, 3, 32, 32))
    ...     output = model(images)
    >>> tracer.field_of(output).height.size                 # doctest: +SKIP
    """

    def __init__(self):
        super().__init__()
        self._fields: dict[int, tuple[torch.Tensor, Field2d]] = {}

    def track_input(self, images: torch.Tensor) -> torch.Tensor:
        self._set(images, Field2d.input())
        return images

    def field_of(self, tensor: torch.Tensor) -> Field2d | None:
        entry = self._fields.get(id(tensor))
        return entry[1] if entry and entry[0] is tensor else None

    def _set(self, tensor: torch.Tensor, field: Field2d) -> None:
        self._fields[id(tensor)] = (tensor, field)  # the tensor is kept so that its id stays unique

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        sources = [t for t in _tensors((args, kwargs)) if self.field_of(t) is not None]
        if not sources:
            return output
        field = self._rule(func, sources, args, kwargs, output)
        for tensor in _tensors(output):
            if tensor.is_floating_point():
                self._set(tensor, field(tensor) if callable(field) else field)
        return output

    def _rule(self, func, sources, args, kwargs, output):
        first = self.field_of(sources[0])
        if first.spatial and sources[0] is _argument(args, kwargs, 0, "input", None):
            if func in _WINDOW_RULES:
                return _WINDOW_RULES[func](first, args, kwargs)
            if func in _POOL_RULES:
                return _pool(first, args, kwargs, _POOL_RULES[func])
            if func in _ADAPTIVE:
                return _adaptive(first, sources[0], args, kwargs)
        fields = [self.field_of(t) for t in sources]
        return lambda tensor: _generic(fields, sources[0], tensor)
