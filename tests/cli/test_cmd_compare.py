"""striate compare from the command line: the table printed, re-runs reused, bad input one line and exit 2."""

import json

import pytest

from striate.cli.main import main

TINY = ["--model", "mlp", "--model.args.hidden", "[16]", "--data.source", "digits", "--data.input_size", "8",
        "--epochs", "1", "--lr", "0.1", "--batch_size", "32"]


@pytest.mark.slow
def test_compare_prints_the_table_and_reuses_runs(tmp_path, capsys):
    argv = ["compare", *TINY, "--vary", "model.args.activation=relu,tanh", "--seeds", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "2 run(s) trained, 0 reused" in first
    assert "activation=relu" in first and "activation=tanh" in first
    assert (tmp_path / "comparison.md").read_text().count("activation=") == 2
    recorded = json.loads((tmp_path / "comparison.json").read_text())["command"]
    assert recorded.startswith("striate compare --model mlp") and "--vary model.args.activation=relu,tanh" in recorded
    assert main(argv) == 0
    assert "0 run(s) trained, 2 reused" in capsys.readouterr().out


@pytest.mark.parametrize("extra, fragment", [([], "at least one --vary"),
                                             (["--vary", "optim.lrr=0.1,0.2"], "optim.lr"),
                                             (["--vary", "lr=0.1", "--target", "accuracy=0.9"], "unknown metric"),
                                             (["--vary", "lr=0.1", "--seeds", "0"], "at least 1")])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, fragment):
    assert main(["compare", *TINY, "--out", str(tmp_path), *extra]) == 2
    error = capsys.readouterr().err
    assert fragment in error and len(error.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written
