"""convnet4: the comparison network; one argument changes one thing."""

import torch
from torch import nn

from striate.models import create_model


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_by_hand():
    # conv 3->32, 32->32, 32->64 (5x5, with bias), then 64 x 4 x 4 features -> 10 classes
    expected = (3 * 25 * 32 + 32) + (32 * 25 * 32 + 32) + (32 * 25 * 64 + 64) + (64 * 4 * 4 * 10 + 10)
    assert _count(create_model("convnet4")) == expected


def test_batch_norm_dropout_and_activation_are_arguments():
    plain = create_model("convnet4", widths=[8, 8, 16])
    varied = create_model("convnet4", widths=[8, 8, 16], activation="tanh", batch_norm=True, dropout_rate=0.5)
    kinds = lambda model: [type(m) for m in model.features]  # noqa: E731
    assert nn.BatchNorm2d not in kinds(plain) and kinds(varied).count(nn.BatchNorm2d) == 3
    assert nn.Dropout not in kinds(plain) and nn.Dropout in kinds(varied)
    assert kinds(plain).count(nn.ReLU) == 3 and kinds(varied).count(nn.Tanh) == 3
    assert varied(torch.randn(2, 3, 32, 32)).shape == (2, 10)
