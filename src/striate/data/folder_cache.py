"""The decoded cache of image folders (issue 21): a folder's images, decoded and brought to the input size, kept
as uint8 arrays in the user's cache folder, so that the next run reads one file instead of decoding every image.

One file per folder and reading options (its absolute path, the input size, ``max_per_class``), under
``$STRIATE_CACHE``, else ``$XDG_CACHE_HOME/striate``, else ``~/.cache/striate``, in ``folders/``. Each file
holds, per split, the images (``N x C x H x W`` uint8), the labels and the unreadable files that were left out,
with the class names, the folder's fingerprint (a hash of every image file's relative path, size and mtime_ns)
and a checksum of the array bytes. A changed folder (a file added, removed, replaced or touched) has another
fingerprint and the cache is rebuilt; a cache whose bytes do not match their checksum is ignored (one note) and
rebuilt. The file (``.bin``: a JSON header, then the raw arrays) is written atomically (striate.files), so it
is whole or absent, and read back with one read per array.

>>> key = cache_file(Path("data/pets"), input_size=64, max_per_class=0)   # doctest: +SKIP
"""

import hashlib
import json
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from striate.files import FileWriteError, atomic_write_bytes

CACHE_VARIABLE = "STRIATE_CACHE"
FORMAT_VERSION = 1  # raise it when what the cache holds, or how images are decoded, changes
MAGIC = b"striate decoded image folder\n"
ALIGN = 64  # array offsets in the file: aligned for the reads and for a memory map
_log = logging.getLogger("striate.data")


@dataclass
class DecodedSplit:
    """One split as decoded: uint8 images, int64 labels, and the (path, reason) of the files left out."""

    images: np.ndarray
    labels: np.ndarray
    bad: list[tuple[str, str]] = field(default_factory=list)


def cache_root() -> Path:
    """The user's striate cache folder: $STRIATE_CACHE, else $XDG_CACHE_HOME/striate, else ~/.cache/striate."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "striate"
    return Path.home() / ".cache" / "striate"


def cache_file(folder: Path, input_size: int, max_per_class: int) -> Path:
    """The cache file of ``folder`` read with these options (the same options always name the same file)."""
    key = json.dumps({"folder": str(Path(folder).resolve()), "input_size": input_size,
                      "max_per_class": max_per_class, "version": FORMAT_VERSION}, sort_keys=True)
    return cache_root() / "folders" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.bin"


def fingerprint(listing: dict[str, dict[str, list]]) -> str:
    """A hash of ``{split: {class name: [(relative parts, size, mtime_ns), ...]}}`` (folder.image_entries with
    stats): any file added, removed, renamed, resized or touched changes it."""
    digest = hashlib.sha256()
    for split in sorted(listing):
        for name in sorted(listing[split]):
            digest.update(f"\0split\0{split}\0class\0{name}\0".encode())
            rows = sorted(("/".join(parts), size, mtime) for parts, size, mtime in listing[split][name])
            digest.update("".join(f"{path}\0{size}\0{mtime}\n" for path, size, mtime in rows).encode())
    return digest.hexdigest()


def _checksum(arrays: list[np.ndarray]) -> str:
    value = 0
    for array in arrays:
        value = zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"), value)
    return f"crc32:{value:08x}"


def _layout(splits: dict[str, DecodedSplit], start: int) -> tuple[dict, list[np.ndarray]]:
    """Where each array lies in the file (byte offsets from ``start``, each aligned to ALIGN) and the arrays."""
    places, arrays, offset = {}, [], start
    for split, part in splits.items():
        places[split] = {"bad": [list(entry) for entry in part.bad]}
        for name, array, dtype in (("images", part.images, "uint8"), ("labels", part.labels, "int64")):
            array = np.ascontiguousarray(array, dtype=dtype)
            places[split][name] = {"shape": list(array.shape), "dtype": dtype, "offset": offset}
            arrays.append(array)
            offset += -(-array.nbytes // ALIGN) * ALIGN
    return places, arrays


def write_cache(path: Path, folder_fingerprint: str, class_names: list[str], splits: dict[str, DecodedSplit]) -> bool:
    """Write the decoded splits atomically; False (with a note) when the cache folder cannot be written.

    The file: MAGIC, the header's length (8 bytes, little-endian), the JSON header (fingerprint, class names,
    checksum, and per split the unreadable files and each array's shape, dtype and offset), then the raw arrays,
    each at an offset aligned to ALIGN bytes: reading one back is one read straight into its array."""
    header_room = len(json.dumps({"fingerprint": folder_fingerprint, "class_names": class_names,
                                  "splits": _layout(splits, 0)[0]})) + 512  # offsets and the checksum grow it a little
    start = -(-(len(MAGIC) + 8 + header_room) // ALIGN) * ALIGN
    places, arrays = _layout(splits, start)
    header = json.dumps({"version": FORMAT_VERSION, "fingerprint": folder_fingerprint, "class_names": class_names,
                         "checksum": _checksum(arrays), "splits": places}).encode()
    if len(MAGIC) + 8 + len(header) > start:
        raise AssertionError("the cache header outgrew its room")  # cannot happen: the room is measured above
    pieces = [MAGIC, len(header).to_bytes(8, "little"), header, bytes(start - len(MAGIC) - 8 - len(header))]
    for array in arrays:
        pieces += [memoryview(array).cast("B"), bytes(-array.nbytes % ALIGN)]
    try:
        atomic_write_bytes(path, b"".join(pieces))
    except FileWriteError as error:
        _log.warning("the decoded image cache was not written: %s", error)
        return False
    return True


def _read_arrays(file, places: dict) -> dict[str, DecodedSplit]:
    splits = {}
    for split, place in places.items():
        arrays = []
        for name in ("images", "labels"):
            array = np.empty(place[name]["shape"], dtype=np.dtype(place[name]["dtype"]))
            file.seek(place[name]["offset"])
            if file.readinto(memoryview(array).cast("B")) != array.nbytes:
                raise ValueError(f"the file ends inside the {split} {name}")
            arrays.append(array)
        splits[split] = DecodedSplit(arrays[0], arrays[1], [tuple(entry) for entry in place["bad"]])
    return splits


def read_cache(path: Path, folder_fingerprint: str) -> tuple[list[str], dict[str, DecodedSplit]] | None:
    """The class names and decoded splits cached at ``path`` for a folder with this fingerprint; None when
    there is none, it belongs to another state of the folder, or it is damaged (then with a one-line note)."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as file:
            if file.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a striate image cache")
            meta = json.loads(file.read(int.from_bytes(file.read(8), "little")).decode())
            if meta.get("version") != FORMAT_VERSION or meta.get("fingerprint") != folder_fingerprint:
                return None  # another state of the folder: rebuilt (and overwritten) by the caller
            splits = _read_arrays(file, meta["splits"])
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, MemoryError) as error:
        _log.warning("ignored a damaged image cache %s (%s); decoding the folder again", path, error)
        return None
    arrays = [array for part in splits.values() for array in (part.images, part.labels)]
    if _checksum(arrays) != meta.get("checksum"):
        _log.warning("ignored a damaged image cache %s (checksum mismatch); decoding the folder again", path)
        return None
    return list(meta["class_names"]), splits
