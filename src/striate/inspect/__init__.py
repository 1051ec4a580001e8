"""The inspector: per-layer shapes, parameters, multiply-accumulates, activation memory and
receptive fields (through every path, branches and skips included).

>>> from striate.inspect import summary, receptive_field   # doctest: +SKIP
"""

from striate.inspect.fields import Field, Field2d
from striate.inspect.summary import Row, Summary, count_macs, receptive_field, summary

__all__ = ["Field", "Field2d", "Row", "Summary", "count_macs", "receptive_field", "summary"]
