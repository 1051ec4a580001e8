"""Export a trained run: the model file plus a JSON sidecar that records the preprocessing.

    RUN/export/<model>.onnx        (or .pt for TorchScript)
    RUN/export/<model>.onnx.json   class names, input shape and names, preprocessing, parity figures

>>> export_run("runs/lenet5-mnist", "onnx", dynamic_batch=True)["parity"]["max_abs_diff"]   # doctest: +SKIP
2.4e-06
"""

import hashlib
from pathlib import Path


from striate.export.exporters import (DEFAULT_TOLERANCE, INPUT_NAME, OUTPUT_NAME, SUFFIXES, check_format, check_parity,
                                      export_model)
from striate.files import atomic_write_bytes, atomic_write_json
from striate.session import load_run_model
from striate.version import __version__

PREPROCESS_STEPS = [
    "decode the image as uint8, grey (channels 1) or RGB (channels 3), laid out C x H x W",
    "resize (bilinear, antialiased) to native_size (height, width)",
    "bring to input_size x input_size: 'pad' centres it on a zero canvas, 'resize' rescales",
    "divide by 255, subtract mean and divide by std per channel",
    "stack into a float32 batch N x C x input_size x input_size; the outputs are logits (softmax gives probabilities)",
]


def default_export_path(run_dir: str | Path, model_name: str, format: str) -> Path:
    return Path(run_dir) / "export" / f"{model_name}{SUFFIXES[format]}"


def sidecar_path(model_path: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".json")


def export_run(run_dir: str | Path, format: str, out: str | Path | None = None, dynamic_batch: bool = False,
               tolerance: float = DEFAULT_TOLERANCE, weights: str = "best") -> dict:
    """Export the run's model, check it with its runtime, then write it and its sidecar.

    Returns the sidecar's contents plus ``path`` and ``sidecar``; raises ExportError (writing
    nothing) when export fails or the file differs from PyTorch by more than ``tolerance``.
    """
    check_format(format)
    model, meta = load_run_model(run_dir, weights)
    input_shape = tuple(meta["input_shape"])
    payload = export_model(model, input_shape, format, dynamic_batch)
    parity = check_parity(model, payload, format, input_shape, (1, 3) if dynamic_batch else (1,), tolerance)
    path = Path(out) if out else default_export_path(run_dir, meta["model"]["name"], format)
    record = {
        "format": format, "file": path.name, "sha256": hashlib.sha256(payload).hexdigest(),
        "striate_version": __version__, "run": str(run_dir), "weights": weights,
        "model": meta["model"], "class_names": meta["class_names"],
        "input": {"name": INPUT_NAME, "shape": ["batch" if dynamic_batch else 1, *input_shape], "dtype": "float32"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch" if dynamic_batch else 1, len(meta["class_names"])]},
        "dynamic_batch": dynamic_batch, "preprocess": meta["preprocess"], "preprocess_steps": PREPROCESS_STEPS,
        "parity": parity,
    }
    atomic_write_bytes(path, payload)
    atomic_write_json(sidecar_path(path), record)
    return {**record, "path": str(path), "sidecar": str(sidecar_path(path))}
