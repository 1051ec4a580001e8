"""The wheel is the project: built from this checkout and installed in a fresh virtual environment outside
the source tree, it carries the recipes and network specs, and the README's commands give the same results
there as from the checkout."""

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(command: list, cwd: Path, timeout: int = 600) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv with the wheel installed; the dependencies come from this environment's
    site-packages through a .pth file (no download), the editable striate of the checkout does not."""
    root = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "--no-build-isolation", "-q", "-w", root / "dist"],
         root)
    wheel = next((root / "dist").glob("striate-*.whl"))
    _run([sys.executable, "-m", "venv", root / "venv"], root)
    site = next((root / "venv" / "lib").glob("python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([root / "venv" / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], root)
    return root / "venv" / "bin"


def _accuracy(output: str) -> str:
    return re.search(r"test accuracy ([0-9.]+%)", output).group(1)


@pytest.mark.slow
def test_the_installed_wheel_is_the_project(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    location = _run([installed / "python", "-c", "import striate; print(striate.__file__)"], elsewhere)
    assert str(REPO) not in location  # the wheel's copy, not the checkout's
    listed = _run([installed / "striate", "recipes"], elsewhere)
    assert "mnist-fast" in listed and "classics/relu-tanh-cifar10" in listed and "nets/lenet5" in listed
    flags = ["--epochs", "1", "--progress", "off", "--run.report", "false"]
    from_wheel = _run([installed / "striate", "train", "recipes/lenet5-mnist.yaml", *flags, "--out_dir",
                       elsewhere / "runs"], elsewhere)
    from_checkout = _run([Path(sys.executable).parent / "striate", "train", "recipes/lenet5-mnist.yaml", *flags,
                          "--out_dir", tmp_path / "checkout-runs"], REPO)
    assert _accuracy(from_wheel) == _accuracy(from_checkout)
    by_name = _run([installed / "striate", "train", "lenet5-spec-mnist", *flags, "--out_dir", elsewhere / "runs"],
                   elsewhere)  # its network spec, recipes/nets/lenet5.yaml, comes from the wheel too
    assert "test accuracy" in by_name
