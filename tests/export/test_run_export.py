"""'striate export RUN': the file, its preprocessing sidecar, the parity figures, and clear failures."""

import json

import numpy as np
import pytest
import torch

from striate.cli.main import main
from striate.data import load_source
from striate.data.images import to_network_input
from striate.export import Predictor, run_exported


@pytest.fixture(scope="module")
def digits():
    """A few real 8x8 digits (the tiny run's data) as uint8 C x H x W tensors."""
    return list(load_source("digits")["train"].images[:6])


@pytest.mark.parametrize("format, suffix", [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_export_writes_a_checked_file_with_its_preprocessing(tiny_run, tmp_path, capsys, digits, format, suffix):
    if format == "onnx":
        pytest.importorskip("onnxruntime")
    out = tmp_path / f"model{suffix}"
    assert main(["export", str(tiny_run), "--format", format, "--dynamic-batch", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "max abs diff" in printed
    record = json.loads((tmp_path / f"model{suffix}.json").read_text())
    meta = json.loads((tiny_run / "model.json").read_text())
    assert record["format"] == format and record["dynamic_batch"] is True
    assert record["preprocess"] == meta["preprocess"] and record["class_names"] == meta["class_names"]
    assert record["input"]["shape"] == ["batch", *meta["input_shape"]]
    assert 0 <= record["parity"]["max_abs_diff"] <= record["parity"]["tolerance"]
    # Someone with only the file and its sidecar gets the Predictor's answers.
    inputs = to_network_input(digits, record["preprocess"])
    logits = run_exported(out.read_bytes(), format, inputs)
    expected = Predictor.from_run(tiny_run).probabilities(digits)
    assert np.abs(torch.softmax(torch.from_numpy(logits), 1).numpy() - expected.numpy()).max() < 1e-5


def test_static_batch_export_records_batch_one(tiny_run, tmp_path, capsys):
    out = tmp_path / "static.pt"
    assert main(["export", str(tiny_run), "--format", "torchscript", "--out", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["input"]["shape"][0] == 1 and record["parity"]["batch_sizes"] == [1]
    assert record["path"] == str(out) and out.is_file()


def test_export_errors_are_one_line_and_leave_nothing(tmp_path, capsys):
    out = tmp_path / "x.onnx"
    assert main(["export", str(tmp_path / "no-such-run"), "--format", "onnx", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("striate export: error: run directory not found") and "\n" not in error
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--format", "tflite"])
