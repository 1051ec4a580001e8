"""Optimizers by name, with parameter groups: no weight decay on biases and normalisation,
per-layer learning-rate multipliers (Caffe's ``lr_mult``) and frozen layers (fastai's ``freeze_to``).

>>> optimizer = build_optimizer(model, OptimConfig(optimizer="adamw", lr=1e-3))   # doctest: +SKIP
"""

import inspect

import torch
from torch import nn

from striate.errors import ConfigError, did_you_mean
from striate.training.validation import check_fields

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)
# the settings an optimizer reads besides lr (torch checks lr), checked against striate.training.config.RANGES
SETTINGS = ("momentum", "betas", "eps", "rms_decay", "weight_decay", "lr_mult")


class _EagerOptimizer:
    """torch's own optimizer, minus one fixed cost of every process: ``torch.optim`` imports
    ``torch._dynamo`` (1.7-2.5 s on 2 cores, more than ``import torch``) on the first construction and
    on every ``step`` and ``zero_grad``, only so that the compiler can skip those methods if it ever
    traces them. Outside a compiled region the wrappers do nothing else, so here each of those
    methods calls torch's own undecorated function (``inspect.unwrap``: the same update code, the
    same state dict, the step hooks still run) and hands over to torch's decorated one while
    compiling, where the skip matters. bench/start_up.py measures the saving."""

    _torch_class: type

    def step(self, closure=None):
        if torch.compiler.is_compiling() or self.defaults.get("differentiable", False):
            decorated = inspect.unwrap(self._torch_class.step, stop=lambda f: not getattr(f, "hooked", False))
            return decorated(self, closure)  # torch's grad mode and graph breaks, without its hooks twice
        with torch.no_grad():
            return inspect.unwrap(self._torch_class.step)(self, closure)

    def zero_grad(self, set_to_none: bool = True) -> None:
        return _undecorated(self, "zero_grad")(self, set_to_none)

    def add_param_group(self, param_group: dict) -> None:
        return _undecorated(self, "add_param_group")(self, param_group)

    def state_dict(self) -> dict:
        return _undecorated(self, "state_dict")(self)

    def load_state_dict(self, state_dict: dict) -> None:
        return _undecorated(self, "load_state_dict")(self, state_dict)


def _undecorated(optimizer: _EagerOptimizer, name: str):
    method = getattr(optimizer._torch_class, name)
    return method if torch.compiler.is_compiling() else inspect.unwrap(method)


def _eager(torch_class: type) -> type:
    return type(torch_class.__name__, (_EagerOptimizer, torch_class),
                {"_torch_class": torch_class, "__module__": __name__, "__qualname__": torch_class.__name__,
                 "__doc__": f"torch.optim.{torch_class.__name__} without the torch._dynamo import (see _EagerOptimizer)."})


SGD, Adagrad, RMSprop, Adam, AdamW = (_eager(c) for c in (torch.optim.SGD, torch.optim.Adagrad, torch.optim.RMSprop,
                                                          torch.optim.Adam, torch.optim.AdamW))


def no_decay_names(model: nn.Module) -> set[str]:
    """Names of the parameters that should not be decayed: every bias and every normalisation parameter."""
    names = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            if name == "bias" or isinstance(module, NORM_TYPES):
                names.add(full)
    return names


def layers_with_parameters(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters, in definition order (the 'layers' of freeze_to)."""
    return [name for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))]


def freeze_parameters(model: nn.Module, prefixes: list[str], freeze_to: int = 0) -> list[str]:
    """Set ``requires_grad=False`` on parameters under ``prefixes`` and on the first ``freeze_to`` layers.

    Returns the frozen parameter names. An unknown prefix is an error (it would silently freeze nothing).
    """
    layers = layers_with_parameters(model)
    if freeze_to > len(layers):
        raise ConfigError(f"optim.freeze_to is {freeze_to} but the model has only {len(layers)} layers with parameters")
    prefixes = list(prefixes) + layers[:freeze_to]
    names = [name for name, _ in model.named_parameters()]
    for prefix in prefixes:
        if not any(_under(name, prefix) for name in names):
            raise ConfigError(f"optim.freeze: no parameter under '{prefix}'{did_you_mean(prefix, layers)}; "
                              f"layers are {layers}")
    frozen = []
    for name, parameter in model.named_parameters():
        if any(_under(name, prefix) for prefix in prefixes):
            parameter.requires_grad_(False)
            frozen.append(name)
    return frozen


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def parameter_groups(model: nn.Module, lr: float, weight_decay: float, lr_mult: dict | None = None,
                     no_decay_bias_norm: bool = True) -> list[dict]:
    """Trainable parameters grouped by (learning rate, weight decay).

    ``lr_mult`` maps a name prefix to a multiplier; the longest matching prefix wins. Each group carries
    ``lr_mult`` and ``decay`` (whether L2/L1 apply) so schedules and penalties can use them.
    """
    lr_mult = _flatten(lr_mult or {})
    names = [name for name, _ in model.named_parameters()]
    for prefix in lr_mult:
        if not any(_under(name, prefix) for name in names):
            raise ConfigError(f"optim.lr_mult: no parameter under '{prefix}'{did_you_mean(prefix, layers_with_parameters(model))}")
    skip = no_decay_names(model) if no_decay_bias_norm else set()
    groups: dict[tuple[float, bool], dict] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        matches = [prefix for prefix in lr_mult if _under(name, prefix)]
        mult = float(lr_mult[max(matches, key=len)]) if matches else 1.0
        decay = name not in skip
        group = groups.setdefault((mult, decay), {"params": [], "names": [], "lr": lr * mult, "lr_mult": mult,
                                                  "weight_decay": weight_decay if decay else 0.0, "decay": decay})
        group["params"].append(parameter)
        group["names"].append(name)
    if not groups:
        raise ConfigError("every parameter is frozen: nothing to train; freeze fewer layers (optim.freeze, optim.freeze_to)")
    return list(groups.values())


def _flatten(mapping: dict, prefix: str = "") -> dict:
    """{'features': {'conv1': 0.1}} (as '--optim.lr_mult.features.conv1 0.1' makes it) -> {'features.conv1': 0.1}."""
    flat = {}
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flatten(value, name) if isinstance(value, dict) else {name: value})
    return flat


def build_optimizer(model: nn.Module, optim) -> torch.optim.Optimizer:
    """The optimizer ``optim.optimizer`` (an :class:`OptimConfig`) over the model's parameter groups.

    Formulas (g: gradient, with L2 added to it except for adamw):
      sgd       w -= lr*g                    momentum  v = mu*v + g; w -= lr*v
      nesterov  v = mu*v + g; w -= lr*(g + mu*v)
      adagrad   s += g^2; w -= lr*g/(sqrt(s)+eps)
      rmsprop   s = a*s + (1-a)*g^2; w -= lr*g/(sqrt(s)+eps)
      adam      Kingma and Ba 2015, bias-corrected moments; adamw: decay decoupled (Loshchilov and Hutter 2019)

    The settings it reads are checked first, as a recipe's are (momentum in [0, 1), two betas, eps > 0, ...).
    """
    check_fields("optim", optim, SETTINGS)
    name = optim.optimizer
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer '{name}'{did_you_mean(name, OPTIMIZERS)}; expected one of {OPTIMIZERS}")
    groups = parameter_groups(model, optim.lr, optim.weight_decay, optim.lr_mult, optim.no_decay_bias_norm)
    for group in groups:
        del group["names"]
    if name in ("sgd", "momentum", "nesterov"):
        nesterov = optim.nesterov or name == "nesterov"
        momentum = optim.momentum if name != "sgd" or optim.momentum else 0.0
        if (nesterov or name == "momentum") and momentum <= 0:
            raise ConfigError(f"optimizer '{name}' needs optim.momentum in (0, 1), got {momentum}; set it to e.g. 0.9 "
                              f"(--optim.momentum 0.9), or use optim.optimizer sgd")
        return SGD(groups, lr=optim.lr, momentum=momentum, nesterov=nesterov)
    if name == "adagrad":
        return Adagrad(groups, lr=optim.lr, eps=optim.eps)
    if name == "rmsprop":
        return RMSprop(groups, lr=optim.lr, alpha=optim.rms_decay, eps=optim.eps)
    betas = tuple(float(b) for b in optim.betas)  # two, each in [0, 1): checked
    kind = AdamW if name == "adamw" else Adam
    return kind(groups, lr=optim.lr, betas=betas, eps=optim.eps)
