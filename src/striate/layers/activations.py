"""Activations by name, and Maxout (Goodfellow et al. 2013).

>>> make_activation("leaky_relu")
LeakyReLU(negative_slope=0.01)
"""

import torch
from torch import nn

from striate.errors import ModelError, did_you_mean

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,  # y = max(x, 0.01 x)
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def make_activation(name: str, **kwargs) -> nn.Module:
    """A fresh activation module by name (``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ...)."""
    if name not in ACTIVATIONS:
        raise ModelError(f"unknown activation '{name}'{did_you_mean(name, ACTIVATIONS)}; "
                         f"expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name](**kwargs)


class Maxout(nn.Module):
    """Maxout over groups of ``pieces`` consecutive channels (Goodfellow et al. 2013, eq. 1).

    A (N, C, ...) input gives (N, C / pieces, ...): output channel ``i`` is the maximum of
    input channels ``i * pieces .. i * pieces + pieces - 1``. Put it after a convolution or
    linear layer with ``pieces`` times the wanted width; that layer's units are the ``z_ij``
    of the paper.

    >>> Maxout(2)(torch.tensor([[1.0, 3.0, -2.0, -5.0]]))
    tensor([[ 3., -2.]])
    """

    def __init__(self, pieces: int = 2):
        super().__init__()
        if pieces < 1:
            raise ModelError(f"maxout needs at least 1 piece per unit, got pieces={pieces}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        if channels % self.pieces:
            raise ModelError(f"maxout with {self.pieces} pieces needs a channel count divisible by "
                             f"{self.pieces}, got {channels}; make the layer before it {self.pieces}x wider")
        grouped = x.view(x.shape[0], channels // self.pieces, self.pieces, *x.shape[2:])  # N, C/k, k, ...
        return grouped.amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"
