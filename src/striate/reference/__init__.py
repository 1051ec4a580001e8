"""Glass-box NumPy versions of the core layers: forward and backward written from the formulas.

Each layer is a pair ``*_forward(...) -> (output, cache)`` and ``*_backward(grad_output, cache)``.
They are readable first and fast second, and serve as test oracles for the PyTorch layers.

>>> import numpy as np
>>> from striate.reference import relu_forward, relu_backward
>>> y, cache = relu_forward(np.array([-1.0, 3.0]))
>>> relu_backward(np.ones(2), cache)
array([0., 1.])
"""

from striate.reference.activations import lrn_backward, lrn_forward, relu_backward, relu_forward
from striate.reference.conv import conv2d_backward, conv2d_forward
from striate.reference.linear import (
    linear_backward,
    linear_forward,
    softmax_logloss_backward,
    softmax_logloss_forward,
)
from striate.reference.local import locally_connected2d_backward, locally_connected2d_forward
from striate.reference.pooling import avgpool2d_backward, avgpool2d_forward, maxpool2d_backward, maxpool2d_forward

__all__ = [
    "avgpool2d_backward",
    "avgpool2d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "linear_backward",
    "linear_forward",
    "locally_connected2d_backward",
    "locally_connected2d_forward",
    "lrn_backward",
    "lrn_forward",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "relu_backward",
    "relu_forward",
    "softmax_logloss_backward",
    "softmax_logloss_forward",
]
