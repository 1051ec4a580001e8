"""LRN and Maxout against direct implementations of their formulas, and by gradient check."""

import pytest
import torch
from torch import nn

from striate.errors import ModelError
from striate.layers import LocalResponseNorm, Maxout


def lrn_by_formula(x, size, alpha, beta, k):
    """y_c = x_c / (k + alpha * sum_{c' = max(0, c - n/2)}^{min(C-1, c + n/2)} x_c'^2)^beta, channel by channel
    (Krizhevsky et al. 2012, section 3.3; torch's window for even n: size//2 before, (size-1)//2 after)."""
    channels = x.shape[1]
    out = torch.empty_like(x)
    for c in range(channels):
        low, high = max(0, c - size // 2), min(channels - 1, c + (size - 1) // 2)
        total = (x[:, low:high + 1] ** 2).sum(dim=1)
        out[:, c] = x[:, c] / (k + alpha * total) ** beta
    return out


@pytest.mark.parametrize("size,alpha,beta,k", [(5, 1e-4, 0.75, 2.0), (3, 0.5, 0.75, 1.0), (4, 0.1, 0.5, 2.0)])
def test_lrn_matches_the_alexnet_formula(size, alpha, beta, k):
    x = torch.randn(2, 7, 3, 3, dtype=torch.float64) * 3
    expected = lrn_by_formula(x, size, alpha, beta, k)
    assert torch.allclose(LocalResponseNorm(size, alpha, beta, k)(x), expected, atol=1e-12)


def test_lrn_is_torch_lrn_with_alpha_times_n():
    x = torch.randn(2, 8, 4, 4)
    ours = LocalResponseNorm(size=5, alpha=1e-2, beta=0.75, k=2.0)(x)
    theirs = nn.LocalResponseNorm(size=5, alpha=5 * 1e-2, beta=0.75, k=2.0)(x)
    same_alpha = nn.LocalResponseNorm(size=5, alpha=1e-2, beta=0.75, k=2.0)(x)
    assert torch.allclose(ours, theirs, atol=1e-6)
    assert not torch.allclose(ours, same_alpha, atol=1e-6)  # the 1/n is a real difference


def test_lrn_passes_gradient_check():
    x = torch.randn(1, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(LocalResponseNorm(5, 0.3, 0.75, 1.0), (x,))


def maxout_by_formula(x, pieces):
    """h_i = max_j z_ij over the pieces of unit i (Goodfellow et al. 2013, eq. 1)."""
    units = x.shape[1] // pieces
    return torch.stack([torch.stack([x[:, i * pieces + j] for j in range(pieces)]).max(dim=0).values
                        for i in range(units)], dim=1)


@pytest.mark.parametrize("shape", [(2, 6, 3, 3), (4, 6)])
def test_maxout_matches_the_formula(shape):
    x = torch.randn(*shape)
    assert torch.equal(Maxout(3)(x), maxout_by_formula(x, 3))
    assert Maxout(3)(x).shape[1] == 2


def test_maxout_passes_gradient_check():
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Maxout(2), (x,))


def test_maxout_channel_count_must_divide():
    with pytest.raises(ModelError, match="divisible by 3"):
        Maxout(3)(torch.zeros(1, 4))
