"""Pointwise and across-channel layers: ReLU and local response normalisation (LRN).

LRN in the AlexNet form (Krizhevsky, Sutskever and Hinton 2012, section 3.3):

    y[c] = x[c] / (k + alpha * sum over j in N(c) of x[j]^2) ^ beta

where N(c) are the ``size`` channels around c (clipped at the edges). Note that alpha
is NOT divided by ``size`` here; PyTorch's ``LocalResponseNorm`` divides it.
With S[c] = k + alpha * sum_{j in N(c)} x[j]^2, the backward is

    dx[j] = dy[j] * S[j]^-beta  -  2 * alpha * beta * x[j] * sum over c with j in N(c) of dy[c] * x[c] * S[c]^(-beta-1)

>>> import numpy as np
>>> relu_forward(np.array([-1.0, 2.0]))[0]
array([0., 2.])
"""

import numpy as np


def relu_forward(x):
    """y = max(0, x)."""
    return np.maximum(x, 0.0), x > 0


def relu_backward(dy, cache):
    """The gradient passes where the input was positive and stops elsewhere."""
    return dy * cache


def _neighbour_sum(values, size: int):
    """sum over j in N(c) of values[:, j]: channels c - size//2 .. c + (size-1)//2, clipped at the edges."""
    channels = values.shape[1]
    total = np.zeros_like(values)
    for c in range(channels):
        low, high = max(0, c - size // 2), min(channels, c + (size - 1) // 2 + 1)
        total[:, c] = values[:, low:high].sum(axis=1)
    return total


def _neighbour_sum_transposed(values, size: int):
    """sum over c with j in N(c) of values[:, c]: the window seen from the other side."""
    channels = values.shape[1]
    total = np.zeros_like(values)
    for j in range(channels):
        low, high = max(0, j - (size - 1) // 2), min(channels, j + size // 2 + 1)
        total[:, j] = values[:, low:high].sum(axis=1)
    return total


def lrn_forward(x, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
    """x: N x C x H x W -> (y, cache), AlexNet's across-channel normalisation (defaults from the paper)."""
    scale = k + alpha * _neighbour_sum(x**2, size)  # S
    y = x * scale**-beta
    return y, (x, scale, size, alpha, beta)


def lrn_backward(dy, cache):
    x, scale, size, alpha, beta = cache
    through_others = _neighbour_sum_transposed(dy * x * scale ** (-beta - 1), size)
    return dy * scale**-beta - 2 * alpha * beta * x * through_others
