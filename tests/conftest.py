"""Shared fixtures: tiny configs, a tiny trained run, the real data in ../shared/data when present, and the
benchmark scripts of bench/ as modules."""

import importlib.util
import os
from pathlib import Path

import pytest

from striate.training.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STRIATE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def load_bench():
    """``load_bench("cifar10_fast")``: bench/cifar10_fast.py loaded as a module (bench/ is not a package)."""
    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (or $STRIATE_SHARED_DATA); the test is skipped when it is absent."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"needs the real data sets in {SHARED_DATA} (set STRIATE_SHARED_DATA to their folder)")
    return SHARED_DATA


def tiny_config(out_dir: Path, **overrides) -> Config:
    """An MLP on scikit-learn's 8x8 digits: trains in about a second."""
    config = Config()
    config.model.name = "mlp"
    config.model.args = {"hidden": [32]}
    config.data.source = "digits"
    config.data.input_size = 8
    config.data.val_fraction = 0.15  # 240 validation images: enough to choose an epoch by (data.splits)
    config.data.augment = []  # the default recipe shifts digits; 8x8 digits learn faster without
    config.optim.epochs = 2
    config.optim.lr = 0.1
    config.optim.batch_size = 32
    config.run.out_dir = str(out_dir)
    config.run.name = "tiny"
    config.run.progress = "off"
    for key, value in overrides.items():
        section, name = key.split("__")
        setattr(getattr(config, section), name, value)
    return config


@pytest.fixture
def tiny_cfg(tmp_path) -> Config:
    return tiny_config(tmp_path / "runs")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A finished run directory of a tiny MLP on digits (shared by the tests that only read it)."""
    from striate.session import train_run

    out = tmp_path_factory.mktemp("runs")
    result = train_run(tiny_config(out))
    return Path(result["run_dir"])


@pytest.fixture
def tmp_cfg_factory(tmp_path):
    """tiny_config under tmp_path with a given run name: ``tmp_cfg_factory("a", epochs=3)``."""

    def make(name: str, **optim) -> Config:
        config = tiny_config(tmp_path / "runs")
        config.run.name = name
        for key, value in optim.items():
            setattr(config.optim, key, value)
        return config

    return make


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own striate cache folder (the decoded image-folder cache), never the user's."""
    monkeypatch.setenv("STRIATE_CACHE", str(tmp_path_factory.mktemp("striate-cache")))
