"""Patch whitening as a layer: a convolution whose filters are fixed, not learned, and decorrelate the
input's small patches.

Whitened patches make the first layer's job easy (Coates and Ng 2011 learn features on ZCA-whitened
patches); the CIFAR-10 speed runs start their networks with a 2x2 convolution whose filters are the
principal components of the training images' 2x2 patches, each divided by the square root of its
eigenvalue, in two signs so that an activation after it passes both halves (Page 2018, "How to train
your ResNet"; Jordan 2024, airbench). The filters are measured on the training split before training
(:func:`striate.data.preprocess.patch_whitening`, which the run session calls through
``striate.session.prepare.init_from_data``) and kept out of the optimizer (``requires_grad`` off, the bias too:
it only centres the patches). Being a ``nn.Conv2d``, the layer counts, prints, exports and shows its filters as any other.

>>> layer = PatchWhitening(3, kernel_size=2)
>>> layer.out_channels, layer.weight.requires_grad
(24, False)
"""

import torch
from torch import nn


class PatchWhitening(nn.Conv2d):
    """``2 * in_channels * kernel_size**2`` fixed filters: the whitening components and their negatives."""

    def __init__(self, in_channels: int, kernel_size: int = 2, epsilon: float = 5e-4):
        components = in_channels * kernel_size * kernel_size
        super().__init__(in_channels, 2 * components, kernel_size, bias=True)
        self.epsilon = epsilon  # added to the patch covariance's eigenvalues (input units squared)
        # fixed, bias included (it centres the patches): nothing before the next layer needs a gradient, so its
        # backward pass skips the gradient of its input, a sixth of a small network's work
        self.weight.requires_grad_(False)
        self.bias.requires_grad_(False)

    @torch.no_grad()
    def load_whitening(self, filters: torch.Tensor, mean: torch.Tensor) -> None:
        """Set the filters from ``filters`` (components x C x k x k: the rows of a whitening matrix) and the
        bias so that the mean patch ``mean`` (C*k*k) maps to zero."""
        weight = torch.cat([filters, -filters]).to(self.weight)
        self.weight.copy_(weight)
        self.bias.copy_(-(weight.flatten(1) @ mean.to(weight)))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, fixed whitening filters, epsilon={self.epsilon:g}"
