"""Summary rows: shapes, parameters, multiply-accumulates and activation memory against hand values."""

import pytest
import torch
from torch import nn

from striate.errors import ModelError
from striate.inspect import summary
from striate.models import create_model


def test_lenet5_rows_shapes_params_and_macs_by_hand():
    table = summary(create_model("lenet5"), (1, 32, 32))
    rows = {row.name: row for row in table.rows}
    assert rows["features.conv1"].output_shape == (6, 28, 28)
    assert rows["features.pool2"].output_shape == (16, 5, 5)
    assert [rows[n].params for n in ("features.conv1", "features.conv2", "features.conv3", "features.fc4", "head")] == \
        [156, 2416, 48120, 10164, 850]
    # MACs = output units x inputs per unit: 28*28*6*25, 10*10*16*(6*25), 1*1*120*(16*25), 84*120, 10*84
    assert rows["features.conv1"].macs == 117_600
    assert rows["features.conv2"].macs == 240_000
    assert rows["features.conv3"].macs == 48_000
    assert rows["features.fc4"].macs == 10_080
    assert rows["head"].macs == 840
    assert table.total_macs == 416_520
    assert table.total_params == 61_706
    assert rows["features.conv1"].activation_bytes == 6 * 28 * 28 * 4


def test_grouped_and_transposed_convolutions_count_macs():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), nn.ConvTranspose2d(8, 2, 2, stride=2))
    rows = summary(model, (4, 6, 6)).rows
    assert rows[0].macs == 4 * 4 * 8 * (2 * 9)
    assert rows[1].output_shape == (2, 8, 8)
    assert rows[1].macs == 4 * 4 * 8 * (2 * 4)  # every input unit meets every kernel tap once


def test_summary_on_the_meta_device_allocates_nothing():
    with torch.device("meta"):
        model = create_model("lenet5")
    table = summary(model, (1, 32, 32))
    assert table.total_params == 61_706
    assert table.rows[-1].output_shape == (10,)


def test_impossible_input_raises_model_error():
    with pytest.raises(ModelError, match="cannot run on a 1x8x8 input"):
        summary(nn.Sequential(nn.Conv2d(1, 1, 5), nn.Conv2d(1, 1, 5)), (1, 8, 8))


def test_bad_input_shape_is_explained():
    with pytest.raises(ModelError, match="channels x height x width"):
        summary(nn.Conv2d(1, 1, 3), (32, 32))


def test_to_dict_has_rows_and_totals():
    data = summary(create_model("mlp"), (1, 28, 28)).to_dict()
    assert data["totals"]["params"] == sum(row["params"] for row in data["rows"])
    assert data["rows"][0]["output_shape"] == [784]


def test_a_module_called_twice_adds_up_its_work():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    row = summary(Twice(), (2, 4, 4)).row("conv")
    assert row.calls == 2
    assert row.macs == 2 * (4 * 4 * 2 * 2 * 9)
    assert row.rf_size == 5  # the last call's field


@pytest.mark.parametrize("name", [n for n in __import__("striate").list_models("classification")])
def test_summary_runs_on_every_registered_model(name):
    """On the meta device: totals agree with the model, the fields grow along the main path."""
    import inspect as python_inspect

    from striate.models import get_builder

    defaults = {k: p.default for k, p in python_inspect.signature(get_builder(name)).parameters.items()}
    shape = (defaults["in_channels"], defaults["input_size"], defaults["input_size"])
    with torch.device("meta"):
        model = create_model(name)
    table = summary(model, shape)
    assert table.total_params == sum(p.numel() for p in model.parameters())
    assert table.output_shape == (defaults["num_classes"],)
    assert table.total_macs > 0
    sizes = [row.rf_size for row in table.rows if row.name.startswith("features.") and row.name.count(".") == 1]
    assert sizes == sorted(sizes) and sizes[-1] > 1
