"""A user's own ``torch.nn.Sequential`` as a registered model: its layers described as plain data (the
class name of each torch.nn layer and its constructor arguments), so that model.json keeps the architecture
and any process rebuilds it without running code from the run directory. Only the layers listed in
``LAYERS`` are described; nested Sequentials are fine.

>>> layers = describe(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)))
>>> layers[1]
{'type': 'Linear', 'args': {'in_features': 64, 'out_features': 10, 'bias': True}}
>>> sequential(layers)[1].out_features
10
"""

from torch import nn

from striate.errors import ModelError
from striate.models.registry import register_model


def _bias(module) -> bool:
    return module.bias is not None


def _conv(module) -> dict:
    return {"in_channels": module.in_channels, "out_channels": module.out_channels,
            "kernel_size": list(module.kernel_size), "stride": list(module.stride), "padding": _padding(module),
            "dilation": list(module.dilation), "groups": module.groups, "bias": _bias(module),
            "padding_mode": module.padding_mode}


def _padding(module):
    return module.padding if isinstance(module.padding, str) else list(module.padding)


def _transposed(module) -> dict:
    return {**_conv(module), "output_padding": list(module.output_padding)}


def _pool(module) -> dict:
    names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode") if isinstance(module, nn.MaxPool2d) \
        else ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    return {name: getattr(module, name) for name in names}


def _norm(module) -> dict:
    return {"num_features": module.num_features, "eps": module.eps, "momentum": module.momentum,
            "affine": module.affine, "track_running_stats": module.track_running_stats}


# class -> the constructor arguments that rebuild it
LAYERS = {
    nn.Conv2d: _conv, nn.ConvTranspose2d: _transposed,
    nn.Linear: lambda m: {"in_features": m.in_features, "out_features": m.out_features, "bias": _bias(m)},
    nn.MaxPool2d: _pool, nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: lambda m: {"output_size": m.output_size},
    nn.AdaptiveMaxPool2d: lambda m: {"output_size": m.output_size},
    nn.BatchNorm1d: _norm, nn.BatchNorm2d: _norm,
    nn.LocalResponseNorm: lambda m: {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k},
    nn.Dropout: lambda m: {"p": m.p}, nn.Dropout2d: lambda m: {"p": m.p},
    nn.Flatten: lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim},
    nn.ReLU: lambda m: {}, nn.ReLU6: lambda m: {}, nn.Tanh: lambda m: {}, nn.Sigmoid: lambda m: {},
    nn.GELU: lambda m: {"approximate": m.approximate}, nn.ELU: lambda m: {"alpha": m.alpha},
    nn.LeakyReLU: lambda m: {"negative_slope": m.negative_slope}, nn.Softplus: lambda m: {"beta": m.beta, "threshold": m.threshold},
    nn.PReLU: lambda m: {"num_parameters": m.num_parameters}, nn.Identity: lambda m: {},
}
BY_NAME = {kind.__name__: kind for kind in LAYERS}


def describe(module: nn.Module) -> list[dict]:
    """The layers of an ``nn.Sequential`` as plain data; ModelError naming a layer striate cannot describe."""
    if not isinstance(module, nn.Sequential):
        raise ModelError(f"striate.train(model=...) takes an nn.Sequential of torch.nn layers, got "
                         f"{type(module).__name__}; for a network class of your own, register its builder with "
                         "@striate.register_model('name') and train it by name")
    layers = []
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            layers.append({"type": "Sequential", "layers": describe(child)})
        elif type(child) in LAYERS:
            layers.append({"type": type(child).__name__, "args": LAYERS[type(child)](child)})
        else:
            raise ModelError(f"layer '{name}' is a {type(child).__name__}, which striate cannot describe in model.json; "
                             f"use the layers {sorted(BY_NAME)} or register a builder of your own")
    return layers


class UserSequential(nn.Sequential):
    """An ``nn.Sequential`` rebuilt from its description, with the classifier interface's taps."""

    num_classes = 0

    def feature_taps(self) -> list[str]:
        return [name for name, module in self.named_modules() if name and not list(module.children())]


def _build(layers: list[dict]) -> list[nn.Module]:
    modules = []
    for entry in layers:
        if not isinstance(entry, dict) or "type" not in entry:
            raise ModelError(f"a layer description must be {{type: ..., args: ...}}, got {str(entry)[:80]}")
        if entry["type"] == "Sequential":
            modules.append(nn.Sequential(*_build(entry.get("layers", []))))
        elif entry["type"] in BY_NAME:
            try:
                modules.append(BY_NAME[entry["type"]](**entry.get("args", {})))
            except (TypeError, ValueError, RuntimeError) as error:
                raise ModelError(f"cannot build {entry['type']} from {str(entry.get('args'))[:120]} ({error})") from None
        else:
            raise ModelError(f"unknown layer type '{str(entry['type'])[:40]}'; expected one of {sorted(BY_NAME)}")
    return modules


@register_model(listed=False)
def sequential(layers: list | None = None, num_classes: int = 10, in_channels: int = 1,
               input_size: int = 32) -> nn.Module:
    """A described ``nn.Sequential`` (see :func:`describe`); the shape arguments are recorded, not used.
    Without ``layers``: a linear softmax classifier of the flattened image (Flatten, Linear)."""
    if layers is None:
        layers = [{"type": "Flatten", "args": {}},
                  {"type": "Linear", "args": {"in_features": in_channels * input_size ** 2, "out_features": num_classes}}]
    if not isinstance(layers, list) or not layers:
        raise ModelError("model 'sequential' needs model.args.layers: the list of its layers (see striate.models.sequential)")
    model = UserSequential(*_build(layers))
    model.num_classes = num_classes
    return model


__all__ = ["describe", "sequential"]
