"""Building blocks torch.nn lacks or that the classics define differently (LRN, Maxout, the
locally connected layer, DropConnect, max-unpooling with the pooling switches), blocks by name, and
initialisation schemes by name.

>>> from striate.layers import LocalResponseNorm, Maxout, make_layer, init_weights   # doctest: +SKIP
"""

from striate.layers.activations import ACTIVATIONS, Maxout, make_activation
from striate.layers.blocks import check_window, layer_names, make_layer
from striate.layers.dropconnect import DropConnectConv2d, DropConnectLinear
from striate.layers.init import init_names, init_weights
from striate.layers.local import LocallyConnected2d, locally_connected2d
from striate.layers.lrn import LocalResponseNorm
from striate.layers.unpool import MaxUnpool, SwitchMaxPool2d
from striate.layers.whitening import PatchWhitening

__all__ = ["ACTIVATIONS", "DropConnectConv2d", "DropConnectLinear", "LocalResponseNorm", "LocallyConnected2d",
           "MaxUnpool", "Maxout", "PatchWhitening", "SwitchMaxPool2d", "check_window", "init_names", "init_weights", "layer_names",
           "locally_connected2d", "make_activation", "make_layer"]
