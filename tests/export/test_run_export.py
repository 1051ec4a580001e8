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
    assert main(["export", str(tiny_run), "--format", format, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "max abs diff" in printed
    record = json.loads((tmp_path / f"model{suffix}.json").read_text())
    meta = json.loads((tiny_run / "model.json").read_text())
    assert record["format"] == format and record["dynamic_batch"] is True
    assert record["preprocess"] == meta["preprocess"] and record["class_names"] == meta["class_names"]
    assert record["input"]["shape"] == ["batch", *meta["input_shape"]]
    assert 0 <= record["parity"]["max_abs_diff"] <= record["parity"]["tolerance"]
    assert record["parity"]["batch_sizes"] == [1, 7]
    # Someone with only the file and its sidecar gets the Predictor's answers.
    inputs = to_network_input(digits, record["preprocess"])
    logits = run_exported(out.read_bytes(), format, inputs)
    expected = Predictor.from_run(tiny_run).probabilities(digits)
    assert np.abs(torch.softmax(torch.from_numpy(logits), 1).numpy() - expected.numpy()).max() < 1e-5


def test_static_batch_export_records_batch_one(tiny_run, tmp_path, capsys):
    out = tmp_path / "static.pt"
    assert main(["export", str(tiny_run), "--format", "torchscript", "--static-batch", "--out", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["input"]["shape"][0] == 1 and record["parity"]["batch_sizes"] == [1]
    assert record["dynamic_batch"] is False and record["path"] == str(out) and out.is_file()


def test_default_onnx_export_takes_any_batch_and_names_its_classes_in_metadata_props(tiny_run, tmp_path, capsys):
    """What another tool sees with only the .onnx file: onnxruntime runs batches of 1 and 7 (as PyTorch
    does), and the model's own metadata_props name the classes and the preprocessing."""
    onnxruntime = pytest.importorskip("onnxruntime")
    out = tmp_path / "model.onnx"
    assert main(["export", str(tiny_run), "--format", "onnx", "--out", str(out)]) == 0
    assert "metadata_props: striate.channels, striate.class_names" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"
    predictor = Predictor.from_run(tiny_run)
    meta = json.loads((tiny_run / "model.json").read_text())
    generator = torch.Generator().manual_seed(3)
    for batch_size in (1, 7):
        inputs = torch.randn(batch_size, *meta["input_shape"], generator=generator)
        with torch.no_grad():
            expected = predictor.model(inputs).numpy()
        logits = session.run(None, {"images": inputs.numpy()})[0]
        assert logits.shape == expected.shape and np.abs(logits - expected).max() < 1e-4
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["striate.class_names"]) == meta["class_names"]
    assert json.loads(props["striate.input_shape"]) == ["batch", *meta["input_shape"]]
    assert json.loads(props["striate.channels"]) == meta["input_shape"][0]
    normalization = json.loads(props["striate.normalization"])
    assert normalization["method"] == "channel"
    assert normalization["mean"] == meta["preprocess"]["mean"] and normalization["std"] == meta["preprocess"]["std"]


def test_static_onnx_export_rejects_a_batch_of_two(tiny_run, tmp_path, capsys):
    onnxruntime = pytest.importorskip("onnxruntime")
    out = tmp_path / "static.onnx"
    assert main(["export", str(tiny_run), "--format", "onnx", "--static-batch", "--out", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    assert shape[0] == 1 and json.loads(session.get_modelmeta().custom_metadata_map["striate.input_shape"]) == shape
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        session.run(None, {"images": np.zeros((2, *shape[1:]), np.float32)})
    with pytest.raises(SystemExit):  # fixed and free at once
        main(["export", str(tiny_run), "--format", "onnx", "--static-batch", "--dynamic-batch"])


def test_onnx_metadata_says_when_the_normalisation_is_not_per_channel(tiny_cfg, tmp_path):
    """A run normalised by the mean training image: no per-channel mean/std to give, and the file says so
    (the sidecar stays JSON: the mean image itself is not copied into it)."""
    pytest.importorskip("onnxruntime")
    from striate.export.exporters import onnx_metadata
    from striate.export.run_export import export_run
    from striate.session import train_run

    tiny_cfg.optim.epochs = 1
    tiny_cfg.data.normalize = "mean_image"
    run_dir = train_run(tiny_cfg)["run_dir"]
    record = export_run(run_dir, "onnx", tmp_path / "m.onnx")
    metadata = onnx_metadata((tmp_path / "m.onnx").read_bytes())
    assert metadata["striate.normalization"]["method"] == "mean_image"
    assert metadata["striate.normalization"]["mean"] is None and "not a per-channel" in metadata["striate.normalization"]["steps"]
    assert "arrays" not in record["preprocess"] and json.loads((tmp_path / "m.onnx.json").read_text())["normalization"]["mean"] is None


def test_export_errors_are_one_line_and_leave_nothing(tmp_path, capsys):
    out = tmp_path / "x.onnx"
    assert main(["export", str(tmp_path / "no-such-run"), "--format", "onnx", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("striate export: error: run directory not found") and "\n" not in error
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--format", "tflite"])
