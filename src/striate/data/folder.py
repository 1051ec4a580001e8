"""An image folder with one sub-folder per class (PNG, JPEG, BMP, ...; grey or colour; any sizes).

    DIR/cat/0001.jpg, DIR/dog/0002.png, ...                      one split (train)
    DIR/train/cat/..., DIR/test/cat/... (DIR/val/... optional)   official splits

Every file is decoded before training starts: unreadable files are reported with their
paths, and stop the load unless ``skip_bad`` is set (then they are skipped and counted).
Images are brought to ``size x size`` by scaling the shorter side and cropping the centre.
"""

import heapq
import logging
import mmap
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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


def image_entries(class_folder: Path, stats: bool = False) -> list[tuple[tuple[str, ...], int, int]]:
    """The image files under ``class_folder`` (sub-folders included; hidden files left out) as
    ``(relative parts, size, mtime_ns)``, unsorted; size and mtime_ns are 0 unless ``stats``.
    ``os.scandir`` reads the file types with the names, so only ``stats`` costs a system call a file."""
    found, pending = [], [((), str(class_folder))]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir() and not entry.is_symlink():  # as Path.rglob: no walk into linked folders
                    pending.append(((*prefix, entry.name), entry.path))
                elif entry.name.lower().endswith(IMAGE_SUFFIXES) and not entry.name.startswith(".") \
                        and not entry.is_dir() and entry.is_file():  # the suffix test first: it is the cheapest
                    info = entry.stat() if stats else None
                    found.append(((*prefix, entry.name), info.st_size if info else 0, info.st_mtime_ns if info else 0))
    return found


def check_class_names(folder: Path, class_names: list[str] | None = None) -> list[str]:
    """The class sub-folders' names (``class_names`` when given: a class folder not in it is an error)."""
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
    return list(names)


def first_in_path_order(entries: list, max_per_class: int = 0) -> list:
    """``entries`` (from :func:`image_entries`) sorted in path order, only the first ``max_per_class`` when > 0:
    the same files as sorting all and cutting, without sorting the ones that are dropped (issue 21)."""
    if 0 < max_per_class < len(entries):
        return heapq.nsmallest(max_per_class, entries, key=lambda entry: entry[0])
    return sorted(entries, key=lambda entry: entry[0])


def list_files(folder: Path, class_names: list[str] | None = None, max_per_class: int = 0) -> FileList:
    """The image files under ``folder``'s class sub-folders (sorted; at most ``max_per_class`` each when > 0).
    With ``class_names`` (from the training split), a class folder not in it is an error."""
    names = check_class_names(folder, class_names)
    return select_files(folder, names, scan_classes(folder, names), max_per_class)


def scan_classes(folder: Path, names: list[str], stats: bool = False) -> dict[str, list]:
    """:func:`image_entries` of each class folder (an absent one has none)."""
    return {name: image_entries(folder / name, stats) if (folder / name).is_dir() else [] for name in names}


def select_files(folder: Path, names: list[str], entries: dict[str, list], max_per_class: int = 0) -> FileList:
    """The files of :func:`scan_classes`' ``entries`` in path order, at most ``max_per_class`` a class when > 0."""
    paths, labels = [], []
    for label, name in enumerate(names):
        class_folder = folder / name
        kept = first_in_path_order(entries[name], max_per_class)
        paths += [class_folder.joinpath(*parts) for parts, _, _ in kept]
        labels += [label] * len(kept)
    if not paths:
        raise DataError(f"{folder}: the class sub-folders hold no image files ({', '.join(IMAGE_SUFFIXES)})")
    return FileList(paths, labels, names)


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


DECODE_CHUNK = 2048  # files a worker decodes per task


def _decode_into(out: np.ndarray, paths: list, start: int, stop: int, channels: int, size: int) -> list:
    """Decode ``paths[start:stop]`` into ``out[start:stop]``; the (index, path, reason) of unreadable files."""
    bad = []
    for index in range(start, stop):
        try:
            out[index] = decode_file(paths[index], channels, size).numpy()
        except DataError as error:
            bad.append((index, str(paths[index]), str(error).split(": ", 1)[-1]))
    return bad


# What forked decoding workers inherit: the shared output buffer, the paths and the image shape. Set just
# before the pool forks, cleared after; each task names only its range of files, and the pixels go straight
# into memory the parent sees (no pickling of 150 MB of arrays back through pipes).
_SHARED: tuple | None = None


def _decode_shared_range(start: int, stop: int) -> list:
    out, paths, channels, size = _SHARED
    return _decode_into(out, paths, start, stop, channels, size)


def _decode_copied_range(paths: list, channels: int, size: int) -> tuple[np.ndarray, list]:
    """For spawned workers (no fork): decode into a local array and send it back."""
    out = np.zeros((len(paths), channels, size, size), dtype=np.uint8)
    return out, _decode_into(out, paths, 0, len(paths), channels, size)


def _one_thread() -> None:
    torch.set_num_threads(1)  # each decoding process uses one core; the pool spreads the files across them


def _decode_all(paths: list, channels: int, size: int, workers: int) -> tuple[np.ndarray, list]:
    """Every file decoded into one ``N x channels x size x size`` array (zeros where unreadable), and the
    (index, path, reason) of the unreadable ones; in ``workers`` processes when > 1, the same result."""
    global _SHARED
    count = len(paths)
    ranges = [(start, min(count, start + DECODE_CHUNK)) for start in range(0, count, DECODE_CHUNK)]
    if workers <= 1 or len(ranges) <= 1:
        out = np.zeros((count, channels, size, size), dtype=np.uint8)
        return out, _decode_into(out, paths, 0, count, channels, size)
    pool_size = min(workers, len(ranges))
    if "fork" in multiprocessing.get_all_start_methods():  # workers start in milliseconds and share memory
        length = count * channels * size * size
        out = np.frombuffer(mmap.mmap(-1, length), dtype=np.uint8, count=length).reshape(count, channels, size, size)
        _SHARED = (out, paths, channels, size)
        try:
            with ProcessPoolExecutor(pool_size, multiprocessing.get_context("fork"), _one_thread) as pool:
                bad_lists = list(pool.map(_decode_shared_range, *zip(*ranges)))
        finally:
            _SHARED = None
        return out, [entry for bad in bad_lists for entry in bad]
    out = np.zeros((count, channels, size, size), dtype=np.uint8)
    bad = []
    with ProcessPoolExecutor(pool_size, multiprocessing.get_context("spawn"), _one_thread) as pool:
        parts = pool.map(_decode_copied_range, [paths[a:b] for a, b in ranges], [channels] * len(ranges),
                         [size] * len(ranges))
        for (start, _), (images, chunk_bad) in zip(ranges, parts):
            out[start : start + len(images)] = images
            bad += [(start + index, path, reason) for index, path, reason in chunk_bad]
    return out, bad


def decode_files(files: FileList, channels: int, size: int,
                 workers: int = 1) -> tuple[torch.Tensor, torch.Tensor, FileList]:
    """Decode every file, in ``workers`` processes when > 1 (the same images, in the same order, as one
    process); returns images, labels and the list with unreadable files moved to ``bad``."""
    images, bad = _decode_all(files.paths, channels, size, workers)
    unreadable = {index for index, _, _ in bad}
    kept = [index for index in range(len(files.paths)) if index not in unreadable]
    if unreadable:
        images = images[kept]
    return (torch.from_numpy(images), torch.tensor([files.labels[index] for index in kept], dtype=torch.long),
            FileList([files.paths[index] for index in kept], [files.labels[index] for index in kept], files.class_names,
                     [(path, reason) for _, path, reason in bad]))


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
