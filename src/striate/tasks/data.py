"""Data for the tasks beyond classification: images with keypoints, image/mask folders, and the
images of any classification source for autoencoders. Everything is read into a :class:`TargetSet`
(uint8 images plus a target tensor), split at random with a fixed seed, and batched by
:class:`TaskLoader`, where one augmentation draw moves images and their masks or keypoints together.

Keypoints: a CSV in the Kaggle facial-keypoints layout (target columns ``name_x, name_y`` and an
``Image`` column of space-separated pixels), or a folder holding images and a CSV whose ``image``
column names each file. Segmentation: a folder with ``images/`` and ``masks/`` (PNG masks of class
indices, same file stems) and optionally ``classes.txt``, one class name a line.
"""

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from striate.data.arrays import read_keypoints_csv
from striate.data.images import IMAGE_SUFFIXES, load_image
from striate.errors import DataError


@dataclass
class TargetSet:
    images: torch.Tensor  # uint8 N x C x H x W
    targets: torch.Tensor  # keypoints: float N x 2K (-1..1, NaN missing); masks: uint8 N x 1 x H x W; else N
    names: list[str] = field(default_factory=list)  # keypoint names or class names

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: torch.Tensor) -> "TargetSet":
        return TargetSet(self.images[indices], self.targets[indices], list(self.names))


def random_splits(data: TargetSet, val_fraction: float, test_fraction: float, seed: int) -> dict[str, TargetSet]:
    """Train / val / test at random (the same ``seed``, the same split); each gets at least one sample."""
    count = len(data)
    if count < 3:
        raise DataError(f"{count} samples cannot be split into train, validation and test; give at least 3")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    test = max(1, round(count * test_fraction))
    val = max(1, round(count * val_fraction))
    return {"test": data.subset(order[:test]), "val": data.subset(order[test:test + val]),
            "train": data.subset(order[test + val:])}


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise DataError(f"{path}: the CSV is empty; expected a header row and one row per image")
    return rows[0], rows[1:]


def _keypoint_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    tables = sorted(folder.glob("*.csv"))
    if len(tables) != 1:
        raise DataError(f"{folder}: expected exactly one CSV (an 'image' column and name_x, name_y columns), "
                        f"found {len(tables)}")
    header, rows = _read_table(tables[0])
    if "Image" in header:  # the Kaggle layout inside a folder
        return read_keypoints_csv(tables[0])
    if "image" not in header:
        raise DataError(f"{tables[0]}: no 'image' column naming the image files; add one (e.g. image,eye_x,eye_y)")
    column = header.index("image")
    names = [name for name in header if name != "image"]
    first = load_image(folder / rows[0][column], 3)
    channels = 1 if bool((first == first[:1]).all()) else 3
    images = np.stack([load_image(folder / row[column], channels).numpy() for row in rows])
    targets = [[float(value) if value.strip() else math.nan for i, value in enumerate(row) if i != column]
               for row in rows]
    return images, np.asarray(targets, dtype=np.float32), names


def point_names(target_names: list[str]) -> list[str]:
    """The keypoint names of the coordinate columns: ``left_eye_x, left_eye_y`` -> ``left_eye``."""
    return [name[:-2] for name in target_names[::2]]


def swap_map(target_names: list[str]) -> list[int]:
    """The keypoint permutation of a left-right flip, from the column names: ``left_eye_center_x`` pairs
    with ``right_eye_center_x`` (keypoints without a left/right partner stay in place).

    >>> swap_map(["left_eye_x", "left_eye_y", "nose_x", "nose_y", "right_eye_x", "right_eye_y"])
    [2, 1, 0]
    """
    points = point_names(target_names)
    index = {name: position for position, name in enumerate(points)}
    mirrored = [name.replace("left", "\0").replace("right", "left").replace("\0", "right") for name in points]
    return [index.get(name, position) for position, name in enumerate(mirrored)]


def read_keypoints(path: str | Path) -> TargetSet:
    """Images and keypoints, the coordinates scaled to -1..1 (pixel ``p`` -> ``p / half - 1``)."""
    path = Path(path or "")
    if path.is_dir():
        images, targets, names = _keypoint_folder(path)
    elif path.is_file():
        images, targets, names = read_keypoints_csv(path)
    else:
        raise DataError(f"keypoint data not found: '{path}'; give data.path: a facial-keypoints CSV or a folder "
                        "with images and a CSV")
    if len(names) % 2 or not all(a.endswith("_x") and b.endswith("_y") for a, b in zip(names[::2], names[1::2])):
        raise DataError(f"{path}: keypoint columns must come in pairs name_x, name_y; got {names[:4]}...")
    half = (images.shape[-1] - 1) / 2
    return TargetSet(torch.from_numpy(images), torch.from_numpy(targets) / half - 1, names)


def read_mask_folder(path: str | Path) -> TargetSet:
    """``images/`` and ``masks/`` (class-index PNGs with the same stems) -> images and N x 1 x H x W masks."""
    root = Path(path or "")
    image_files = sorted(p for p in (root / "images").glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not image_files or not (root / "masks").is_dir():
        raise DataError(f"no segmentation data in '{root}'; expected {root}/images/*.png and {root}/masks/*.png "
                        "(class indices), e.g. from 'striate data make-mnist-canvas'")
    from PIL import Image

    first = load_image(image_files[0], 3)
    channels = 1 if bool((first == first[:1]).all()) else 3
    images, masks = [], []
    for file in image_files:
        mask_file = root / "masks" / f"{file.stem}.png"
        if not mask_file.is_file():
            raise DataError(f"{file}: no mask {mask_file}; each image needs a PNG mask with the same name")
        with Image.open(mask_file) as mask:
            masks.append(np.asarray(mask, dtype=np.uint8)[None])
        images.append(load_image(file, channels).numpy())
        if masks[-1].shape[1:] != images[-1].shape[1:]:
            raise DataError(f"{mask_file}: mask size {masks[-1].shape[1:]} differs from its image's {images[-1].shape[1:]}")
    masks = torch.from_numpy(np.stack(masks))
    names_file = root / "classes.txt"
    names = names_file.read_text().split() if names_file.is_file() else \
        [str(i) for i in range(int(masks[masks != 255].max()) + 1)]
    return TargetSet(torch.from_numpy(np.stack(images)), masks, names)
