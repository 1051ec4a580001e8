"""Seeded, stratified splits of a labelled data set."""

import torch

from striate.errors import ConfigError


def stratified_split(labels: torch.Tensor, fractions: list[float], seed: int = 0) -> list[torch.Tensor]:
    """Split indices ``0..N-1`` into parts of the given fractions (the rest is the first part),
    keeping each class's share as equal as possible in every part.

    Each class is shuffled, its members get ranks evenly spread over [0, 1), and all samples
    sorted by rank are cut into parts of exactly round(fraction * N) samples: the parts have
    the requested sizes even when a class is too small to appear in every part.

    >>> train, val = stratified_split(torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), [0.25], seed=0)
    >>> len(train), len(val)
    (6, 2)
    """
    if any(f < 0 for f in fractions) or sum(fractions) >= 1:
        raise ConfigError(f"split fractions {fractions} must be non-negative and sum to less than 1")
    labels = labels.cpu()
    generator = torch.Generator().manual_seed(seed)
    ranks = torch.empty(len(labels), dtype=torch.float64)
    for label in torch.unique(labels):
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        ranks[members] = (torch.arange(len(members), dtype=torch.float64) + 0.5) / len(members)
    tie_break = torch.rand(len(labels), generator=generator, dtype=torch.float64) * 1e-9
    order = torch.argsort(ranks + tie_break)
    sizes = [int(round(fraction * len(labels))) for fraction in fractions]
    parts, start = [], 0
    for size in sizes:
        parts.append(order[start : start + size])
        start += size
    return [torch.sort(part).values for part in [order[start:], *parts]]


def kfold_split(labels: torch.Tensor, folds: int, fold: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, validation) of fold ``fold`` of a stratified, seeded ``folds``-fold partition:
    each class's members are shuffled and dealt round-robin to the folds.

    >>> train, val = kfold_split(torch.tensor([0, 0, 0, 1, 1, 1]), folds=3, fold=0)
    >>> len(train), len(val)
    (4, 2)
    """
    if folds < 2 or not 0 <= fold < folds:
        raise ConfigError(f"k-fold needs folds >= 2 and 0 <= fold < folds, got folds={folds}, fold={fold}")
    generator = torch.Generator().manual_seed(seed)
    assignment = torch.empty(len(labels), dtype=torch.long)
    offset = 0
    for label in torch.unique(labels.cpu()):
        members = torch.nonzero(labels.cpu() == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        assignment[members] = (torch.arange(len(members)) + offset) % folds
        offset += len(members)  # continue the deal so that small classes spread over the folds
    return torch.nonzero(assignment != fold).flatten(), torch.nonzero(assignment == fold).flatten()


# The validation floor: a carved validation split holds at least VAL_FLOOR_PER_CLASS images of each class
# (more when data.val_fraction gives more), but never more than VAL_FLOOR_MAX_SHARE of that class's
# train + validation images, so that a small class keeps most of its images for training.
VAL_FLOOR_PER_CLASS = 5
VAL_FLOOR_MAX_SHARE = 0.2
# A validation split can choose an epoch when it holds at least MIN_VAL_PER_CLASS images per class of the
# training split on average (200 for 10 classes): below that, one image more or less right moves the accuracy
# by more than the epochs differ (see validation_size_note).
MIN_VAL_PER_CLASS = 20


def val_floor(class_size: int) -> int:
    """The fewest validation images a class of ``class_size`` train + validation images gets when the
    validation split is carved: ``min(VAL_FLOOR_PER_CLASS, floor(VAL_FLOOR_MAX_SHARE * class_size))``.

    >>> val_floor(1000), val_floor(12), val_floor(4)
    (5, 2, 0)
    """
    return min(VAL_FLOOR_PER_CLASS, int(VAL_FLOOR_MAX_SHARE * class_size))


def raise_to_floor(labels: torch.Tensor, train: torch.Tensor, val: torch.Tensor, seed: int = 0):
    """Indices (train, val) with each class's validation share raised to :func:`val_floor` by moving
    seeded-random images of that class from train to val; nothing moves when every class has its floor
    (so the split is exactly :func:`stratified_split`'s then).

    >>> labels = torch.tensor([0] * 30 + [1] * 30)
    >>> train, val = raise_to_floor(labels, *stratified_split(labels, [0.05]))
    >>> torch.bincount(labels[val]).tolist()
    [5, 5]
    """
    labels = labels.cpu()
    generator = torch.Generator().manual_seed(seed)
    moved = []
    for label in torch.unique(torch.cat([labels[train], labels[val]])):
        members = train[labels[train] == label]
        missing = val_floor(len(members) + int((labels[val] == label).sum())) - int((labels[val] == label).sum())
        if missing > 0:
            moved.append(members[torch.randperm(len(members), generator=generator)[:missing]])
    if not moved:
        return train, val
    moved = torch.cat(moved)
    keep = train[~torch.isin(train, moved)]
    return keep, torch.sort(torch.cat([val, moved])).values


def first_per_class(labels: torch.Tensor, per_class: int, seed: int = 0) -> torch.Tensor:
    """Sorted indices of at most ``per_class`` members of each class, the first ones in a seeded random
    order (``data.train_per_class``: a labelled budget, the same images for the same seed).

    >>> labels = torch.tensor([0, 0, 0, 1, 1, 2])
    >>> torch.bincount(labels[first_per_class(labels, 2)]).tolist()
    [2, 2, 1]
    """
    labels = labels.cpu()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    by_class = torch.argsort(labels[order], stable=True)  # each class's members, in the seeded order
    ordered = order[by_class]
    sorted_labels = labels[ordered]
    rank = torch.arange(len(labels)) - torch.searchsorted(sorted_labels, sorted_labels)
    return torch.sort(ordered[rank < per_class]).values


def validation_size_note(splits: dict) -> str | None:
    """One line when the validation split is too small to choose the best epoch, else None.

    Too small: fewer than :data:`MIN_VAL_PER_CLASS` images per class of the training split on average
    (``len(val) < MIN_VAL_PER_CLASS * classes``, the classes counted in the training labels), or no
    validation split at all. A session keeps the last epoch's weights then instead of the "best" ones.
    ``splits`` is what :func:`striate.data.sources.make_splits` returns (anything with ``train`` and ``val``
    parts that have ``labels``).

    >>> labels = torch.arange(10).repeat(30)
    >>> class Part:
    ...     def __init__(self, labels): self.labels = labels
    ...     def __len__(self): return len(self.labels)
    >>> validation_size_note({"train": Part(labels), "val": Part(labels[:200])}) is None
    True
    >>> print(validation_size_note({"train": Part(labels), "val": Part(labels[:50])}))
    the validation split holds 50 images for 10 classes, 5.0 a class: too few to choose the best epoch (that takes 20 a class)
    """
    train, val = splits.get("train"), splits.get("val")
    if train is None:
        return None
    classes = max(1, len(torch.unique(train.labels.cpu()))) if len(train) else 1
    count = 0 if val is None else len(val)
    if count >= MIN_VAL_PER_CLASS * classes:
        return None
    return (f"the validation split holds {count} images for {classes} classes, {count / classes:.1f} a class: too few "
            f"to choose the best epoch (that takes {MIN_VAL_PER_CLASS} a class)")
