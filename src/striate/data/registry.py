"""The registry of data sources by name.

A source is a builder ``fn(path=None, **options) -> dict[str, ImageSet]`` registered under a name with
:func:`register_source`. The built-in sources live in :mod:`striate.data.sources` and
:mod:`striate.data.file_sources`; importing any ``striate.data`` module registers them (the package's
``__init__`` imports both). This module imports neither, so they can both import it.
"""

import inspect
from collections.abc import Callable

from striate.data.dataset import ImageSet
from striate.errors import DataError, did_you_mean

_SOURCES: dict[str, Callable[..., dict[str, ImageSet]]] = {}


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


def load_source(name: str, path: str | None = None, **options) -> dict[str, ImageSet]:
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
    return builder(path=path, **{key: value for key, value in options.items() if key in accepted})
