"""Receptive fields for the pictures, from the inspector (:mod:`striate.inspect`).

Convention (the inspector's): ``(size, jump, start)`` where ``size`` is the side of the receptive
field in input pixels, ``jump`` the distance in input pixels between neighbouring output positions,
and ``start`` the centre of output position 0 (input pixel ``i`` is centred at ``i``). Output
position ``y`` sees input rows ``start + y*jump - (size-1)/2`` to ``start + y*jump + (size-1)/2``.
Images and kernels are square in striate, so one axis describes both.
"""

from torch import nn

from striate.errors import ModelError
from striate.inspect import receptive_field as inspect_receptive_field


def receptive_field(model: nn.Module, layer_name: str, input_shape) -> tuple[int, int, float]:
    """``(size, jump, start)`` of ``layer_name``'s output units for inputs of ``input_shape`` (C, H, W)."""
    size, jump, start = inspect_receptive_field(model, layer_name, tuple(input_shape))
    if size is None or jump is None:
        raise ModelError(f"layer '{layer_name}' has no spatial receptive field; choose a convolution or pooling layer")
    return int(round(size)), int(round(jump)), float(start)


def window(size: int, jump: int, start: float, position: int) -> tuple[int, int]:
    """The input rows (or columns) ``[first, last + 1)`` seen by output ``position``, unclipped."""
    first = round(start + position * jump - (size - 1) / 2)
    return first, first + size
