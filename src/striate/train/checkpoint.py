"""Weights and checkpoints as safetensors, never pickle, written atomically (striate.files)."""

import json
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from striate.errors import RunError
from striate.files import atomic_write_bytes


def save_weights(path: str | Path, state_dict: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    """Save a state dict as safetensors (tensors made contiguous and moved to the CPU), atomically."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state_dict.items()}
    text_metadata = {"striate": json.dumps(metadata)} if metadata else None
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata=text_metadata))


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file into a state dict (no code is executed)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"weights file not found: {path}")
    try:
        return load_safetensors_bytes(path.read_bytes())
    except Exception as error:  # safetensors raises its own SafetensorError on corrupt headers
        raise RunError(f"{path}: not a readable safetensors file ({error}); the file is corrupt or truncated") from None


# ---- checkpoints: any nest of dicts, lists, tuples, numbers, strings, NumPy arrays and tensors, as one
# safetensors file whose metadata holds the JSON skeleton (tensors replaced by references). No pickle.

CHECKPOINT_KEY = "striate_checkpoint"


def _encode(value, tensors: dict, path: str):
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous()
        return {"__tensor__": path}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _encode(item, tensors, f"{path}.{key}") for key, item in value.items()}
        return {"__items__": [[key, _encode(item, tensors, f"{path}.{key}")] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(item, tensors, f"{path}.{index}") for index, item in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(item, tensors, f"{path}.{index}") for index, item in enumerate(value)]
    if type(value).__module__ == "numpy":
        import numpy as np

        array = np.asarray(value)
        return {"__ndarray__": array.tolist(), "dtype": str(array.dtype)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint at '{path}'")


def _decode(value, tensors: dict):
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__items__" in value:
        return {key: _decode(item, tensors) for key, item in value["__items__"]}
    if "__tuple__" in value:
        return tuple(_decode(item, tensors) for item in value["__tuple__"])
    if "__ndarray__" in value:
        import numpy as np

        return np.asarray(value["__ndarray__"], dtype=value["dtype"])
    return {key: _decode(item, tensors) for key, item in value.items()}


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (model and optimizer state dicts, counters, RNG states...) atomically to ``path``.

    >>> save_checkpoint("runs/x/checkpoint.safetensors", {"model": model.state_dict(), "epoch": 3})  # doctest: +SKIP
    """
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _encode(state, tensors, "state")
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata={CHECKPOINT_KEY: json.dumps(skeleton)}))


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (no code is executed)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise RunError(f"checkpoint not found: {path}; the run has not finished an epoch yet, so it cannot be resumed")
    tensors = load_weights(path)
    try:
        with safe_open(str(path), framework="pt") as file:
            skeleton = json.loads((file.metadata() or {})[CHECKPOINT_KEY])
    except (KeyError, json.JSONDecodeError):
        raise RunError(f"{path}: a safetensors file but not a striate checkpoint (no '{CHECKPOINT_KEY}' metadata)") from None
    return _decode(skeleton, tensors)
