"""Learned filters and feature maps: the numbers drawn are the weights and activations."""

import pytest
import torch
from torch import nn
from visualize_helpers import TinyCNN, decode_png

from striate.errors import ModelError
from striate.models import create_model, tap_outputs
from striate.visualize.feature_maps import mosaic, plot_feature_maps
from striate.visualize.filters import find_conv, kernel_tiles, plot_filters


def test_kernel_tiles_are_each_kernel_stretched_to_0_1():
    weight = torch.randn(6, 1, 5, 5)
    tiles = kernel_tiles(weight)
    assert tiles.shape == (6, 5, 5)
    for index in range(6):
        w = weight[index, 0]
        assert torch.allclose(torch.from_numpy(tiles[index]), (w - w.min()) / (w.max() - w.min()), atol=1e-6)


def test_colour_kernels_keep_their_rgb_channels():
    weight = torch.randn(96, 3, 11, 11)
    tiles = kernel_tiles(weight)
    assert tiles.shape == (96, 11, 11, 3)
    w = weight[7]
    expected = ((w - w.min()) / (w.max() - w.min())).permute(1, 2, 0)
    assert torch.allclose(torch.from_numpy(tiles[7]), expected, atol=1e-6)


def test_find_conv_defaults_to_the_first_and_names_unknown_layers():
    model = create_model("lenet5")
    assert find_conv(model, None)[0] == "features.conv1"
    with pytest.raises(ModelError, match="did you mean 'features.conv2'"):
        find_conv(model, "features.conv22")
    with pytest.raises(ModelError, match="no convolution layer"):
        find_conv(create_model("mlp"), None)


@pytest.mark.parametrize("layer", [None, "features.conv2"])
def test_filter_pictures_decode(tmp_path, layer):
    width, height = decode_png(plot_filters(create_model("lenet5"), tmp_path / "f.png", layer=layer))
    assert width > 100 and height > 100


def test_colour_first_layer_picture_decodes(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 96, 11, stride=4))
    width, height = decode_png(plot_filters(model, tmp_path / "alexnet-like.png"))
    assert width > 400 and height > 300


def test_mosaic_places_each_channel_in_its_cell():
    maps = torch.randn(5, 3, 4)
    canvas = mosaic(maps, columns=2, gap=1)
    assert canvas.shape == (3 * 3 + 2, 2 * 4 + 1)
    for index in range(5):
        row, column = divmod(index, 2)
        cell = torch.from_numpy(canvas[row * 4 : row * 4 + 3, column * 5 : column * 5 + 4])
        m = maps[index]
        assert torch.allclose(cell.float(), (m - m.min()) / (m.max() - m.min()), atol=1e-6)
    assert (canvas[3, :] == 1).all()  # the gap row


def test_feature_maps_picture_decodes(tmp_path):
    torch.manual_seed(0)
    model = TinyCNN(input_size=8)
    image = torch.randn(1, 8, 8)
    outputs = tap_outputs(model, image[None], model.feature_taps() + ["features.flatten"])
    assert outputs["features.conv1"].shape == (1, 4, 8, 8)
    path = plot_feature_maps(model, image, model.feature_taps() + ["features.flatten"], tmp_path / "maps.png")
    width, height = decode_png(path)
    assert width > 300 and height > 300


def test_feature_maps_unknown_layer_raises(tmp_path):
    with pytest.raises(ModelError, match="no layer named"):
        plot_feature_maps(TinyCNN(), torch.randn(1, 8, 8), ["features.conv9"], tmp_path / "maps.png")
    assert not (tmp_path / "maps.png").exists()
