"""Helpers for the picture tests: a tiny convolutional network, its training config, a PNG decoder."""

import contextlib
import io
from pathlib import Path

from torch import nn

from striate.models import Classifier, list_models, register_model
from striate.training.config import Config

MODEL_NAME = "test_tiny_cnn"  # registered by the tiny_cnn_registered fixture (conftest.py)


class TinyCNN(Classifier):
    """conv3x3(4) - ReLU - maxpool2 - conv3x3(8) - ReLU - flatten - linear."""

    def __init__(self, num_classes=10, in_channels=1, input_size=8):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv1", nn.Conv2d(in_channels, 4, kernel_size=3, padding=1))
        self.features.add_module("act1", nn.ReLU())
        self.features.add_module("pool1", nn.MaxPool2d(2))
        self.features.add_module("conv2", nn.Conv2d(4, 8, kernel_size=3, padding=1))
        self.features.add_module("act2", nn.ReLU())
        self.features.add_module("flatten", nn.Flatten())  # 8 x s x s -> 8*s*s
        self.num_features = 8 * (input_size // 2) ** 2
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.conv2"]


def decode_png(data_or_path) -> tuple[int, int]:
    """Open and fully decode a PNG (bytes or path) with PIL; returns (width, height)."""
    from PIL import Image

    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with Image.open(source) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def tiny_cnn_config(out_dir: Path, name: str = "tiny-cnn") -> Config:
    """TinyCNN on the 8x8 digits, 2 epochs, no progress display."""
    config = Config()
    config.model.name, config.model.args = MODEL_NAME, {}
    config.data.source, config.data.input_size = "digits", 8
    config.optim.epochs, config.optim.lr, config.optim.batch_size = 2, 0.1, 64
    config.run.out_dir, config.run.name, config.run.progress = str(out_dir), name, "off"
    return config


@contextlib.contextmanager
def tiny_cnn_in_registry():
    """TinyCNN registered as 'test_tiny_cnn' inside the block only, so that no other test (one
    counting or iterating over the zoo, say) ever sees it."""
    from striate.models import registry

    added = MODEL_NAME not in list_models()
    if added:
        register_model(MODEL_NAME)(lambda num_classes=10, in_channels=1, input_size=8: TinyCNN(num_classes, in_channels, input_size))
    try:
        yield MODEL_NAME
    finally:
        if added:
            registry._BUILDERS.pop(MODEL_NAME, None)
