"""Example data sets written to disk, for trying the tasks here and now:

* MNIST digits placed on a larger canvas, with a mask giving each pixel its class (background or the
  digit 0-9): image/mask folders for segmentation (``striate data make-mnist-canvas``).
* Grey images with drawn dots whose positions are the targets, in the Kaggle facial-keypoints CSV
  layout (``striate data make-keypoint-dots``): a left eye, a right eye and a nose, sometimes missing.
"""

import csv
import io
from pathlib import Path

import numpy as np

from striate.data import load_source
from striate.errors import DataError
from striate.files import atomic_write_bytes

DIGIT_THRESHOLD = 96  # a canvas pixel belongs to a digit where the digit's ink is at least this (0..255)
KEYPOINT_NAMES = ["left_eye_center", "right_eye_center", "nose_tip"]


def _mnist_digits(data_dir) -> tuple[np.ndarray, np.ndarray]:
    """MNIST training digits (28 x 28 uint8) and labels: from ``data_dir`` (IDX files), else the built-in mnist5k."""
    source = "idx" if data_dir else "mnist5k"
    part = load_source(source, str(data_dir) if data_dir else None)["train"]
    return part.images[:, 0].numpy(), part.labels.numpy()


def _write_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, format="PNG")


def place_digits(digits: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator, count: int):
    """One canvas ``size x size`` with ``count`` digits at random places; mask: 0 background, 1 + digit."""
    canvas = np.zeros((size, size), np.uint8)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(count):
        pick = rng.integers(len(digits))
        top, left = rng.integers(0, size - 27, size=2)
        ink = digits[pick]
        window = (slice(top, top + 28), slice(left, left + 28))
        canvas[window] = np.maximum(canvas[window], ink)
        mask[window][ink >= DIGIT_THRESHOLD] = 1 + labels[pick]
    return canvas, mask


def make_mnist_canvas(out_dir, count: int = 4000, size: int = 48, max_digits: int = 2, data_dir=None,
                      seed: int = 0) -> Path:
    """Write ``out_dir/images/*.png``, ``out_dir/masks/*.png`` (class indices) and ``classes.txt``."""
    if size < 28:
        raise DataError(f"the canvas must be at least 28 pixels to hold a digit, got {size}")
    out = Path(out_dir)
    digits, labels = _mnist_digits(data_dir)
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        canvas, mask = place_digits(digits, labels, size, rng, int(rng.integers(1, max_digits + 1)))
        _write_png(out / "images" / f"{index:05d}.png", canvas)
        _write_png(out / "masks" / f"{index:05d}.png", mask)
    (out / "classes.txt").write_text("\n".join(["background"] + [f"digit{d}" for d in range(10)]) + "\n")
    return out


def draw_dots(points: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy grey image with a bright Gaussian dot (sigma 1.2 px) at each (x, y); NaN points are drawn
    too (the image keeps its content), only their targets are missing."""
    ys, xs = np.mgrid[0:size, 0:size]
    image = rng.normal(40, 12, (size, size))
    for brightness, (x, y) in zip((220, 180, 140), points):
        image += brightness * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.2 ** 2))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_keypoint_dots(out_file, count: int = 1000, size: int = 32, missing_rate: float = 0.1, seed: int = 0) -> Path:
    """Write a facial-keypoints-layout CSV: three dots a face-like layout (eyes up, nose below), with the
    nose's target left empty in ``missing_rate`` of the rows."""
    rng = np.random.default_rng(seed)
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"{name}_{axis}" for name in KEYPOINT_NAMES for axis in "xy"] + ["Image"])
    margin = size / 8
    for _ in range(count):
        # the subject's left eye is on the image's right, as in the Kaggle data
        right = rng.uniform([margin, margin], [size / 2 - 2, size / 2])
        left = rng.uniform([size / 2 + 2, margin], [size - margin, size / 2])
        nose = rng.uniform([size / 3, size / 2 + 2], [2 * size / 3, size - margin])
        points = np.stack([left, right, nose])
        image = draw_dots(points, size, rng)
        values = [f"{v:.2f}" for v in points.flatten()]
        if rng.random() < missing_rate:
            values[4:6] = ["", ""]
        writer.writerow(values + [" ".join(map(str, image.flatten()))])

    atomic_write_bytes(out, buffer.getvalue().encode())
    return out


