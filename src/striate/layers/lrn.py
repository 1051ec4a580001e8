"""Local response normalisation in the AlexNet / MatConvNet form.

Krizhevsky, Sutskever and Hinton (2012), section 3.3, and MatConvNet's
``vl_nnnormalize`` define, for channel ``c`` out of ``C``:

    y_c = x_c / (k + alpha * sum_{c' = max(0, c - n/2)}^{min(C-1, c + n/2)} x_c'^2) ^ beta

with n = 5, k = 2, alpha = 1e-4, beta = 0.75 in AlexNet. ``torch.nn.LocalResponseNorm``
writes the same sum with ``alpha / n`` in place of ``alpha`` (Caffe's convention), so

    LocalResponseNorm(size=n, alpha=a, beta=b, k=k)  ==  torch.nn.LocalResponseNorm(n, alpha=a * n, beta=b, k=k)

which is how it is computed here (tests/layers check both the formula and the relation).
"""

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ModelError


class LocalResponseNorm(nn.Module):
    """AlexNet's LRN: ``alpha`` multiplies the plain sum of squares over ``size`` channels.

    >>> lrn = LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)   # AlexNet's values
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__()
        if size < 1:
            raise ModelError(f"LRN needs a window of at least 1 channel, got size={size}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torch divides alpha by the window size; multiply it back to get the AlexNet form
        return F.local_response_norm(x, self.size, alpha=self.alpha * self.size, beta=self.beta, k=self.k)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
