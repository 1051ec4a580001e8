"""--json on every command that reports figures: stdout is one JSON document (progress and the text result
go to stderr), and it holds the same figures as the run's files."""

import argparse
import json

import pytest

from striate.cli.main import build_parser, main

FAST = ["--data.source", "digits", "--model", "mlp", "--model.args", "{hidden: [16]}", "--data.input_size", "8",
        "--epochs", "1", "--data.augment", "[]", "--run.report", "false", "--val_fraction", "0.15"]
REPORTING = ["advise", "check", "compare", "data info", "evaluate", "export", "lr-find", "models", "predict",
             "recipes", "summary", "train", "transfer finetune", "transfer linear", "transfer compare"]


def _subparser(parser: argparse.ArgumentParser, words: list[str]) -> argparse.ArgumentParser:
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


@pytest.mark.parametrize("command", REPORTING)
def test_every_reporting_command_takes_json(command):
    parser = _subparser(build_parser(), command.split())
    assert any("--json" in action.option_strings for action in parser._actions), command


def test_train_json_is_the_summary_and_stdout_holds_nothing_else(capsys, tmp_path):
    assert main(["train", *FAST, "--out_dir", str(tmp_path / "runs"), "--json"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    saved = json.loads((tmp_path / "runs" / printed["run"].rsplit("/", 1)[-1] / "summary.json").read_text())
    assert printed == saved
    assert "test accuracy" in captured.err  # the text result went to stderr


def test_transfer_linear_json(capsys, tmp_path, tiny_run):
    assert main(["transfer", "linear", "--from", str(tiny_run), "--C", "0.1", "--out", str(tmp_path / "clf"),
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "clf" / "classifier.json").read_text())
    assert printed["test_accuracy"] == saved["test_accuracy"] and printed["C"] == 0.1


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"lenet5", "resnet18"} <= {item["model"] for item in listed}
