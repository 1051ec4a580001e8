"""NumPy arrays (``.npz``, or a folder of ``.npy`` files) and CSV tables of pixels.

NPZ / NPY keys, first layout that matches wins (see :data:`LAYOUTS`): ``x_train, y_train`` with
``x_val, y_val`` and ``x_test, y_test`` when present (Keras), ``train_images, train_labels`` with
``val_*``/``test_*`` (MedMNIST), ``images, labels``, ``x, y``, or ``arr_0, arr_1`` (``np.savez(images,
labels)``); optional ``class_names`` (an array of strings). A file holding one array (``arr_0``) is half
of a pair of files side by side, told apart by their names (KMNIST: ``kmnist-train-imgs.npz`` and
``kmnist-train-labels.npz``; ``train``/``test``/``val`` in the name say the split). Images are
``N x H x W``, ``N x H x W x C`` or ``N x C x H x W`` (C in 1, 3), uint8 or floats in 0..1; labels
``N`` or ``N x 1`` (MedMNIST, Keras), integers or whole floats.
Nothing is unpickled (``allow_pickle=False``), and every array's header is read first: its declared
shape times its item size must match the bytes the file (or the .npz member) holds, and stay below
:data:`MAX_ARRAY_BYTES`, before anything is allocated.

CSV: either a ``label`` column plus pixel columns (Kaggle's digit-recognizer layout), or an
``Image`` column of space-separated pixels plus numeric target columns, some empty (Kaggle's
facial-keypoints layout: 30 keypoint coordinates, 96 x 96 grey images) -> :func:`read_keypoints_csv`.
"""

import csv
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from striate.errors import DataError, clip, short

MAX_ARRAY_BYTES = 4 * 1024**3  # the most data all the arrays of one .npz / .npy folder may declare
MAX_MEMBERS = 1000  # arrays in one .npz or .npy folder
MAX_CLASSES = 100_000  # class labels must lie in 0..MAX_CLASSES-1
MAX_CSV_BYTES = 2 * 1024**3
_CHUNK = 16 * 1024**2
_NPY_HEADER_LIMIT = 10_000  # NumPy's own default for a trusted header
_ARRAY_KINDS = "biufcUS"  # bool, integers, floats, complex, strings; never objects (pickles) or records

# key layouts: split -> (image key, label key); the first layout with any of its pairs present is used
LAYOUTS = (
    {"train": ("x_train", "y_train"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")},  # Keras
    {"train": ("train_images", "train_labels"), "val": ("val_images", "val_labels"),
     "test": ("test_images", "test_labels")},  # MedMNIST
    {"train": ("images", "labels")},
    {"train": ("x", "y")},
    {"train": ("arr_0", "arr_1")},  # np.savez(images, labels)
)
# words in a file name that say what one-array files hold and which split they are (KMNIST's pairs of files)
IMAGE_WORDS, LABEL_WORDS = {"imgs", "images", "image", "x"}, {"labels", "label", "lbls", "y"}
SPLIT_WORDS = {"train": "train", "training": "train", "test": "test", "t10k": "test", "testing": "test",
               "val": "val", "valid": "val", "validation": "val"}


def to_nchw(images: np.ndarray, name: str) -> np.ndarray:
    """uint8 ``N x C x H x W`` from ``N x H x W``, ``N x H x W x C`` or ``N x C x H x W`` (floats 0..1 scaled)."""
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.number):
            raise DataError(f"{name}: expected numeric images, got dtype {images.dtype}")
        if np.issubdtype(images.dtype, np.floating) and not np.isfinite(images).all():
            raise DataError(f"{name}: the images hold NaN or infinite values")
        scale = 255.0 if np.issubdtype(images.dtype, np.floating) and images.max(initial=0) <= 1.0 else 1.0
        images = np.clip(np.rint(images * scale), 0, 255).astype(np.uint8)
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[1] in (1, 3):
        pass
    elif images.ndim == 4 and images.shape[3] in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"{name}: expected images N x H x W, N x H x W x C or N x C x H x W with C = 1 or 3, "
                        f"got shape {short(images.shape)}")
    if min(images.shape[2:]) < 1:
        raise DataError(f"{name}: the images are {images.shape[2]}x{images.shape[3]} pixels; expected at least 1x1")
    return images


def check_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """int64 class labels, each in 0..MAX_CLASSES-1 (a label of 10**12 would ask for 10**12 class names)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:  # N x 1, as MedMNIST and Keras's CIFAR ship them
        labels = labels[:, 0]
    elif labels.ndim == 2 and len(labels):
        raise DataError(f"{name}: labels of shape {short(labels.shape)} hold {labels.shape[1]} values an image (multi-label "
                        "data such as ChestMNIST); a striate classifier takes one class an image: keep one column "
                        "(labels[:, k]) and save the file again")
    if labels.dtype.kind == "f" and np.isfinite(labels).all() and (labels == np.rint(labels)).all() \
            and np.abs(labels).max(initial=0) < MAX_CLASSES:
        labels = labels.astype(np.int64)  # whole numbers saved as floats
    if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise DataError(f"{name}: expected a 1-D array of integer class labels, got {labels.dtype} of shape "
                        f"{short(labels.shape)}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= MAX_CLASSES):
        raise DataError(f"{name}: class labels must lie in 0..{MAX_CLASSES - 1}, found {int(labels.min())}.."
                        f"{int(labels.max())}; the labels are corrupt")
    return labels.astype(np.int64)


def _pair(arrays: dict, image_key: str, label_key: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    images = to_nchw(arrays[image_key], f"{name}[{image_key}]")
    labels = check_labels(arrays[label_key], f"{name}[{label_key}]")
    if len(images) != len(labels):
        raise DataError(f"{name}: {len(images)} images in '{image_key}' but {len(labels)} labels in '{label_key}'; "
                        "they must be the same length")
    return np.ascontiguousarray(images), labels


def _class_names(arrays: dict, name: str) -> list[str]:
    names = arrays.get("class_names")
    if names is None:
        return []
    if names.ndim != 1 or names.dtype.kind not in "US" or len(names) > MAX_CLASSES:
        raise DataError(f"{name}[class_names]: expected a 1-D array of at most {MAX_CLASSES} strings, got "
                        f"{names.dtype} of shape {short(names.shape)}")
    return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in names.tolist()]


def read_npy_header(file, size: int, name: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Check the NPY header at ``file``'s position against the ``size`` bytes the file (or .npz member)
    holds; returns (shape, dtype, Fortran order, data bytes). Refuses object arrays (pickles), other non-numeric dtypes,
    a shape whose bytes (exact Python integers) differ from what the file holds, or more than
    :data:`MAX_ARRAY_BYTES`, all before any array is allocated."""
    start = file.tell()
    try:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(file, max_header_size=_NPY_HEADER_LIMIT)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(file, max_header_size=_NPY_HEADER_LIMIT)
        else:
            raise ValueError(f"NPY format version {version} is not supported (expected 1.0 or 2.0)")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as error:
        raise DataError(f"{name}: not a readable .npy array (bad header: {clip(error)}); expected an "
                        "array saved with numpy.save / numpy.savez") from None
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0:
        raise DataError(f"{name}: the array has dtype {clip(dtype, 80)}, which holds Python objects (a pickle) or "
                        "no numbers; striate never unpickles: save numeric arrays (and class names as strings)")
    if not all(isinstance(side, int) and side >= 0 for side in shape):
        raise DataError(f"{name}: the .npy header declares an invalid shape {short(shape)}")
    nbytes = math.prod(shape) * dtype.itemsize
    held = size - (file.tell() - start)
    if nbytes > MAX_ARRAY_BYTES:
        raise DataError(f"{name}: the .npy header declares shape {short(shape)} of {dtype} = {nbytes:,} bytes, more "
                        f"than the {MAX_ARRAY_BYTES:,} bytes striate reads; the header is corrupt (or split the data)")
    if nbytes != held:
        raise DataError(f"{name}: the .npy header declares shape {short(shape)} of {dtype} = {nbytes:,} bytes but "
                        f"the file holds {held:,} bytes of data; the file is truncated or corrupt, save it again")
    return shape, dtype, bool(fortran), nbytes


def _read_npy(file, size: int, name: str) -> tuple[np.ndarray, int]:
    """The array after a checked header: its bytes read in chunks, then viewed with the declared shape."""
    shape, dtype, fortran, nbytes = read_npy_header(file, size, name)
    data = bytearray()
    while len(data) < nbytes:
        chunk = file.read(min(_CHUNK, nbytes - len(data)))
        if not chunk:
            raise DataError(f"{name}: the array data end after {len(data):,} of {nbytes:,} bytes; the file is "
                            "truncated, save it again")
        data += chunk
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape)).reshape(shape, order="F" if fortran else "C")
    return array, nbytes


def _too_many(path: Path, count: int) -> DataError:
    return DataError(f"{path}: {count} arrays; striate reads at most {MAX_MEMBERS} from one .npz or folder "
                     "(expected x_train/y_train and a few more)")


def _add(arrays: dict, key: str, array: np.ndarray, nbytes: int, total: int, path: Path) -> int:
    total += nbytes
    if total > MAX_ARRAY_BYTES:
        raise DataError(f"{path}: the arrays hold more than {MAX_ARRAY_BYTES:,} bytes in all; striate does not "
                        "read that much from one file (split the data)")
    arrays[key] = array
    return total


def _load_folder(path: Path) -> dict[str, np.ndarray]:
    files = sorted(path.glob("*.npy"))
    if len(files) > MAX_MEMBERS:
        raise _too_many(path, len(files))
    arrays, total = {}, 0
    for file in files:
        with file.open("rb") as stream:
            array, nbytes = _read_npy(stream, file.stat().st_size, str(file))
        total = _add(arrays, file.stem, array, nbytes, total, path)
    return arrays


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if info.filename.endswith(".npy") and not info.is_dir()]
        if len(members) > MAX_MEMBERS:
            raise _too_many(path, len(members))
        declared = sum(info.file_size for info in members)
        if declared > MAX_ARRAY_BYTES + len(members) * _NPY_HEADER_LIMIT:
            raise DataError(f"{path}: the archive declares {declared:,} bytes of arrays, more than the "
                            f"{MAX_ARRAY_BYTES:,} bytes striate reads; the file is corrupt (or split the data)")
        arrays, total = {}, 0
        for info in members:
            with archive.open(info) as member:
                array, nbytes = _read_npy(member, info.file_size, f"{path}[{info.filename}]")
            total = _add(arrays, info.filename[: -len(".npy")], array, nbytes, total, path)
    return arrays


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        return _load_folder(path) if path.is_dir() else _load_npz(path)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
            RuntimeError) as error:  # zipfile: bad CRC, encrypted members, unsupported compression
        raise DataError(f"{path}: not a readable NumPy file ({clip(error)}); expected .npz or .npy "
                        "arrays saved without pickles") from None


def _layout(arrays: dict, path: Path) -> tuple[dict, dict]:
    """The splits (images, labels) of the first layout of :data:`LAYOUTS` found in ``arrays``, and their keys."""
    for layout in LAYOUTS:
        present = {split: keys for split, keys in layout.items() if keys[0] in arrays or keys[1] in arrays}
        if not present:
            continue
        for image_key, label_key in present.values():
            if image_key not in arrays or label_key not in arrays:
                have, lack = (image_key, label_key) if image_key in arrays else (label_key, image_key)
                raise DataError(f"{path}: found '{have}' but no '{lack}'; the two go together (images and their labels)")
        return {split: _pair(arrays, *keys, str(path)) for split, keys in present.items()}, present
    raise DataError(f"{path}: found arrays {short(sorted(arrays))}; expected x_train/y_train (and x_val/y_val, "
                    "x_test/y_test), train_images/train_labels (MedMNIST), images/labels, x/y or arr_0/arr_1, or one "
                    "array a file in pairs of files named like kmnist-train-imgs.npz and kmnist-train-labels.npz")


def _words(path: Path) -> list[str]:
    return [word for word in re.split(r"[-_.\s]+", path.name.lower().removesuffix(".npz")) if word]


def _pair_key(path: Path) -> tuple[str, ...]:
    return tuple(word for word in _words(path) if word not in IMAGE_WORDS | LABEL_WORDS)


def _pair_files(files: list[Path], where: Path) -> dict[str, tuple[Path, Path]]:
    """One-array files paired by name: ``{split: (images file, labels file)}``."""
    groups: dict[tuple, dict[str, Path]] = {}
    for file in files:
        words = _words(file)
        kind = "images" if IMAGE_WORDS & set(words) else "labels" if LABEL_WORDS & set(words) else None
        if kind is None:
            raise DataError(f"{file}: holds one array, and its name says neither images ({'/'.join(sorted(IMAGE_WORDS))}) "
                            f"nor labels ({'/'.join(sorted(LABEL_WORDS))}); rename it, e.g. data-train-imgs.npz")
        split = next((SPLIT_WORDS[word] for word in words if word in SPLIT_WORDS), "train")
        groups.setdefault((split, _pair_key(file)), {})[kind] = file
    stems = {tuple(w for w in rest if w not in SPLIT_WORDS) for _, rest in groups}
    if len(stems) > 1:
        raise DataError(f"{where}: holds the files of {len(stems)} data sets ({', '.join('-'.join(s) for s in sorted(stems))}); "
                        "move each into a folder of its own, or pass one of the files")
    pairs = {}
    for (split, _), found in sorted(groups.items(), key=lambda item: ("train", "val", "test").index(item[0][0])):
        if len(found) < 2 or split in pairs:
            have = next(iter(found.values()))
            raise DataError(f"{have}: no {'labels' if 'images' in found else 'images'} file of the same name beside it; "
                            "expected pairs such as kmnist-train-imgs.npz and kmnist-train-labels.npz")
        pairs[split] = (found["images"], found["labels"])
    return pairs


def _single(path: Path) -> np.ndarray:
    arrays = _load_arrays(path)
    if len(arrays) != 1:
        raise DataError(f"{path}: holds arrays {short(sorted(arrays))}; expected one array (arr_0) in each file of a pair")
    return next(iter(arrays.values()))


def _read_pairs(files: list[Path], where: Path) -> dict:
    splits, notes = {}, []
    for split, (image_file, label_file) in _pair_files(files, where).items():
        arrays = {"images": _single(image_file), "labels": _single(label_file)}
        splits[split] = _pair(arrays, "images", "labels", f"{image_file.name} + {label_file.name}")
        notes.append(f"{split}: {image_file.name} + {label_file.name} ({len(splits[split][1])} images)")
    return {"splits": splits, "class_names": [], "notes": notes}


def read_arrays(path: str | Path) -> dict:
    """``{"splits": {"train": (images, labels)[, "val": ..., "test": ...]}, "class_names": [...], "notes": [...]}``
    from an .npz file, a folder of .npy files, a folder of .npz files, or one file of a pair of files."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"array file not found: {path}")
    npz_files = sorted(path.glob("*.npz")) if path.is_dir() and not any(path.glob("*.npy")) else []
    if len(npz_files) > 1:
        return _read_pairs(npz_files, path)
    source = npz_files[0] if npz_files else path
    arrays = _load_arrays(source)
    if len(arrays) == 1 and source.is_file() and set(_words(source)) & (IMAGE_WORDS | LABEL_WORDS):
        # one file of a pair: its partner's name differs in the one word that says images or labels
        partners = [file for file in sorted(source.parent.glob("*.npz")) if _pair_key(file) == _pair_key(source)]
        return _read_pairs(partners, source)
    splits, keys = _layout(arrays, source)
    notes = [f"{split}: {'/'.join(keys[split])} of {source.name} ({len(pair[1])} images)" for split, pair in splits.items()]
    return {"splits": splits, "class_names": _class_names(arrays, str(source)), "notes": notes}


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise DataError(f"CSV file not found: {path}")
    if path.stat().st_size > MAX_CSV_BYTES:
        raise DataError(f"{path}: {path.stat().st_size:,} bytes; striate reads CSV tables of at most "
                        f"{MAX_CSV_BYTES:,} bytes (save large data as .npz instead)")
    try:
        with path.open(newline="") as file:
            reader = csv.reader(file)
            header = next(reader, None)
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV text file ({clip(error)})") from None
    if not header:
        raise DataError(f"{path}: empty CSV; expected a header row")
    return [name.strip() for name in header], rows


def _parse_pixels(text: str, where: str) -> np.ndarray:
    try:
        return np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{where}: the Image column must hold space-separated pixel values") from None


def _square(count: int, where: str) -> int:
    side = math.isqrt(count)
    if side * side != count or count == 0:
        raise DataError(f"{where}: {count} pixels do not make a square image; expected e.g. 96 x 96 = 9216")
    return side


def read_keypoints_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Kaggle facial-keypoints layout -> (uint8 images N x 1 x S x S, float32 targets N x T with NaN
    where a value is missing, target names). Columns other than ``Image`` (and ``ImageId``) are targets.

    >>> images, targets, names = read_keypoints_csv("training.csv")   # doctest: +SKIP
    >>> images.shape, targets.shape
    ((7049, 1, 96, 96), (7049, 30))
    """
    path = Path(path)
    header, rows = _rows(path)
    if "Image" not in header:
        raise DataError(f"{path}: no 'Image' column; expected the facial-keypoints layout (target columns and "
                        "an Image column of space-separated pixels)")
    image_column = header.index("Image")
    target_columns = [i for i, name in enumerate(header) if name not in ("Image", "ImageId")]
    images, targets, side = [], [], None
    for number, row in enumerate(rows, start=2):
        where = f"{path}, line {number}"
        if len(row) != len(header):
            raise DataError(f"{where}: {len(row)} fields but the header has {len(header)}")
        pixels = _parse_pixels(row[image_column], where)
        side = side or _square(len(pixels), where)
        if len(pixels) != side * side:
            raise DataError(f"{where}: {len(pixels)} pixels, but the first image had {side * side}")
        images.append(np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(1, side, side))
        try:
            targets.append([float(row[i]) if row[i].strip() else math.nan for i in target_columns])
        except ValueError:
            raise DataError(f"{where}: target values must be numbers or empty (missing)") from None
    if not images:
        raise DataError(f"{path}: the CSV has a header but no rows")
    return np.stack(images), np.asarray(targets, dtype=np.float32).reshape(len(images), -1), \
        [header[i] for i in target_columns]


def read_label_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A ``label`` column plus pixel columns (square grey images) -> (uint8 N x 1 x S x S, labels)."""
    path = Path(path)
    header, rows = _rows(path)
    if "label" not in header:
        raise DataError(f"{path}: no 'label' column; expected 'label' plus pixel columns (pixel0, pixel1, ...)")
    label_column = header.index("label")
    side = _square(len(header) - 1, f"{path} header")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        raise DataError(f"{path}: every row must have {len(header)} numeric fields (label and pixels)") from None
    if table.ndim != 2 or table.shape[1] != len(header):
        raise DataError(f"{path}: rows of unequal length; each needs {len(header)} fields")
    pixels = np.delete(table, label_column, axis=1)
    images = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(-1, 1, side, side)
    column = table[:, label_column]
    if not (np.isfinite(column).all() and (column == np.rint(column)).all()):
        raise DataError(f"{path}: the 'label' column must hold whole numbers (class indices)")
    labels = column.astype(np.int64) if np.abs(column).max(initial=0) < 2**62 else np.full(len(column), -1)
    return images, check_labels(labels, f"{path}, column 'label'")
