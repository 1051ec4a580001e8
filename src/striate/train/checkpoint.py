"""Safe files: atomic writes (temporary file, fsync, rename) and weights as safetensors, never pickle."""

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from striate.errors import RunError


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that a crash at any moment leaves either the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, value) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


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
