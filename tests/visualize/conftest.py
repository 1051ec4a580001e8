"""Fixtures for the picture tests: a tiny convolutional network registered as 'test_tiny_cnn' and a
finished run of it on scikit-learn's 8x8 digits (about a second of training)."""

import sys
from pathlib import Path

import pytest

# the suite runs with --import-mode=importlib, which puts no test folder on sys.path: make this
# folder's helper modules (visualize_helpers, cdp_browser) importable by its test files
sys.path.insert(0, str(Path(__file__).resolve().parent))

from visualize_helpers import MODEL_NAME, TinyCNN, tiny_cnn_config  # noqa: E402

from striate.models import list_models, register_model  # noqa: E402


@pytest.fixture(scope="session")
def tiny_cnn_registered():
    """Registers TinyCNN as 'test_tiny_cnn' while the picture tests run, and removes it afterwards
    so that tests iterating over the zoo never see it."""
    from striate.models import registry

    if MODEL_NAME not in list_models():
        register_model(MODEL_NAME)(lambda num_classes=10, in_channels=1, input_size=8: TinyCNN(num_classes, in_channels, input_size))
    yield MODEL_NAME
    registry._BUILDERS.pop(MODEL_NAME, None)


@pytest.fixture(scope="session")
def tiny_cnn_run(tmp_path_factory, tiny_cnn_registered) -> Path:
    """A finished run directory of TinyCNN (shared by the tests that only read it)."""
    from striate.pipeline import train_from_config

    return Path(train_from_config(tiny_cnn_config(tmp_path_factory.mktemp("cnn-runs")))["run_dir"])
