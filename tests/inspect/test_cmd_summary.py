"""'striate summary' on a registered model, a network spec and a run directory."""

import json
from pathlib import Path

import pytest

from striate.cli.main import main

NETS = Path(__file__).resolve().parents[2] / "recipes" / "nets"


def test_summary_of_a_registered_model_prints_rows_and_totals(capsys):
    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "lenet5 on a 1x32x32 input" in out
    assert "features.conv2" in out and "16x10x10" in out and "2,416" in out
    assert "61,706" in out and "416,520" in out


def test_summary_json_of_a_spec_with_an_input_shape(capsys):
    assert main(["summary", str(NETS / "lenet5.yaml"), "--input", "1x36x36", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shape"] == [1, 36, 36]
    conv1 = next(row for row in data["rows"] if row["name"] == "features.conv1")
    assert conv1["output_shape"] == [6, 32, 32] and conv1["rf_size"] == 5
    assert data["totals"]["params"] == sum(row["params"] for row in data["rows"])


def test_summary_of_a_big_model_allocates_no_weights(capsys):
    assert main(["summary", "vgg16", "--json"]) == 0  # built on the meta device
    assert json.loads(capsys.readouterr().out)["totals"]["params"] == 138_357_544


def test_summary_of_a_run_uses_its_input_shape(tiny_run, capsys):
    assert main(["summary", str(tiny_run)]) == 0
    assert "on a 1x8x8 input" in capsys.readouterr().out


@pytest.mark.parametrize("arguments,message", [
    (["summary", "lenet5", "--input", "32x32"], "channels x height x width"),
    (["summary", "lenet5", "--input", "1x8x8"], "lenet5 needs inputs of at least 32x32"),
    (["summary", "lenet"], "did you mean 'lenet5'"),
    (["summary", "missing.yaml"], "network spec not found"),
])
def test_summary_errors_are_one_line(arguments, message, capsys):
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
