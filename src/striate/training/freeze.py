"""Freezing the bottom of a network, learning-rate groups, and un-freezing later in a run.

The body is ``model.features``; its children, in order, are the *layers* (``conv1``, ``act1``,
``pool1``, ...). A *stage* is a layer with weights together with the weight-free layers and batch
norms after it: LeNet-5's stages are conv1+act1+pool1, conv2+act2+pool2, conv3+act3+flatten, fc4+act4;
a ResNet's are the stem (conv1+bn1+relu+maxpool), layer1, layer2, ...

Frozen parameters keep ``requires_grad=False`` and so never get a gradient; the optimizer still holds
them (plain SGD skips parameters without a gradient), so they can be un-frozen mid-run and follow the
schedule from then on. Frozen batch-norm layers keep their running statistics (eval mode in forward).

The freezing itself is the training engine's (``striate.training.optim.freeze_parameters``); this module adds
layer ranges, stages, frozen batch norms, and an optimizer that keeps the frozen parameters so that
they can be un-frozen mid-run (the engine's optimizer holds only the trainable ones).

>>> frozen = freeze_stages(model, 2)          # doctest: +SKIP
>>> frozen = freeze_layer_range(model, "conv1..conv3")   # doctest: +SKIP
"""

import torch
from torch import nn

from striate.errors import ConfigError, did_you_mean
from striate.training.optim import freeze_parameters as freeze_prefixes


def body_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The children of ``model.features`` in order: the layers that can be frozen."""
    if not isinstance(getattr(model, "features", None), nn.Module):
        raise ConfigError(f"{type(model).__name__} has no 'features' body; freezing works on striate zoo classifiers")
    return list(model.features.named_children())


def _has_weights(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))


def body_stages(model: nn.Module) -> list[list[str]]:
    """The layers grouped into stages: each starts at a layer with weights (batch norms join the one before)."""
    stages: list[list[str]] = []
    stage_has_weights = False
    for name, module in body_layers(model):
        starts = _has_weights(module) and not _is_norm(module)
        if not stages or (starts and stage_has_weights):
            stages.append([name])
            stage_has_weights = False
        else:
            stages[-1].append(name)
        stage_has_weights = stage_has_weights or _has_weights(module)
    return stages


def layer_range(model: nn.Module, spec: str) -> list[str]:
    """'conv1..conv3' -> every layer from conv1 to conv3 inclusive; 'conv2' -> conv1..conv2 (the bottom up to it);
    'conv1,conv3' -> just those."""
    names = [name for name, _ in body_layers(model)]

    def index(name: str) -> int:
        name = name.strip().removeprefix("features.")
        if name not in names:
            raise ConfigError(f"no layer '{name}' in the body{did_you_mean(name, names)}; its layers are {names}")
        return names.index(name)

    if ".." in spec:
        first, last = (index(part) for part in spec.split("..", 1))
        if first > last:
            raise ConfigError(f"--freeze {spec}: the first layer comes after the last; give bottom..top")
        return names[first : last + 1]
    if "," in spec:
        return [names[index(part)] for part in spec.split(",") if part.strip()]
    return names[: index(spec) + 1]


def _keep_statistics(module: nn.Module, _inputs) -> None:
    """Forward pre-hook of a frozen norm layer: use (and keep) its running statistics."""
    module.train(False)


def _freeze_modules(model: nn.Module, names: list[str]) -> list[str]:
    """Freeze the named body layers; returns the names of the frozen parameters."""


    with_weights = [f"features.{name}" for name in names if _has_weights(model.features.get_submodule(name))]
    frozen = freeze_prefixes(model, with_weights)  # the training engine's freezing: requires_grad off
    for parameter in model.parameters():
        if not parameter.requires_grad:
            parameter.grad = None
    for name in names:
        module = model.features.get_submodule(name)
        for norm in (m for m in module.modules() if _is_norm(m)):
            norm.striate_frozen_hook = norm.register_forward_pre_hook(_keep_statistics)
    return frozen


def freeze_layer_range(model: nn.Module, spec: str) -> list[str]:
    """Freeze the body layers named by ``spec`` (see :func:`layer_range`); returns the frozen parameter names."""
    return _freeze_modules(model, layer_range(model, spec))


def freeze_stages(model: nn.Module, count: int) -> list[str]:
    """Freeze the bottom ``count`` stages of the body; returns the frozen parameter names."""
    stages = body_stages(model)
    if not 0 <= count <= len(stages):
        raise ConfigError(f"--freeze-stages {count}: the body has {len(stages)} stages ({stages}); give 0..{len(stages)}")
    return _freeze_modules(model, [name for stage in stages[:count] for name in stage])


def unfreeze(model: nn.Module) -> None:
    """Make every parameter trainable again (batch norms update their statistics again)."""
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    for module in model.modules():
        hook = getattr(module, "striate_frozen_hook", None)
        if hook is not None:
            hook.remove()
            del module.striate_frozen_hook


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def param_groups(model: nn.Module, lr: float, body_lr_scale: float = 1.0) -> list[dict]:
    """Two groups: the body (``lr * body_lr_scale``, frozen parameters included so they can be un-frozen)
    and the head (``lr``)."""
    head = {id(p) for p in model.head.parameters()}
    body = [p for p in model.parameters() if id(p) not in head]
    return [{"params": body, "lr": lr * body_lr_scale, "lr_mult": body_lr_scale, "name": "body"},
            {"params": list(model.head.parameters()), "lr": lr, "lr_mult": 1.0, "name": "head"}]


def build_transfer_optimizer(model: nn.Module, optim, body_lr_scale: float = 1.0) -> torch.optim.Optimizer:
    """SGD over the body and head groups, with ``optim``'s momentum and weight decay (an OptimConfig)."""
    if optim.optimizer not in ("sgd", "momentum", "nesterov"):
        raise ConfigError(f"fine-tuning uses optim.optimizer: sgd for now (got '{optim.optimizer}')")
    nesterov = optim.nesterov or optim.optimizer == "nesterov"
    return torch.optim.SGD(param_groups(model, optim.lr, body_lr_scale), lr=optim.lr,
                           momentum=optim.momentum, nesterov=nesterov, weight_decay=optim.weight_decay)


def copy_bottom_stages(source: nn.Module, target: nn.Module, count: int) -> list[str]:
    """Copy the weights (and buffers) of the bottom ``count`` stages of ``source`` into ``target``."""
    names = [name for stage in body_stages(target)[:count] for name in stage]
    copied = []
    for name in names:
        state = source.features.get_submodule(name).state_dict()
        target.features.get_submodule(name).load_state_dict(state)
        copied.extend(f"features.{name}.{key}" for key in state)
    return copied
