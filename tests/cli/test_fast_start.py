"""``striate --help``, ``--version``, every sub-command's ``--help`` and argument errors answer without importing
torch (a second or more of start-up) or numpy (0.15 s), checked in a fresh interpreter."""

import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, sys
from striate.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    try:
        code = main({argv!r})
    except SystemExit as exit:
        code = exit.code
print(code, "torch" in sys.modules, "numpy" in sys.modules)
"""


@pytest.mark.parametrize("argv, code", [
    (["--help"], 0), (["--version"], 0), (["train", "--help"], 0), (["transfer", "finetune", "--help"], 0),
    (["data", "--help"], 0), (["transfer", "linear", "--help"], 0), (["playground", "--help"], 0), (["bogus"], 2), (["train", "--nonsense", "3"], 2), (["train", "--epochs", "x"], 2),
])
def test_help_version_and_argument_errors_import_no_torch_or_numpy(argv, code):
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == [str(code), "False", "False"], result.stdout + result.stderr


def test_the_probe_sees_torch_when_a_command_needs_it():
    """The negative control: a command that builds a model imports torch, and the probe says so."""
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=["models"])], capture_output=True, text=True,
                            timeout=300)
    assert result.stdout.split()[-2:] == ["True", "True"], result.stdout + result.stderr


def test_the_cli_names_the_sessions_default_recipe():
    from striate.cli.common import DEFAULT_RECIPE
    from striate.session.config import DEFAULT_RECIPE as SESSION_DEFAULT

    assert DEFAULT_RECIPE == SESSION_DEFAULT
