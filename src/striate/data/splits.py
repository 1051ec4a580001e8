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
