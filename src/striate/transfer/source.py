"""Where a transfer starts: a striate run, or a weights file (striate safetensors, or a state dict in
the torchvision/timm layout for the zoo's ResNet, VGG and AlexNet families, mapped by models.convert).

>>> model, meta = load_source_model("runs/lenet5-mnist")                         # doctest: +SKIP
>>> model, meta = load_source_model("resnet18.safetensors", model_name="resnet18")   # doctest: +SKIP
"""

from pathlib import Path

import torch
from torch import nn

from striate.errors import ConfigError, ModelError, RunError
from striate.models import create_model
from striate.models.convert import map_state_dict
from striate.session import load_run_model
from striate.training.checkpoint import read_state_file


def _classes_in(state: dict[str, torch.Tensor]) -> int:
    """The number of classes the state dict's last fully connected layer scores."""
    for key in ("head.weight", "fc.weight", "head.fc.weight"):  # striate, torchvision/timm ResNets
        if key in state and state[key].ndim == 2:
            return int(state[key].shape[0])
    matrices = [value for key, value in state.items() if key.endswith("weight") and value.ndim == 2]
    if not matrices:
        raise ModelError("the state dict has no fully connected layer, so its number of classes is unknown")
    return int(matrices[-1].shape[0])


def load_weights_file(path: str | Path, model_name: str, model_args: dict | None = None) -> nn.Module:
    """Build ``model_name`` and load ``path`` into it: striate keys directly, other layouts through
    :func:`striate.models.convert.map_state_dict`."""
    if not model_name:
        raise ConfigError("starting from a weights file needs the architecture: give --model NAME (e.g. resnet18)")
    state = read_state_file(Path(path))
    model = create_model(model_name, **{**(model_args or {}), "num_classes": _classes_in(state)})
    if set(state) == set(model.state_dict()):
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise ModelError(f"{path}: the weights do not fit {model_name} ({' '.join(str(error).split())})") from None
        return model
    try:
        model.load_state_dict(map_state_dict(model, state))
    except ModelError as error:
        if Path(path).suffix != ".safetensors":
            raise
        # safetensors files keep their tensors sorted by name, which loses the layer order the mapping needs
        raise ModelError(f"{error}; a state dict in another layout must keep its layer order: give it as a "
                         ".pt/.pth file (torch.save of the state dict)") from None
    return model


def load_source_model(source: str | Path, model_name: str | None = None, model_args: dict | None = None,
                      device="cpu") -> tuple[nn.Module, dict | None]:
    """The source network (train mode) and its run's model.json (None for a bare weights file)."""
    path = Path(source)
    if path.is_dir():
        model, meta = load_run_model(path, "best", device)
        return model.train(), meta
    if not path.is_file():
        raise RunError(f"source not found: {path}; give a run directory or a weights file")
    return load_weights_file(path, model_name or "", model_args).to(device).train(), None
