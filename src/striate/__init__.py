"""striate: convolutional neural networks on images.

Build a network from the classic blocks, train it, check that it is healthy,
look inside it, transfer it and ship it. PyTorch is the engine.

>>> import striate
>>> model = striate.create_model("lenet5", num_classes=10)
>>> sum(p.numel() for p in model.parameters())
61706
"""

from striate.errors import (
    ConfigError,
    DataError,
    ExportError,
    ModelError,
    RunError,
    StriateError,
    TrainingDivergedError,
)
from striate.models import create_model, list_models, register_model
from striate.version import __version__

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "ExportError",
    "ModelError",
    "RunError",
    "StriateError",
    "TrainingDivergedError",
    "create_model",
    "list_models",
    "register_model",
]
