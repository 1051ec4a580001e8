"""Max-unpooling with the pooling switches: values return to where the maxima were, zeros elsewhere."""

import pytest
import torch
from torch import nn

from striate.layers import MaxUnpool, SwitchMaxPool2d


def test_unpool_restores_the_maxima_at_their_switch_positions():
    x = torch.tensor([[1., 5., 2., 0.],
                      [3., 4., 7., 6.],
                      [9., 0., 1., 1.],
                      [2., 8., 3., 4.]]).view(1, 1, 4, 4)
    pool = SwitchMaxPool2d(2)
    unpool = MaxUnpool(pool)
    pooled = pool(x)
    assert torch.equal(pooled, torch.tensor([[5., 7.], [9., 4.]]).view(1, 1, 2, 2))
    expected = torch.tensor([[0., 5., 0., 0.],
                             [0., 0., 7., 0.],
                             [9., 0., 0., 0.],
                             [0., 0., 0., 4.]]).view(1, 1, 4, 4)
    assert torch.equal(unpool(pooled), expected)
    # whatever comes back through the decoder goes to the switch positions, not to the maxima's values
    assert torch.equal(unpool(torch.full((1, 1, 2, 2), -1.0)), -(expected != 0).float())


def test_unpool_matches_torch_on_random_maps_in_a_sequential():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 10)  # odd side: the unpool restores the pool's input size, not 2 x the output
    pool = SwitchMaxPool2d(2)
    net = nn.Sequential(pool, nn.Identity(), MaxUnpool(pool))
    out = net(x)
    assert out.shape == x.shape
    kept = out != 0
    assert torch.equal(out[kept], x[kept])  # restored exactly where the switches point
    assert kept.view(2, 3, -1).sum(-1).eq(4 * 5).all()  # one value per pooling window, zeros elsewhere
    reference, indices = nn.functional.max_pool2d(x, 2, return_indices=True)
    assert torch.equal(out, nn.functional.max_unpool2d(reference, indices, 2, output_size=x.shape[-2:]))


def test_unpool_is_not_a_second_copy_of_its_pool_and_checks_its_input():
    pool = SwitchMaxPool2d(2)
    unpool = MaxUnpool(pool)
    assert list(unpool.children()) == [unpool.unpool]
    with pytest.raises(RuntimeError, match="before its pool"):
        unpool(torch.zeros(1, 1, 2, 2))
    pool(torch.zeros(1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="does not match"):
        unpool(torch.zeros(1, 2, 2, 2))
    with pytest.raises(TypeError):
        MaxUnpool(nn.MaxPool2d(2))
