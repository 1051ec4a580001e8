"""Weights and checkpoints as safetensors, never pickle, written atomically (striate.files).

Reading checks before use: the safetensors header (its declared length against the file, at most
:data:`MAX_HEADER_BYTES`, a JSON object with string metadata; the tensor table itself is checked by
safetensors), and for a checkpoint its JSON skeleton (at most :data:`MAX_SKELETON_CHARS`, only known
markers, references to tensors that exist, plain dtypes) and the figures training resumes from (loop
counters, best figure, schedule, early stopping, random states). Anything wrong is a RunError.
"""

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from striate.errors import RunError, clip, short
from striate.files import atomic_write_bytes

MAX_HEADER_BYTES = 100 * 1024**2  # safetensors' own limit on the JSON header
MAX_SKELETON_CHARS = 16 * 1024**2  # a checkpoint's JSON skeleton: a few kB to a few MB in a real run
MAX_COUNT = 2**53  # epochs, steps, batches, images: anything larger is a corrupt number


def save_weights(path: str | Path, state_dict: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    """Save a state dict as safetensors (tensors made contiguous and moved to the CPU), atomically."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state_dict.items()}
    text_metadata = {"striate": json.dumps(metadata)} if metadata else None
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata=text_metadata))


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and the metadata of a safetensors file, its header checked first."""
    if not path.is_file():
        raise RunError(f"weights file not found: {path}")
    damaged = "the file is corrupt or truncated (train again, or restore it from a copy)"
    raw = path.read_bytes()
    if len(raw) < 8:
        raise RunError(f"{path}: not a readable safetensors file ({len(raw)} bytes, no header); {damaged}")
    length = int.from_bytes(raw[:8], "little")
    if length > min(len(raw) - 8, MAX_HEADER_BYTES):
        raise RunError(f"{path}: not a readable safetensors file (its header declares {length:,} bytes, the file "
                       f"holds {len(raw) - 8:,} after the length, the limit is {MAX_HEADER_BYTES:,}); {damaged}")
    try:
        header = json.loads(raw[8 : 8 + length].decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise RunError(f"{path}: not a readable safetensors file (corrupt header: {clip(error, 120)}); {damaged}") \
            from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(header, dict) or not isinstance(metadata or {}, dict) \
            or not all(isinstance(key, str) and isinstance(value, str) for key, value in (metadata or {}).items()):
        raise RunError(f"{path}: not a readable safetensors file (its header is not a table of tensors with text "
                       f"metadata); {damaged}")
    try:
        tensors = load_safetensors_bytes(raw)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own SafetensorError on corrupt headers
        raise RunError(f"{path}: not a readable safetensors file ({clip(error, 200)}); {damaged}") from None
    return tensors, metadata or {}


def read_state_file(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors (never executes code) or .pt/.pth (tensors only: weights_only=True)."""
    if path.suffix == ".safetensors":
        return load_weights(path)
    if path.suffix in (".pt", ".pth", ".bin"):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # pickle errors of every kind: refuse anything but tensors
            raise RunError(f"{path}: not a plain state dict of tensors ({str(error).splitlines()[0]})") from None
        state = state.get("state_dict", state.get("model", state)) if isinstance(state, dict) else state
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise RunError(f"{path}: expected a state dict (names -> tensors)")
        return state
    raise RunError(f"{path}: unknown weights format; give a .safetensors, .pt or .pth file, or a run directory")


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file into a state dict (no code is executed; the header is checked first)."""
    return _read_safetensors(Path(path))[0]


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


class _Bad(Exception):
    """What is wrong in a checkpoint's skeleton or state (load_checkpoint names the file)."""


_NDARRAY_KINDS = "biufcU"  # numbers, booleans and text; never objects


def _decode(value, tensors: dict, where: str = "state"):
    if isinstance(value, list):
        return [_decode(item, tensors, f"{where}.{index}") for index, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        name = value["__tensor__"]
        if not isinstance(name, str) or name not in tensors:
            raise _Bad(f"'{where}' refers to tensor {short(name)}, which the file does not hold")
        return tensors[name]
    if "__items__" in value:
        items = value["__items__"]
        if not isinstance(items, list) or not all(isinstance(item, list) and len(item) == 2 for item in items) \
                or not all(item[0] is None or isinstance(item[0], (str, int, float)) for item in items):
            raise _Bad(f"'{where}' must be a list of [key, value] pairs with plain keys, found {short(items)}")
        return {key: _decode(item, tensors, f"{where}.{key}") for key, item in items}
    if "__tuple__" in value:
        items = value["__tuple__"]
        if not isinstance(items, list):
            raise _Bad(f"'{where}' must hold a list of a tuple's items, found {short(items)}")
        return tuple(_decode(item, tensors, f"{where}.{index}") for index, item in enumerate(items))
    if "__ndarray__" in value:
        import numpy as np

        try:
            dtype = np.dtype(value.get("dtype"))
            if dtype.kind not in _NDARRAY_KINDS:
                raise TypeError(f"dtype {dtype} is not a plain number or text type")
            return np.asarray(value["__ndarray__"], dtype=dtype)
        except (TypeError, ValueError, OverflowError) as error:
            raise _Bad(f"'{where}' is not a valid array ({clip(error, 120)})") from None
    return {key: _decode(item, tensors, f"{where}.{key}") for key, item in value.items()}


def _count(value, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_COUNT:
        raise _Bad(f"'{where}' must be a whole number >= {low}, found {short(value)}")
    return value


def _real(value, where: str, finite: bool = True, optional: bool = False):
    if optional and value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (finite and not math.isfinite(value)):
        raise _Bad(f"'{where}' must be a {'finite ' if finite else ''}number{' or null' if optional else ''}, "
                   f"found {short(value)}")
    return value


def _section(state: dict, key: str, optional: bool = False) -> dict | None:
    if key not in state:
        raise _Bad(f"no '{key}' entry")
    value = state[key]
    if not (optional and value is None) and not isinstance(value, dict):
        raise _Bad(f"'{key}' must be a dict{' or null' if optional else ''}, found {short(value)}")
    return value


def _check_loop(loop) -> None:
    """The counters :meth:`LoopState.from_checkpoint` and the engine resume from."""
    if not isinstance(loop, dict):
        raise _Bad(f"'loop' must be a dict of counters, found {short(loop)}")
    for key in ("epoch", "step", "batch", "count"):
        if key in loop:
            _count(loop[key], f"loop.{key}")
    for key in ("epoch", "step", "batch"):
        if key not in loop:
            raise _Bad(f"'loop' has no '{key}'")
    for key in ("loss_sum", "seconds"):
        if key in loop:
            _real(loop[key], f"loop.{key}")
    if "epoch_lr" in loop:
        _real(loop["epoch_lr"], "loop.epoch_lr", optional=True)
    if loop.get("meter") is not None and not isinstance(loop["meter"], torch.Tensor):
        raise _Bad(f"'loop.meter' must be a tensor of totals or null, found {short(loop['meter'])}")


def _check_best(best) -> None:
    if not isinstance(best, dict) or "value" not in best or "epoch" not in best:
        raise _Bad(f"'best' must be {{'value': number or null, 'epoch': ...}}, found {short(best)}")
    _real(best["value"], "best.value", finite=False, optional=True)
    if best["epoch"] is not None:
        _count(best["epoch"], "best.epoch")


def _check_rng(rng) -> None:
    """The random states engine.set_rng_states restores (torch, NumPy, Python, CUDA)."""
    import numpy as np

    if not isinstance(rng, dict) or not {"torch", "numpy", "python"} <= set(rng):
        raise _Bad(f"'rng' must hold the torch, numpy and python random states, found {short(rng)}")
    state = rng["torch"]
    if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8 or state.shape != torch.get_rng_state().shape:
        raise _Bad(f"'rng.torch' must be the uint8 tensor of torch's random state, found {short(state)}")
    numpy_state = rng["numpy"]
    if not isinstance(numpy_state, (list, tuple)) or len(numpy_state) != 5 or numpy_state[0] != "MT19937" \
            or not isinstance(numpy_state[1], np.ndarray) or numpy_state[1].shape != (624,) \
            or numpy_state[1].dtype.kind not in "iu" or not all(isinstance(v, int) for v in numpy_state[2:4]) \
            or not isinstance(numpy_state[4], (int, float)):
        raise _Bad(f"'rng.numpy' is not NumPy's MT19937 state, found {short(numpy_state)}")
    python = rng["python"]
    if not isinstance(python, (list, tuple)) or len(python) != 3 or not isinstance(python[0], int) \
            or not isinstance(python[1], list) or len(python[1]) != 625 \
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 for v in python[1]) \
            or not (python[2] is None or isinstance(python[2], (int, float))):
        raise _Bad(f"'rng.python' is not Python's random state, found {short(python)}")
    cuda = rng.get("cuda", [])
    if not isinstance(cuda, list) or not all(isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in cuda):
        raise _Bad(f"'rng.cuda' must be a list of uint8 tensors, found {short(cuda)}")


def _check_state(state) -> None:
    """The parts of a checkpoint that training resumes from (engine._restore, LoopState.from_checkpoint):
    all of them in a run's checkpoint (it has 'format'); in other checkpoints, those present."""
    if not isinstance(state, dict):
        raise _Bad(f"the checkpoint holds a {type(state).__name__}, expected a dict")
    if "format" in state:
        _count(state["format"], "format", 1)
        _section(state, "model")
        optimizer = _section(state, "optimizer")
        if not isinstance(optimizer.get("state"), dict) or not isinstance(optimizer.get("param_groups"), list) \
                or not all(isinstance(group, dict) for group in optimizer["param_groups"]):
            raise _Bad("'optimizer' must hold 'state' (a dict) and 'param_groups' (a list of dicts)")
        schedule = _section(state, "schedule")
        _section(state, "scaler", optional=True)
        early = _section(state, "early_stop")
        for key in ("loop", "best", "rng"):
            _section(state, key)
        for where, section, keys in (("schedule", schedule, ("steps", "bad_epochs")), ("early_stop", early,
                                                                                        ("bad_epochs",))):
            for key in keys:
                _count(section.get(key), f"{where}.{key}")
            _real(section.get("best"), f"{where}.best", finite=False, optional=True)
        _real(schedule.get("scale"), "schedule.scale")
    if "loop" in state:
        _check_loop(state["loop"])
    if "best" in state:
        _check_best(state["best"])
    if "rng" in state:
        _check_rng(state["rng"])


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (model and optimizer state dicts, counters, RNG states...) atomically to ``path``.

    >>> save_checkpoint("runs/x/checkpoint.safetensors", {"model": model.state_dict(), "epoch": 3})  # doctest: +SKIP
    """
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _encode(state, tensors, "state")
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata={CHECKPOINT_KEY: json.dumps(skeleton)}))


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (no code is executed; the header, the skeleton
    and the counters training resumes from are checked, see the module's notes)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"checkpoint not found: {path}; the run has not finished an epoch yet, so it cannot be resumed")
    tensors, metadata = _read_safetensors(path)
    text = metadata.get(CHECKPOINT_KEY)
    if text is None:
        raise RunError(f"{path}: a safetensors file but not a striate checkpoint (no '{CHECKPOINT_KEY}' metadata)")
    damaged = "the checkpoint is damaged (resume from a copy, or train the run again)"
    if len(text) > MAX_SKELETON_CHARS:
        raise RunError(f"{path}: its metadata holds {len(text):,} characters, more than the {MAX_SKELETON_CHARS:,} "
                       f"a checkpoint's skeleton has; {damaged}")
    try:
        state = _decode(json.loads(text), tensors)
        _check_state(state)
    except (ValueError, RecursionError) as error:  # JSONDecodeError; a skeleton nested too deep
        raise RunError(f"{path}: corrupt checkpoint metadata ({clip(error, 120)}); {damaged}") from None
    except _Bad as error:
        raise RunError(f"{path}: {error}; {damaged}") from None
    return state
