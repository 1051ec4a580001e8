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


def pillow_pixels(data: bytes, channels: int) -> torch.Tensor:
    """What Pillow alone makes of the bytes: the decoding striate used for every JPEG before simplejpeg."""
    array = np.asarray(Image.open(io.BytesIO(data)).convert("L" if channels == 1 else "RGB"))
    return torch.from_numpy((array[None] if array.ndim == 2 else array.transpose(2, 0, 1)).copy())


def jpeg_of(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def jpeg(array: np.ndarray, **options) -> bytes:
    return jpeg_of(Image.fromarray(array), **options)


@pytest.mark.parametrize("kind", ["colour 4:2:0", "colour 4:4:4", "progressive", "grey", "grey from colour",
                                  "colour from grey", "CMYK", "odd size 1x7"])
def test_jpegs_decode_to_pillows_pixels_on_either_path(kind):
    """Plain JPEGs go through libjpeg-turbo in one call (simplejpeg), the rest through Pillow: either way the
    pixels are Pillow's, bit for bit, so a run trained on a folder predicts the same from `striate serve`."""
    from striate.data import images

    rng = np.random.default_rng(3)
    smooth = np.cumsum(rng.integers(0, 9, (37, 45, 3)), axis=1).clip(0, 255).astype(np.uint8)
    data, channels = {
        "colour 4:2:0": (jpeg(smooth, quality=75), 3),
        "colour 4:4:4": (jpeg(smooth, subsampling=0, quality=95), 3),
        "progressive": (jpeg(smooth, progressive=True), 3),
        "grey": (jpeg(smooth[..., 0]), 1),
        "grey from colour": (jpeg(smooth), 1),
        "colour from grey": (jpeg(smooth[..., 0]), 3),
        "odd size 1x7": (jpeg(smooth[:1, :7]), 3),
        "CMYK": (jpeg_of(Image.fromarray(smooth).convert("CMYK")), 3),
    }[kind]
    fast = images._decode_plain_jpeg(data, channels, images.DEFAULT_MAX_PIXELS, "x")
    took_fast_path = kind in ("colour 4:2:0", "colour 4:4:4", "progressive", "grey", "odd size 1x7")
    assert (fast is not None) == took_fast_path
    decoded = decode_image(data, channels)
    assert decoded.dtype == torch.uint8 and decoded.is_contiguous()
    assert torch.equal(decoded, pillow_pixels(data, channels))


def test_the_jpeg_fast_path_refuses_what_pillow_refuses():
    data = jpeg(np.full((300, 300, 3), 7, dtype=np.uint8))
    with pytest.raises(ImageTooLargeError, match="300x300 = 90,000 pixels; the limit is 50,000"):
        decode_image(data, channels=3, max_pixels=50_000)
    for cut in (len(data) // 2, len(data) - 2, 40):
        with pytest.raises(DataError, match="truncated or corrupt"):
            decode_image(data[:cut], channels=3)


def test_a_pipe_named_like_an_image_is_refused_not_waited_on(tmp_path):
    import os

    from striate.data.images import load_image

    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="image not found: .*digit.png is not a regular file"):
        load_image(fifo, channels=1)
    with pytest.raises(DataError, match="image not found"):
        load_image(tmp_path, channels=1)
