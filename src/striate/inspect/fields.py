"""Receptive-field arithmetic, one spatial axis at a time.

A unit's receptive field is described by three numbers, as in Dumoulin and
Visin's "A guide to convolution arithmetic" and Dang Ha The Hien's "A guide to
receptive field arithmetic for convolutional neural networks":

    size   r    how many input pixels the unit sees along the axis
    jump   j    the distance, in input pixels, between neighbouring units
    start  s    the input coordinate of the centre of unit 0

Coordinates are pixel indices: input pixel ``i`` has its centre at ``i`` (the
guide puts it at ``i + 0.5``; subtract 0.5 from its starts to compare). Unit
``k`` of a layer is centred at ``start + k * jump`` and sees the pixels
``centre - (size - 1) / 2 .. centre + (size - 1) / 2``, which may extend past
the image where the network pads.

A layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d``:

    k_eff     = d * (k - 1) + 1
    r_out     = r_in + (k_eff - 1) * j_in
    j_out     = j_in * s
    start_out = start_in + ((k_eff - 1) / 2 - p) * j_in

>>> Field.input().through(3, 1, 0).through(3, 1, 0).through(3, 1, 0).size
7
"""

import math
from dataclasses import dataclass


def _tidy(value: float) -> float | int:
    """Integers stay integers (sizes and starts are usually whole pixels)."""
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class Field:
    """The receptive field along one axis (see the module docstring)."""

    size: float
    jump: float
    start: float

    @staticmethod
    def input() -> "Field":
        return Field(1, 1, 0)

    @property
    def low(self) -> float:
        """Input coordinate of the first pixel unit 0 sees."""
        return self.start - (self.size - 1) / 2

    def high(self, units: int = 1) -> float:
        """Input coordinate of the last pixel that the last of ``units`` units sees."""
        return self.start + (units - 1) * self.jump + (self.size - 1) / 2

    def through(self, kernel: int, stride: int, padding: float, dilation: int = 1) -> "Field":
        """The field after a convolution or pooling window."""
        effective = dilation * (kernel - 1) + 1
        return Field(_tidy(self.size + (effective - 1) * self.jump), _tidy(self.jump * stride),
                     _tidy(self.start + ((effective - 1) / 2 - padding) * self.jump))

    def through_transposed(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> "Field":
        """The field after a transposed convolution: each output unit reads about ceil(k_eff / s) inputs."""
        effective = dilation * (kernel - 1) + 1
        reads = math.ceil(effective / stride)
        return Field(_tidy(self.size + (reads - 1) * self.jump), _tidy(self.jump / stride),
                     _tidy(self.start + self.jump * (2 * padding - effective + 1) / (2 * stride)))

    def whole(self, units: int) -> "Field":
        """The field of a unit that sees all ``units`` units of this layer (global pooling, flatten)."""
        low, high = self.low, self.high(units)
        return Field(_tidy(high - low + 1), _tidy(self.jump * units), _tidy((low + high) / 2))

    def rescaled(self, in_units: int, out_units: int) -> "Field":
        """Fallback for an unknown resampling op: same field, jump scaled by the size ratio."""
        return Field(self.size, _tidy(self.jump * in_units / out_units), self.start)


def union(fields: list[Field]) -> Field:
    """The field of a unit that combines units at the same position from several paths
    (a residual sum, an Inception concatenation): the smallest interval holding all of them."""
    if len(fields) == 1:
        return fields[0]
    low = min(f.low for f in fields)
    high = max(f.high() for f in fields)
    return Field(_tidy(high - low + 1), _tidy(max(f.jump for f in fields)), _tidy((low + high) / 2))


@dataclass(frozen=True)
class Field2d:
    """Fields along height and width."""

    height: Field
    width: Field
    spatial: bool = True  # False once flattened: every later unit sees the whole field

    @staticmethod
    def input() -> "Field2d":
        return Field2d(Field.input(), Field.input())


def union2d(fields: list[Field2d]) -> Field2d:
    return Field2d(union([f.height for f in fields]), union([f.width for f in fields]),
                   all(f.spatial for f in fields))
