"""Shell completion: the bash script, run by a real bash, completes commands, sub-commands, options and
recipe names from the parser itself; --install writes it where bash-completion loads it."""

import shutil
import subprocess

import pytest

from striate.cli.cmd_completion import bash_script, zsh_script
from striate.cli.main import main

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

COMPLETE = """
source {script}
complete_words() {{ COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); _striate; echo "${{COMPREPLY[@]}}"; }}
cd {empty}
complete_words {words}
"""


def _complete(tmp_path, words: str) -> list[str]:
    script = tmp_path / "striate.bash"
    script.write_text(bash_script())
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    result = subprocess.run(["bash", "-c", COMPLETE.format(script=script, empty=empty, words=words)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("words, expected", [
    ("striate tr", ["train", "transfer"]),
    ("striate transfer f", ["finetune"]),
    ("striate train mnist-f", ["mnist-fast"]),
    ("striate transfer finetune --fr", ["--freeze", "--freeze-stages", "--from"]),
    ("striate evaluate --js", ["--json"]),
])
def test_bash_completes_from_the_parser(tmp_path, words, expected):
    assert _complete(tmp_path, words) == expected


def test_zsh_script_loads_bash_completion():
    assert zsh_script().startswith("# zsh") and "bashcompinit" in zsh_script() and "_striate" in zsh_script()


def test_install_writes_the_bash_completion_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["completion", "bash", "--install"]) == 0
    installed = tmp_path / ".local" / "share" / "bash-completion" / "completions" / "striate"
    assert installed.read_text() == bash_script()
