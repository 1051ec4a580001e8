"""``striate playground``: its help answers without importing torch, a bad port is one line and exit 2, and
tab completion knows the command."""

import ast
import subprocess
import sys

PROBE = """
import contextlib, io, sys
from striate.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    try:
        code = main({argv!r})
    except SystemExit as exit:
        code = exit.code
print(repr(out.getvalue()))
print(code, "torch" in sys.modules)
"""


def probe(argv: list[str]) -> tuple[str, list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2, result.stdout + result.stderr
    return ast.literal_eval(lines[0]), lines[1].split()


def test_help_imports_no_torch_and_names_the_page():
    output, (code, torch_loaded) = probe(["playground", "--help"])
    assert code == "0" and torch_loaded == "False"
    assert "--port" in output and "--host" in output and "/playground" in output


def test_a_bad_port_is_one_line_and_exit_code_2():
    output, (code, torch_loaded) = probe(["playground", "--port", "70000"])
    assert code == "2" and torch_loaded == "False"
    assert output.strip() == "striate playground: error: --port must be between 1 and 65535, got 70000"


def test_completion_lists_the_command_and_its_options():
    from striate.cli.cmd_completion import completion_table

    table = completion_table()
    assert "playground" in table[""] and {"--host", "--port"} <= set(table["playground"])
