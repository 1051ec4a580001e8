"""striate: convolutional neural networks on images.

Build a network from the classic blocks, train it, check that it is healthy, look inside it, transfer it and
ship it. PyTorch is the engine. ``import striate`` is light: the names below load their modules (and torch)
on first use.

>>> import striate
>>> run = striate.train(epochs=1)                      # doctest: +SKIP   (the default LeNet-5 recipe)
>>> striate.open_run(run.path).evaluate()["accuracy"]  # doctest: +SKIP
>>> model = striate.create_model("lenet5", num_classes=10)
>>> sum(p.numel() for p in model.parameters())
61706
"""

import importlib

from striate.errors import (
    ConfigError,
    DataError,
    ExportError,
    ModelError,
    RunError,
    StriateError,
    TrainingDivergedError,
)
from striate.version import __version__

# public name -> the module that defines it (imported on first use, PEP 562)
_LAZY = {
    "train": "striate.api", "open_run": "striate.api", "Run": "striate.api", "summary": "striate.api",
    "check": "striate.api", "lr_find": "striate.api", "compare": "striate.api",
    "create_model": "striate.models", "list_models": "striate.models", "register_model": "striate.models",
    "Config": "striate.training.config", "load_recipe": "striate.training.config",
    "list_sources": "striate.data", "register_source": "striate.data",
    "ClassificationTask": "striate.tasks", "FineTunePlan": "striate.training.plan",
    "finetune": "striate.api",
}

__all__ = ["__version__", "ConfigError", "DataError", "ExportError", "ModelError", "RunError", "StriateError",
           "TrainingDivergedError", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'striate' has no attribute '{name}'")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
