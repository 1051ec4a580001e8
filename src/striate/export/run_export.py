"""Export a trained run: the model file plus a JSON sidecar that records the preprocessing.

    RUN/export/<model>.onnx        (or .pt for TorchScript); any batch size unless dynamic_batch=False
    RUN/export/<model>.onnx.json   class names, input shape and names, preprocessing, parity figures

An ONNX file carries the same facts a consumer needs in its own ``metadata_props`` (JSON strings under
the ``striate.*`` keys of :func:`onnx_metadata_props`), so the file alone names its classes.

>>> export_run("runs/lenet5-mnist", "onnx")["parity"]["max_abs_diff"]   # doctest: +SKIP
2.4e-06
"""

import hashlib
import json
from pathlib import Path

from striate.console import get_logger
from striate.data.preprocess import display_moments
from striate.export.exporters import (DEFAULT_TOLERANCE, INPUT_NAME, OUTPUT_NAME, SUFFIXES, check_format, check_parity,
                                      export_model)
from striate.files import atomic_write_bytes, atomic_write_json
from striate.session import load_run_model
from striate.version import __version__

PREPROCESS_STEPS = [
    "decode the image as uint8, grey (channels 1) or RGB (channels 3), laid out C x H x W",
    "resize (bilinear, antialiased) to native_size (height, width)",
    "bring to input_size x input_size: 'pad' centres it on a zero canvas, 'resize' rescales",
    "divide by 255, then normalise as 'normalization' says (per channel: subtract mean, divide by std)",
    "stack into a float32 batch N x C x input_size x input_size; the outputs are logits (softmax gives probabilities)",
]


_log = get_logger(__name__)
PARITY_BATCH_SIZES = (1, 7)  # a free batch axis is checked on one image and on several
NORMALIZATION_NOTES = {
    "channel": "divide by 255, subtract mean and divide by std per channel",
    "none": "divide by 255; nothing else",
    "mean_image": "divide by 255, subtract the mean training image (an array in the run's preprocess.safetensors); "
                  "not a per-channel mean/std",
    "pca_white": "divide by 255, subtract the mean training image and multiply the flattened image by the PCA "
                 "whitening matrix (in the run's preprocess.safetensors); not a per-channel mean/std",
    "zca_white": "divide by 255, subtract the mean training image and multiply the flattened image by the ZCA "
                 "whitening matrix (in the run's preprocess.safetensors); not a per-channel mean/std",
}


def preprocess_figures(preprocess: dict) -> dict:
    """The run's preprocessing record without its arrays (the mean image, a whitening matrix): JSON-ready."""
    return {key: value for key, value in preprocess.items() if key != "arrays"}


def normalization(preprocess: dict) -> dict:
    """``{"method", "mean", "std", "steps"}``: mean and std per channel where the normalisation is a
    per-channel affine map (``channel``, ``none``), null where it is not (mean image, PCA/ZCA whitening)."""
    method = preprocess.get("normalize", "channel")
    mean, std = display_moments(preprocess)
    return {"method": method, "mean": mean, "std": std, "steps": NORMALIZATION_NOTES.get(method, method)}


def onnx_metadata_props(meta: dict, input_shape: tuple, dynamic_batch: bool) -> dict[str, str]:
    """What an ONNX consumer needs, as ``metadata_props`` entries: each value a JSON string."""
    preprocess = meta["preprocess"]
    props = {
        "striate.class_names": meta["class_names"],
        "striate.input_name": INPUT_NAME,
        "striate.input_shape": ["batch" if dynamic_batch else 1, *input_shape],
        "striate.channels": int(input_shape[0]),
        "striate.input_size": list(input_shape[1:]),
        "striate.normalization": normalization(preprocess),
        "striate.preprocess": preprocess_figures(preprocess),
        "striate.output": f"{OUTPUT_NAME}: logits, one per class name; softmax gives probabilities",
        "striate.model": meta["model"],
        "striate.version": __version__,
    }
    return {key: json.dumps(value) for key, value in props.items()}


def default_export_path(run_dir: str | Path, model_name: str, format: str) -> Path:
    return Path(run_dir) / "export" / f"{model_name}{SUFFIXES[format]}"


def sidecar_path(model_path: str | Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".json")


def export_run(run_dir: str | Path, format: str, out: str | Path | None = None, dynamic_batch: bool = True,
               tolerance: float = DEFAULT_TOLERANCE, weights: str = "best") -> dict:
    """Export the run's model, check it with its runtime, then write it and its sidecar.

    The batch axis is free by default (checked on batches of 1 and 7); ``dynamic_batch=False`` fixes it at 1.

    Returns the sidecar's contents plus ``path`` and ``sidecar``; raises ExportError (writing
    nothing) when export fails or the file differs from PyTorch by more than ``tolerance``.
    """
    check_format(format)
    model, meta = load_run_model(run_dir, weights)
    input_shape = tuple(meta["input_shape"])
    metadata = onnx_metadata_props(meta, input_shape, dynamic_batch) if format == "onnx" else None
    _log.info(f"export: {meta['model']['name']} to {format} ...")
    payload = export_model(model, input_shape, format, dynamic_batch, metadata)
    _log.info(f"export: checking the {format} file against PyTorch ...")
    parity = check_parity(model, payload, format, input_shape, PARITY_BATCH_SIZES if dynamic_batch else (1,), tolerance)
    path = Path(out) if out else default_export_path(run_dir, meta["model"]["name"], format)
    record = {
        "format": format, "file": path.name, "sha256": hashlib.sha256(payload).hexdigest(),
        "striate_version": __version__, "run": str(run_dir), "weights": weights,
        "model": meta["model"], "class_names": meta["class_names"],
        "input": {"name": INPUT_NAME, "shape": ["batch" if dynamic_batch else 1, *input_shape], "dtype": "float32"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch" if dynamic_batch else 1, len(meta["class_names"])]},
        "dynamic_batch": dynamic_batch, "preprocess": preprocess_figures(meta["preprocess"]),
        "normalization": normalization(meta["preprocess"]), "preprocess_steps": PREPROCESS_STEPS,
        "metadata_props": sorted(metadata) if metadata else [], "parity": parity,
    }
    atomic_write_bytes(path, payload)
    atomic_write_json(sidecar_path(path), record)
    return {**record, "path": str(path), "sidecar": str(sidecar_path(path))}
