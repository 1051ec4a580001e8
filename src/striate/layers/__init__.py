"""Building blocks torch.nn lacks or that the classics define differently, blocks by name,
and initialisation schemes by name.

>>> from striate.layers import LocalResponseNorm, Maxout, make_layer, init_weights   # doctest: +SKIP
"""

from striate.layers.activations import ACTIVATIONS, Maxout, make_activation
from striate.layers.blocks import check_window, layer_names, make_layer
from striate.layers.init import init_names, init_weights
from striate.layers.lrn import LocalResponseNorm

__all__ = ["ACTIVATIONS", "LocalResponseNorm", "Maxout", "check_window", "init_names", "init_weights",
           "layer_names", "make_activation", "make_layer"]
