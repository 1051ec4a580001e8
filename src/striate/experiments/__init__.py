"""Controlled comparisons: every combination of some config values, several seeds each, one table.

>>> from striate.experiments import compare, parse_variation   # doctest: +SKIP
"""

from striate.experiments.compare import compare
from striate.experiments.grid import Arm, Variation, make_arms, parse_variation

__all__ = ["Arm", "Variation", "compare", "make_arms", "parse_variation"]
