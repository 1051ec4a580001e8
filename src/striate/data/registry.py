"""The registry of data sources by name.

A source is a builder ``fn(path=None, **options) -> dict[str, ImageSet]`` registered under a name with
:func:`register_source`. The built-in sources live in :mod:`striate.data.sources` and
:mod:`striate.data.file_sources`; importing any ``striate.data`` module registers them (the package's
``__init__`` imports both). This module imports neither, so they can both import it.

A source may return a :class:`Splits` (a dict with ``notes``: what it read, where each split comes from);
:func:`load_source` always does, and applies what every source shares: ``max_per_class`` (a reading cap) for
the sources that do not cap while they read, and data with only test (or val) files made the one pool that
:func:`striate.data.sources.make_splits` carves train/val/test from.
"""

import inspect
from collections.abc import Callable

import torch

from striate.data.dataset import ImageSet
from striate.errors import DataError, did_you_mean

_SOURCES: dict[str, Callable[..., dict[str, ImageSet]]] = {}
SPLIT_ORDER = ("train", "val", "test")


class Splits(dict):
    """Splits by name (``train``, ``val``, ``test``) plus ``notes``: one line each saying what was read
    (files, keys) and where a split comes from; ``striate data info`` prints them, and so does training.

    >>> found = Splits({"train": None}, ["read x_train/y_train of data.npz"])
    >>> list(found), found.notes
    (['train'], ['read x_train/y_train of data.npz'])
    """

    def __init__(self, parts=(), notes=()):
        super().__init__(parts)
        self.notes = list(notes)


def notes_of(splits) -> list[str]:
    """The notes of ``splits`` (none for a plain dict)."""
    return list(getattr(splits, "notes", []))


def cap_per_class(part: ImageSet, per_class: int) -> ImageSet:
    """The first ``per_class`` images of each class, in the order read (``data.max_per_class``)."""
    if per_class <= 0 or not len(part):
        return part
    labels = part.labels.cpu()
    order = torch.argsort(labels, stable=True)  # each class's members, in reading order
    starts = torch.searchsorted(labels[order], labels[order], right=False)
    keep = order[(torch.arange(len(order)) - starts) < per_class]
    return part if len(keep) == len(part) else part.subset(torch.sort(keep).values)


def _as_pool(splits: Splits) -> Splits:
    """No training split: every split present becomes the one pool that train/val/test are carved from."""
    present = [name for name in SPLIT_ORDER if name in splits]
    if "train" in splits or not present:
        return splits
    parts = [splits[name] for name in present]
    pool = ImageSet(torch.cat([part.images for part in parts]), torch.cat([part.labels for part in parts]),
                    list(max((part.class_names for part in parts), key=len)))
    shown = " and ".join(f"{name} ({len(splits[name])} images)" for name in present)
    note = (f"no training files: the {shown} split{'s are' if len(present) > 1 else ' is'} the one pool that "
            "train, validation and test are carved from")
    return Splits({"train": pool}, [*splits.notes, note])


def register_source(name: str):
    """Decorator registering a data source builder ``fn(path=None) -> dict[str, ImageSet]``.

    >>> @register_source("my_data")                      # doctest: +SKIP
    ... def my_data(path=None): return {"train": ImageSet(images, labels, names)}
    """

    def decorate(builder):
        if name in _SOURCES:
            raise DataError(f"data source '{name}' is already registered")
        _SOURCES[name] = builder
        return builder

    return decorate


def list_sources() -> list[str]:
    """The registered data source names, sorted.

    >>> "mnist5k" in list_sources()   # doctest: +SKIP
    True
    """
    return sorted(_SOURCES)


def load_source(name: str, path: str | None = None, **options) -> Splits:
    """Load the named source's splits. ``options`` (e.g. ``input_size``, ``skip_bad``, ``max_per_class``)
    reach the sources that take them and are ignored by the others.

    >>> splits = load_source("mnist5k")
    >>> len(splits["train"]), splits["train"].image_shape
    (5000, (1, 28, 28))
    """
    if name not in _SOURCES:
        raise DataError(f"unknown data source '{name}'{did_you_mean(name, _SOURCES)}; expected one of {list_sources()}")
    builder = _SOURCES[name]
    accepted = inspect.signature(builder).parameters
    found = builder(path=path, **{key: value for key, value in options.items() if key in accepted})
    splits = _as_pool(Splits(found, notes_of(found)))
    cap = options.get("max_per_class") or 0
    if cap > 0 and "max_per_class" not in accepted:  # the source read everything: cap it now, as the folder does
        splits = Splits({key: cap_per_class(part, cap) for key, part in splits.items()}, splits.notes)
    return splits
