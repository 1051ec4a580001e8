"""Top activating patches: really the top activations, cropped where the receptive field says,
found in one streaming pass."""

import pytest
import torch
from torch import nn
from visualize_helpers import TinyCNN, decode_png

from striate.errors import ModelError
from striate.models import tap_outputs
from striate.visualize.receptive import receptive_field, window
from striate.visualize.top_patches import plot_top_patches, top_activating_patches


def _batches(images, size):
    return [(images[i : i + size], torch.arange(i, min(i + size, len(images))) % 10) for i in range(0, len(images), size)]


@pytest.fixture
def model_and_images():
    torch.manual_seed(0)
    return TinyCNN(input_size=12).eval(), torch.randn(37, 1, 12, 12)


def test_values_and_images_are_the_true_top_k(model_and_images):
    model, images = model_and_images
    channels = [0, 2, 5]
    found = top_activating_patches(model, _batches(images, 8), "features.conv2", channels, k=9)
    maps = tap_outputs(model, images, ["features.conv2"])["features.conv2"][:, channels].flatten(2)
    per_image = maps.max(dim=2).values  # N x channels: each image's strongest position
    expected = per_image.t().topk(9, dim=1)
    assert torch.allclose(found.values, expected.values, atol=1e-5)
    assert torch.equal(found.image_indices, expected.indices)
    assert found.patches.shape[:2] == (3, 9)


def test_result_does_not_depend_on_batch_size(model_and_images):
    model, images = model_and_images
    small = top_activating_patches(model, _batches(images, 3), "features.conv1", [1, 3], k=5)
    large = top_activating_patches(model, _batches(images, 64), "features.conv1", [1, 3], k=5)
    assert torch.equal(small.image_indices, large.image_indices)
    assert torch.allclose(small.patches.nan_to_num(7.0), large.patches.nan_to_num(7.0))


def test_a_single_streaming_pass_over_a_generator(model_and_images):
    model, images = model_and_images
    consumed = []

    def stream():
        for batch in _batches(images, 10):
            consumed.append(len(batch[0]))
            yield batch

    found = top_activating_patches(model, stream(), "features.conv2", [0], k=4)
    assert sum(consumed) == len(images)  # every image seen exactly once
    assert found.values.shape == (1, 4)  # the state is k entries per channel, whatever the data size


def test_patches_are_the_receptive_field_crops(model_and_images):
    model, images = model_and_images
    found = top_activating_patches(model, _batches(images, 16), "features.conv2", [0, 1, 2, 3], k=9)
    size, jump, start = found.receptive_field
    assert (size, jump) == (8, 2)  # conv3 (3) -> pool2 (4, jump 2) -> conv3 (4 + 2*2 = 8)
    for channel in range(4):
        for slot in range(9):
            image = images[int(found.image_indices[channel, slot])]
            row, column = found.positions[channel, slot].tolist()
            top, bottom = window(size, jump, start, row)
            left, right = window(size, jump, start, column)
            patch = found.patches[channel, slot]
            inside = patch[:, max(0, -top) : size - max(0, bottom - 12), max(0, -left) : size - max(0, right - 12)]
            assert torch.equal(inside, image[:, max(0, top) : bottom, max(0, left) : right])
            assert torch.isnan(patch).sum() == patch.numel() - inside.numel()  # NaN exactly outside the image


class LinearChain(nn.Module):
    """No nonlinearity, so every pixel of the receptive field changes the output."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, stride=1, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(2, 3, 3, stride=2, padding=0)

    def forward(self, images):
        return self.conv2(self.pool(self.conv1(images)))


def test_receptive_field_is_exactly_the_pixels_that_matter():
    torch.manual_seed(1)
    model = LinearChain().eval()
    size, jump, start = receptive_field(model, "conv2", (1, 24, 24))
    image = torch.randn(1, 1, 24, 24)
    base = model(image)
    row, column = 2, 3
    top, bottom = window(size, jump, start, row)
    left, right = window(size, jump, start, column)
    assert 0 <= top and bottom <= 24 and 0 <= left and right <= 24

    def changed(y, x):
        poked = image.clone()
        poked[0, 0, y, x] += 10.0
        return not torch.allclose(model(poked)[0, :, row, column], base[0, :, row, column], atol=1e-5)

    for y, x in [(top, left), (top, right - 1), (bottom - 1, left), (bottom - 1, right - 1)]:
        assert changed(y, x), f"pixel {(y, x)} on the receptive field's corner should matter"
    for y, x in [(top - 1, left), (bottom, left), (top, left - 1), (top, right)]:
        assert not changed(y, x), f"pixel {(y, x)} just outside the receptive field should not matter"


def test_bad_channel_and_vector_layer_raise(model_and_images):
    model, images = model_and_images
    with pytest.raises(ModelError, match="channels 0..7"):
        top_activating_patches(model, _batches(images, 8), "features.conv2", [8])
    with pytest.raises(ModelError, match="not channel maps"):
        top_activating_patches(model, _batches(images, 8), "features.flatten", [0])


def test_picture_is_written_and_decodes(model_and_images, tmp_path):
    model, images = model_and_images
    found = top_activating_patches(model, _batches(images, 8), "features.conv2", [0, 1, 2], k=9)
    path = plot_top_patches(found, tmp_path / "patches.png", mean=[0.5], std=[0.25], class_names=list("0123456789"))
    width, height = decode_png(path)
    assert width > 200 and height > 200


def test_colour_patches_and_border_patches_draw(tmp_path):
    torch.manual_seed(2)
    model = TinyCNN(in_channels=3, input_size=8).eval()
    images = torch.randn(20, 3, 8, 8)
    found = top_activating_patches(model, _batches(images, 8), "features.conv2", [0, 1], k=4)
    assert found.patches.shape == (2, 4, 3, 8, 8)
    assert bool(torch.isnan(found.patches).any())  # an 8x8 field on an 8x8 image pokes out at the border
    decode_png(plot_top_patches(found, tmp_path / "rgb.png", mean=[0.5] * 3, std=[0.2] * 3))
    decode_png(plot_top_patches(found, tmp_path / "stretched.png"))  # without the normalisation: stretched
