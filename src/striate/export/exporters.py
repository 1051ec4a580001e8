"""Export a model to ONNX or TorchScript and check the file against PyTorch with the file's own runtime.

The file is written only after the check passes (nothing half-written): the exported bytes are
run by onnxruntime (ONNX) or ``torch.jit.load`` (TorchScript) on seeded sample inputs, and the
largest absolute difference from the PyTorch logits must stay within the tolerance.

>>> payload = export_model(model, (1, 32, 32), "onnx", metadata={"striate.class_names": '["a", "b"]'})  # doctest: +SKIP
>>> parity = check_parity(model, payload, "onnx", (1, 32, 32), [1, 7])        # doctest: +SKIP
>>> parity["max_abs_diff"] < 1e-4                                              # doctest: +SKIP
True
>>> onnx_metadata(payload)["striate.class_names"]                              # doctest: +SKIP
['a', 'b']
"""

import contextlib
import io
import json
import logging
import warnings

import numpy as np
import torch
from torch import nn

from striate.errors import ConfigError, ExportError, did_you_mean

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
INPUT_NAME, OUTPUT_NAME = "images", "logits"
DEFAULT_TOLERANCE = 1e-4  # on logits; float32 kernels of two runtimes agree to about 1e-5
ONNX_OPSET = 18


def check_format(format: str) -> str:
    if format not in FORMATS:
        raise ConfigError(f"unknown export format '{format}'{did_you_mean(format, FORMATS)}; expected one of {FORMATS}")
    return format


@contextlib.contextmanager
def _quiet():
    """The exporters talk a lot (deprecation notes, missing torchvision ops); keep the terminal for results."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_model(model: nn.Module, input_shape, format: str, dynamic_batch: bool = True,
                 metadata: dict[str, str] | None = None) -> bytes:
    """The model (eval mode, CPU) as ONNX or TorchScript bytes, for inputs ``N x input_shape``.

    ONNX: torch's exporter (``torch.export`` based); the batch axis is named ``batch`` and free
    (the default), or fixed at 1 with ``dynamic_batch=False``; ``metadata`` (string keys and
    values) goes into the model's ``metadata_props``, which onnxruntime reads back with
    ``session.get_modelmeta().custom_metadata_map``. TorchScript: a trace, which takes any batch
    size when the model's reshapes keep the batch axis (all striate models do); ``metadata`` is
    not stored there.
    """
    check_format(format)
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"export metadata must map strings to strings, got {key!r}: {type(value).__name__}")
    model = model.cpu().eval()
    sample = torch.randn(2 if dynamic_batch else 1, *input_shape)
    try:
        with _quiet(), torch.no_grad():
            if format == "onnx":
                return _to_onnx(model, sample, dynamic_batch, metadata or {})
            buffer = io.BytesIO()
            torch.jit.save(torch.jit.trace(model, sample, check_trace=False), buffer)
            return buffer.getvalue()
    except ImportError as error:
        raise ExportError(f"ONNX export needs the 'export' extra ({error}); install it with: pip install 'striate[export]'") from None
    except Exception as error:  # the exporters raise many kinds; say which model and why
        raise ExportError(f"could not export {type(model).__name__} to {format}: {type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''}") from None


def _to_onnx(model: nn.Module, sample: torch.Tensor, dynamic_batch: bool, metadata: dict[str, str]) -> bytes:
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    program = torch.onnx.export(model, (sample,), None, dynamo=True, verbose=False, opset_version=ONNX_OPSET,
                                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_shapes=dynamic_shapes)
    proto = program.model_proto
    for key, value in metadata.items():
        entry = next((prop for prop in proto.metadata_props if prop.key == key), None) or proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def onnx_metadata(payload: bytes) -> dict:
    """The ``metadata_props`` of ONNX bytes as a dict, each value decoded from JSON where it is JSON
    (striate writes its ``striate.*`` entries as JSON) and left a string otherwise."""
    try:
        import onnx
    except ImportError:
        raise ExportError("reading ONNX metadata needs onnx; install it with: pip install 'striate[export]'") from None
    try:
        proto = onnx.load_model_from_string(payload)
    except Exception as error:
        raise ExportError(f"not a readable ONNX model ({type(error).__name__})") from None
    metadata = {}
    for prop in proto.metadata_props:
        try:
            metadata[prop.key] = json.loads(prop.value)
        except ValueError:
            metadata[prop.key] = prop.value
    return metadata


def load_exported(payload: bytes, format: str):
    """Exported bytes -> a function from an input batch to logits, run by the format's own runtime
    (an onnxruntime session, or the TorchScript interpreter)."""
    check_format(format)
    if format == "onnx":
        try:
            import onnxruntime
        except ImportError:
            raise ExportError("checking an ONNX file needs onnxruntime; install it with: pip install 'striate[export]'") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        session = onnxruntime.InferenceSession(payload, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda inputs: session.run(None, {name: inputs.numpy()})[0]
    with _quiet():  # torch 2.9+ marks TorchScript deprecated on every load
        module = torch.jit.load(io.BytesIO(payload), map_location="cpu")

    def run(inputs: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return module(inputs).numpy()

    return run


def run_exported(payload: bytes, format: str, inputs: torch.Tensor) -> np.ndarray:
    """Run exported bytes once with their own runtime -> logits."""
    return load_exported(payload, format)(inputs)


def sample_inputs(input_shape, batch_size: int, seed: int = 0) -> torch.Tensor:
    """Seeded standard-normal inputs: the range normalised images live in."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, *input_shape, generator=generator)


def check_parity(model: nn.Module, payload: bytes, format: str, input_shape, batch_sizes=(1,),
                 tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """Compare the exported file with PyTorch on sample inputs of each batch size.

    Returns ``{"max_abs_diff", "tolerance", "batch_sizes", "runtime"}``; raises ExportError above tolerance.
    """
    model = model.cpu().eval()
    exported = load_exported(payload, format)
    worst = 0.0
    for index, batch_size in enumerate(batch_sizes):
        inputs = sample_inputs(input_shape, batch_size, seed=index)
        with torch.no_grad():
            expected = model(inputs).numpy()
        try:
            actual = exported(inputs)
        except Exception as error:
            raise ExportError(f"the exported {format} file fails on a batch of {batch_size}: "
                              f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None
        if actual.shape != expected.shape:
            raise ExportError(f"the exported {format} file gives outputs of shape {actual.shape}; PyTorch gives "
                              f"{expected.shape} (batch of {batch_size})")
        worst = max(worst, float(np.abs(actual - expected).max(initial=0.0)))
    runtime = "onnxruntime" if format == "onnx" else "torch.jit.load"
    if not worst <= tolerance:  # also catches NaN
        raise ExportError(f"the exported {format} file differs from PyTorch by {worst:.3g} (max abs, logits), more than "
                          f"the tolerance {tolerance:g}; nothing was written (raise --tolerance if this is expected)")
    return {"max_abs_diff": worst, "tolerance": tolerance, "batch_sizes": list(batch_sizes), "runtime": runtime}
