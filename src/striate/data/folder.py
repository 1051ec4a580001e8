"""An image folder with one sub-folder per class (PNG, JPEG, BMP, ...; grey or colour; any sizes).

    DIR/cat/0001.jpg, DIR/dog/0002.png, ...                      one split (train)
    DIR/train/cat/..., DIR/test/cat/... (DIR/val/... optional)   official splits

Every file is decoded before training starts: unreadable files are reported with their
paths, and stop the load unless ``skip_bad`` is set (then they are skipped and counted).
Images are brought to ``size x size`` by scaling the shorter side and cropping the centre.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from striate.data.geometry import fit_image
from striate.data.images import IMAGE_SUFFIXES, load_image
from striate.errors import DataError

SPLIT_NAMES = ("train", "val", "test")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F", "P;L")
_log = logging.getLogger("striate.data")


@dataclass
class FileList:
    """The image files of a folder split, their labels and the class names."""

    paths: list[Path]
    labels: list[int]
    class_names: list[str]
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of unreadable files


def _class_folders(folder: Path) -> list[Path]:
    return sorted(child for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))


def is_split_layout(folder: Path) -> bool:
    """True when ``folder`` holds train/ (and test/, val/) each with class sub-folders."""
    train = folder / "train"
    return train.is_dir() and bool(_class_folders(train))


def is_image_folder(folder: Path) -> bool:
    """True when ``folder`` (or its train/) has class sub-folders holding image files."""
    root = folder / "train" if is_split_layout(folder) else folder
    for class_folder in _class_folders(root) if root.is_dir() else []:
        if any(path.suffix.lower() in IMAGE_SUFFIXES for path in class_folder.rglob("*")):
            return True
    return False


def list_files(folder: Path, class_names: list[str] | None = None, max_per_class: int = 0) -> FileList:
    """The image files under ``folder``'s class sub-folders (sorted; at most ``max_per_class`` each when > 0).
    With ``class_names`` (from the training split), a class folder not in it is an error."""
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}; expected a folder with one sub-folder per class")
    found = [child.name for child in _class_folders(folder)]
    if not found:
        raise DataError(f"{folder}: no class sub-folders; expected e.g. {folder}/cat/*.jpg, {folder}/dog/*.jpg")
    names = class_names if class_names is not None else found
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise DataError(f"{folder}: class folders {unknown} do not appear in the training split {names}; "
                        "every split needs the same class sub-folders")
    paths, labels = [], []
    for label, name in enumerate(names):
        files = sorted(p for p in (folder / name).rglob("*")
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        files = files[:max_per_class] if max_per_class > 0 else files
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise DataError(f"{folder}: the class sub-folders hold no image files ({', '.join(IMAGE_SUFFIXES)})")
    return FileList(paths, labels, list(names))


def detect_channels(paths: list[Path]) -> int:
    """1 when every readable image is grey, else 3 (the header is read, not the pixels)."""
    from PIL import Image

    for path in paths:
        try:
            with Image.open(path) as image:
                if image.mode not in GREY_MODES:
                    return 3
        except Exception:  # unreadable files are reported when decoded
            continue
    return 1


def decode_file(path: Path, channels: int, size: int) -> torch.Tensor:
    """Decode one image file to uint8 ``channels x size x size`` (raises DataError when unreadable)."""
    return fit_image(load_image(path, channels), size)


def decode_files(files: FileList, channels: int, size: int) -> tuple[torch.Tensor, torch.Tensor, FileList]:
    """Decode every file; returns images, labels and the list with unreadable files moved to ``bad``."""
    images, labels, kept, bad = [], [], [], []
    for path, label in zip(files.paths, files.labels):
        try:
            images.append(decode_file(path, channels, size))
        except DataError as error:
            bad.append((str(path), str(error).split(": ", 1)[-1]))
            continue
        labels.append(label)
        kept.append(path)
    stacked = torch.stack(images) if images else torch.zeros(0, channels, size, size, dtype=torch.uint8)
    return stacked, torch.tensor(labels, dtype=torch.long), FileList(kept, labels, files.class_names, bad)


def report_bad(bad: list[tuple[str, str]], skip_bad: bool) -> None:
    """Stop with the unreadable files' paths, or (``skip_bad``) log how many were skipped."""
    if not bad:
        return
    listing = "; ".join(f"{path} ({reason})" for path, reason in bad[:5]) + (" ..." if len(bad) > 5 else "")
    if not skip_bad:
        raise DataError(f"{len(bad)} unreadable image file(s): {listing}. Remove or replace them, "
                        "or pass --skip-bad (data.skip_bad: true) to skip them")
    _log.warning("skipped %d unreadable image file(s): %s", len(bad), listing)


def split_folders(folder: Path) -> dict[str, Path]:
    """``{"train": folder}`` or the train/val/test sub-folders that exist."""
    if not is_split_layout(folder):
        return {"train": folder}
    return {name: folder / name for name in SPLIT_NAMES if (folder / name).is_dir()}
