"""Receptive fields: hand-computed values, branches and skips, and an empirical measurement from gradients."""

import pytest
import torch
from torch import nn

from striate.inspect import receptive_field, summary
from striate.inspect.fields import Field


def stack(*layers):
    return nn.Sequential(*layers)


def test_three_stacked_3x3_convolutions_see_7x7():
    model = stack(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))
    assert [receptive_field(model, name, (1, 16, 16))[0] for name in ("0", "1", "2")] == [3, 5, 7]


def test_dilations_1_2_4_give_3_7_15_as_in_yu_and_koltun():
    model = stack(*[nn.Conv2d(1, 1, 3, padding=d, dilation=d) for d in (1, 2, 4)])
    table = summary(model, (1, 32, 32))
    assert [row.rf_size for row in table.rows] == [3, 7, 15]
    assert [row.rf_jump for row in table.rows] == [1, 1, 1]
    assert [row.rf_start for row in table.rows] == [0, 0, 0]  # 'same' padding keeps unit 0 on pixel 0


def test_stride_and_padding_follow_the_guide():
    model = stack(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1))
    table = summary(model, (1, 16, 16))
    # conv: r=3 j=2 start=0; pool: r=3+1*2=5 j=4 start=0+0.5*2=1; conv: r=5+2*4=13 j=4 start=1+(1-1)*4=1
    assert [(r.rf_size, r.rf_jump, r.rf_start) for r in table.rows] == [(3, 2, 0), (5, 4, 1), (13, 4, 1)]


def test_field_arithmetic_is_symmetric_in_union():
    from striate.inspect.fields import union

    wide, narrow = Field(7, 1, 3), Field(3, 1, 3)
    assert union([wide, narrow]) == union([narrow, wide]) == wide


class Residual(nn.Module):
    """x + body(x): the output field is the union of the skip's and the body's."""

    def __init__(self):
        super().__init__()
        self.body = stack(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class TwoBranches(nn.Module):
    """An Inception-like concatenation of a 1x1 path and a dilated 3x3 path."""

    def __init__(self):
        super().__init__()
        self.narrow = nn.Conv2d(1, 1, 1)
        self.wide = nn.Conv2d(1, 1, 3, padding=3, dilation=3)

    def forward(self, x):
        return torch.cat([self.narrow(x), self.wide(x)], dim=1)


def test_branches_and_skips_take_the_widest_path():
    model = stack(Residual(), TwoBranches(), nn.Conv2d(2, 1, 3, padding=1))
    table = summary(model, (1, 24, 24))
    assert table.row("0").rf_size == 5  # the container's own output: skip (1) and body (5)
    assert table.row("1.wide").rf_size == 5 + 6  # dilated 3x3 adds 2 * 3 pixels
    assert table.row("1").rf_size == 11
    assert table.row("2").rf_size == 13


def measured_field(model, input_side, unit):
    """Size and centre, along height, of the input region whose gradient reaches one output unit."""
    images = torch.rand(1, 1, input_side, input_side, requires_grad=True)
    model(images)[0, 0, unit, unit].backward()
    rows = images.grad[0, 0].abs().sum(dim=1).nonzero().flatten()
    return int(rows.max() - rows.min() + 1), float(rows.max() + rows.min()) / 2


@pytest.mark.parametrize("unit", [4, 5])  # fields well inside the 64x64 image
def test_receptive_field_matches_gradient_measurement(unit):
    model = stack(nn.Conv2d(1, 2, 5, padding=1), nn.ReLU(), nn.AvgPool2d(3, stride=2),
                  nn.Conv2d(2, 2, 3, dilation=2, padding=2), nn.Tanh(), Residual2(),
                  nn.Conv2d(2, 1, 3, stride=2))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(0.1)  # positive weights: no cancellation hides a pixel
    size, jump, start = receptive_field(model, "6", (1, 64, 64))
    measured_size, measured_centre = measured_field(model, 64, unit)
    assert measured_size == size
    assert measured_centre == pytest.approx(start + unit * jump)


class Residual2(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(2, 2, 5, padding=2)

    def forward(self, x):
        identity = x
        out = self.body(x)
        out += identity  # in place, as torchvision's blocks do
        return out


def test_lenet5_fields_by_hand():
    from striate.models import create_model

    model = create_model("lenet5")
    assert receptive_field(model, "features.conv1", (1, 32, 32)) == (5, 1, 2)
    assert receptive_field(model, "features.pool1", (1, 32, 32)) == (6, 2, 2.5)
    assert receptive_field(model, "features.conv2", (1, 32, 32)) == (14, 2, 6.5)
    assert receptive_field(model, "features.conv3", (1, 32, 32)) == (32, 4, 15.5)
    assert receptive_field(model, "head", (1, 32, 32))[0] == 32


def test_unknown_layer_name_suggests_the_nearest():
    from striate.errors import ModelError
    from striate.models import create_model

    with pytest.raises(ModelError, match=r"no layer named .features.conv. \(did you mean"):
        receptive_field(create_model("lenet5"), "features.conv", (1, 32, 32))
