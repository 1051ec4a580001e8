"""Images from bytes, arrays, PIL images and files: the decoding that the Predictor and the web app share."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from striate.data.images import (ImageTooLargeError, NotAnImageError, array_to_image, as_image, decode_image,
                                 load_image)
from striate.errors import DataError


def encoded(array: np.ndarray, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format)
    return buffer.getvalue()


@pytest.fixture
def grey() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 10), dtype=np.uint8)


def test_every_kind_of_input_gives_the_same_pixels(grey, tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(encoded(grey))
    np.save(tmp_path / "image.npy", grey)
    expected = torch.from_numpy(grey).unsqueeze(0)
    for item in (path, str(path), tmp_path / "image.npy", grey, torch.from_numpy(grey), Image.fromarray(grey),
                 encoded(grey), grey[:, :, None], grey.astype(np.float32) / 255):
        image = as_image(item, channels=1)
        assert image.dtype == torch.uint8 and torch.equal(image, expected), type(item)


def test_channels_are_converted_both_ways(grey):
    rgb = array_to_image(grey, channels=3)
    assert rgb.shape == (3, 12, 10) and torch.equal(rgb[2], torch.from_numpy(grey))
    colour = np.stack([grey, np.zeros_like(grey), np.full_like(grey, 255)], axis=-1)
    back = decode_image(encoded(colour), channels=1)
    assert back.shape == (1, 12, 10)
    assert 0 < int(back.float().mean()) < 255


def test_pixel_limit_refuses_before_decoding():
    data = encoded(np.zeros((300, 300), dtype=np.uint8))
    with pytest.raises(ImageTooLargeError, match="90,000 pixels; the limit is 50,000"):
        decode_image(data, channels=1, max_pixels=50_000)
    assert decode_image(data, channels=1, max_pixels=90_000).shape == (1, 300, 300)


def test_truncated_and_foreign_data_are_refused(grey):
    jpeg = encoded(grey, "JPEG")
    with pytest.raises(DataError, match="truncated or corrupt"):
        decode_image(jpeg[: len(jpeg) // 2], channels=1)
    with pytest.raises(NotAnImageError, match="not a decodable image"):
        decode_image(b"GIF89 but not really" * 3, channels=1)
    # PostScript is a format Pillow knows but hands to Ghostscript: never decoded from outside data.
    with pytest.raises(NotAnImageError):
        decode_image(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", channels=1)


def test_bad_arrays_and_objects_say_what_was_expected(tmp_path):
    with pytest.raises(DataError, match="expected an image array"):
        array_to_image(np.zeros((2, 3, 4, 5)), channels=1)
    with pytest.raises(DataError, match="NaN"):
        array_to_image(np.full((4, 4), np.nan), channels=1)
    with pytest.raises(DataError, match="give a path, a NumPy array"):
        as_image(42, channels=1)
    (tmp_path / "fake.png").write_text("hello")
    with pytest.raises(DataError, match="cannot decode"):
        load_image(tmp_path / "fake.png", channels=1)
