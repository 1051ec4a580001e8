"""Load state dicts in the torchvision / timm layout into the matching striate model.

striate names its layers after the papers (``features.conv1_1``, ``head``) and keeps every
classifier's head apart, so the keys differ from torchvision's (``features.0``,
``classifier.6``, ``fc``). The architectures are the same layer for layer, in the same order:

    torchvision resnet18..152 (and timm's resnet*)  ->  striate resnet18..152
    torchvision vgg11..19 and vgg*_bn               ->  striate vgg11..19 and vgg*_bn
    torchvision alexnet (one tower)                 ->  striate alexnet_owt

so the mapping pairs the layers in order: the tensors of each source layer (``weight``,
``bias``, ``running_mean``, ...) go to the next striate layer with the same tensor names
and shapes. Anything that does not pair up raises a ModelError naming both keys.

>>> model = create_model("resnet18")                                         # doctest: +SKIP
>>> model.load_state_dict(map_state_dict(model, torch.load("resnet18.pth")))  # doctest: +SKIP
"""

from collections import OrderedDict

import torch
from torch import nn

from striate.errors import ModelError


def _layers(state: dict) -> list[tuple[str, dict]]:
    """[(layer prefix, {tensor name: tensor})] in the order of the state dict."""
    groups: OrderedDict[str, dict] = OrderedDict()
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        groups.setdefault(prefix, {})[leaf] = value
    return list(groups.items())


def _describe(layer: tuple[str, dict]) -> str:
    prefix, tensors = layer
    return f"'{prefix}' ({', '.join(f'{k} {tuple(v.shape)}' for k, v in tensors.items())})"


def map_state_dict(model: nn.Module, state: dict) -> dict:
    """``state`` (torchvision/timm layout) with its keys renamed to ``model``'s."""
    target = _layers(model.state_dict())
    source = _layers(state)
    if len(source) != len(target):
        raise ModelError(f"the state dict has {len(source)} layers with weights but the model has {len(target)}; "
                         "it is for another architecture (e.g. resnet50 weights for a resnet18)")
    mapped = {}
    for (source_prefix, tensors), (target_prefix, expected) in zip(source, target):
        shapes_match = set(tensors) == set(expected) and all(
            tuple(tensors[k].shape) == tuple(expected[k].shape) for k in tensors)
        if not shapes_match:
            raise ModelError(f"layer {_describe((source_prefix, tensors))} of the state dict does not fit the "
                             f"model's {_describe((target_prefix, expected))}; check the architecture, the number "
                             "of classes (reset_classifier) and batch norm (the _bn variants)")
        for leaf, value in tensors.items():
            mapped[f"{target_prefix}.{leaf}"] = value
    return mapped


def load_torchvision_weights(model: nn.Module, state: dict) -> nn.Module:
    """Load a torchvision/timm-layout state dict into ``model`` (in place); returns the model."""
    model.load_state_dict(map_state_dict(model, state))
    return model


def to_torchvision_keys(model: nn.Module, reference: dict) -> dict[str, torch.Tensor]:
    """The inverse: ``model``'s tensors under the keys of ``reference`` (a torchvision state dict)."""
    forward = map_state_dict(model, reference)
    own = model.state_dict()
    return {source_key: own[target_key] for source_key, target_key in zip(reference, forward)}
