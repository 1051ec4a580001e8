"""Fixtures for the picture tests: a tiny convolutional network registered as 'test_tiny_cnn' and a
finished run of it on scikit-learn's 8x8 digits (about a second of training)."""

import sys
from pathlib import Path

import pytest

# the suite runs with --import-mode=importlib, which puts no test folder on sys.path: make this
# folder's helper modules (visualize_helpers, cdp_browser) importable by its test files
sys.path.insert(0, str(Path(__file__).resolve().parent))

from visualize_helpers import tiny_cnn_config, tiny_cnn_in_registry  # noqa: E402


@pytest.fixture(autouse=True)
def tiny_cnn_registered():
    """Every picture test runs with TinyCNN registered (and only they do)."""
    with tiny_cnn_in_registry() as name:
        yield name


@pytest.fixture(scope="session")
def tiny_cnn_run(tmp_path_factory) -> Path:
    """A finished run directory of TinyCNN (shared by the tests that only read it)."""
    from striate.session import train_run

    with tiny_cnn_in_registry():
        return Path(train_run(tiny_cnn_config(tmp_path_factory.mktemp("cnn-runs")))["run_dir"])
