"""Declarative networks: a YAML (or dict) list of blocks -> a striate Classifier.

A spec names its blocks one per line, like a Caffe prototxt or a MatConvNet simplenn,
with residual and concatenation blocks for skips and branches. Shapes are inferred from
the input; an impossible network fails while it is built, naming the layer and the shapes
("pool2: kernel 2 is larger than its 1x1 input; ...").

    name: lenet5
    input: [1, 32, 32]            # channels, height, width (builder arguments override it)
    features:
      - conv1: {type: conv, out_channels: 6, kernel_size: 5}
      - act1: relu                # a block with no options: just its type
      - pool1: {type: maxpool, kernel_size: 2, stride: 2}
      - flatten                   # a bare type is named after itself
      - fc4: {type: linear, out_features: 84}
    head:                         # optional; default: one linear layer to num_classes
      - fc: {type: linear, out_features: num_classes}

Composite blocks (each part is itself a list of blocks):

    - block1: {type: residual, body: [...], shortcut: [...], after: relu}   # after(body(x) + shortcut(x));
                                                                            # no shortcut = identity
    - mixed3a: {type: concat, branches: {b1: [...], b2: [...]}}            # channels concatenated
    - stage2: {type: sequence, layers: [...]}                               # a named group

Leaf types are those of :func:`striate.layers.make_layer`. ``num_classes`` as a value
stands for the number of classes. Used by ``striate train`` as ``model.name: net.yaml``.

>>> model = build_from_spec(yaml.safe_load(open("recipes/nets/lenet5.yaml")), num_classes=10)  # doctest: +SKIP
"""

from pathlib import Path

import torch
import yaml
from torch import nn

from striate.errors import ModelError
from striate.recipes import find_recipe
from striate.layers import make_layer
from striate.models._util import probe_output_shape
from striate.models.base import Classifier

COMPOSITES = ("residual", "concat", "sequence")


class Residual(nn.Module):
    """after(body(x) + shortcut(x)), the skip connection of He et al. (2016)."""

    def __init__(self, body: nn.Module, shortcut: nn.Module, after: nn.Module):
        super().__init__()
        self.body, self.shortcut, self.after = body, shortcut, after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after(self.body(x) + self.shortcut(x))  # the skip


class Concat(nn.Module):
    """Branches side by side, outputs concatenated along the channels (Inception)."""

    def __init__(self, branches: dict[str, nn.Module]):
        super().__init__()
        self.branches = nn.ModuleDict(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches.values()], dim=1)  # sum of channels x H x W


def _parse_entry(entry, position: int, where: str) -> tuple[str, str, dict]:
    """'relu' | {name: 'relu'} | {name: {type: conv, ...}} -> (name, type, options)."""
    if isinstance(entry, str):
        return entry, entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        name, body = next(iter(entry.items()))
        if isinstance(body, str):
            return str(name), body, {}
        if isinstance(body, dict) and "type" in body:
            options = dict(body)
            return str(name), str(options.pop("type")), options
        if body is None:
            return str(name), str(name), {}
    raise ModelError(f"{where}: block {position} is {entry!r}; write a block as 'relu', 'act1: relu' or "
                     "'conv1: {type: conv, out_channels: 6, kernel_size: 5}'")


def _substitute(options: dict, num_classes: int) -> dict:
    return {key: (num_classes if value == "num_classes" else value) for key, value in options.items()}


class SpecBuilder:
    """Builds blocks in order, carrying the current shape."""

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def sequence(self, entries, in_shape: tuple, prefix: str) -> tuple[nn.Sequential, tuple]:
        where = prefix or "features"
        if not isinstance(entries, list):
            raise ModelError(f"{where}: expected a list of blocks, got {type(entries).__name__}")
        layers, shape = nn.Sequential(), tuple(in_shape)
        for position, entry in enumerate(entries, start=1):
            name, kind, options = _parse_entry(entry, position, where)
            if name in layers._modules:
                raise ModelError(f"{where}: two blocks are named '{name}'; give each a unique name")
            qualified = f"{prefix}.{name}" if prefix else name
            module, shape = self.block(qualified, kind, _substitute(options, self.num_classes), shape)
            layers.add_module(name, module)
        return layers, shape

    def block(self, name: str, kind: str, options: dict, in_shape: tuple) -> tuple[nn.Module, tuple]:
        if kind == "residual":
            return self.residual(name, options, in_shape)
        if kind == "concat":
            return self.concat(name, options, in_shape)
        if kind == "sequence":
            return self.sequence(options.get("layers", []), in_shape, name)
        module = make_layer(kind, in_shape, name=name, **options)
        shape = probe_output_shape(module, in_shape, name)
        if 0 in shape:
            raise ModelError(f"{name}: makes an empty output {shape} from its {'x'.join(map(str, in_shape))} input; "
                             "use a smaller kernel or stride, or a larger input")
        return module, shape

    def residual(self, name: str, options: dict, in_shape: tuple) -> tuple[nn.Module, tuple]:
        unknown = set(options) - {"body", "shortcut", "after"}
        if unknown or "body" not in options:
            raise ModelError(f"{name}: a residual block takes body (required), shortcut and after; got {sorted(options)}")
        body, body_shape = self.sequence(options["body"], in_shape, f"{name}.body")
        shortcut, short_shape = self.sequence(options.get("shortcut") or [], in_shape, f"{name}.shortcut")
        if body_shape != short_shape:
            raise ModelError(f"{name}: the body gives {body_shape} but the shortcut gives {short_shape}; they must "
                             "match to be added (give the shortcut a projection, e.g. a strided 1x1 conv)")
        after, shape = self.sequence([options["after"]] if options.get("after") else [], body_shape, f"{name}.after")
        return Residual(body, shortcut if len(shortcut) else nn.Identity(), after if len(after) else nn.Identity()), shape

    def concat(self, name: str, options: dict, in_shape: tuple) -> tuple[nn.Module, tuple]:
        branches = options.get("branches")
        if isinstance(branches, list):
            branches = {f"branch{i}": b for i, b in enumerate(branches, start=1)}
        if not isinstance(branches, dict) or not branches:
            raise ModelError(f"{name}: a concat block needs branches (a mapping of names to lists of blocks)")
        modules, shapes = {}, {}
        for branch, entries in branches.items():
            modules[str(branch)], shapes[str(branch)] = self.sequence(entries, in_shape, f"{name}.{branch}")
        spatial = {shape[1:] for shape in shapes.values()}
        if len(spatial) != 1:
            listing = ", ".join(f"{b} {s}" for b, s in shapes.items())
            raise ModelError(f"{name}: branches must keep the same height and width to be concatenated, got "
                             f"{listing}; pad or stride them alike")
        channels = sum(shape[0] for shape in shapes.values())
        return Concat(modules), (channels, *next(iter(spatial)))


class SpecNet(Classifier):
    """A classifier built from a spec; the head is rebuilt from the spec by reset_classifier."""

    def __init__(self, spec: dict, num_classes: int, in_shape: tuple):
        super().__init__()
        self.spec = spec
        self.features, self.feature_shape = SpecBuilder(num_classes).sequence(spec["features"], in_shape, "")
        if spec.get("head") is None and len(self.feature_shape) != 1:
            raise ModelError(f"the features end with a {self.feature_shape} map but the default head is one linear "
                             "layer; end the features with 'flatten' (or global_avgpool and flatten), or give a head")
        self.num_features = self.feature_shape[0]
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def make_head(self, num_classes: int) -> nn.Module:
        entries = self.spec.get("head") or [{"fc": {"type": "linear", "out_features": "num_classes"}}]
        head, _ = SpecBuilder(num_classes).sequence(entries, self.feature_shape, "head")
        return head[0] if len(head) == 1 else head


def read_spec(path: str | Path) -> dict:
    """Parse a network spec file; raises ModelError on a missing or malformed file."""
    path = find_recipe(path) or Path(path)  # a file, or a shipped spec (recipes/nets/lenet5.yaml, nets/lenet5)
    if not path.is_file():
        raise ModelError(f"network spec not found: {path}; give a YAML file such as recipes/nets/lenet5.yaml")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ModelError(f"{path}: not valid YAML ({getattr(error, 'problem', error)}); fix the spec's syntax") from None
    if not isinstance(spec, dict) or "features" not in spec:
        raise ModelError(f"{path}: a network spec is a mapping with a 'features' list of blocks")
    return spec


def build_from_spec(spec: dict, num_classes: int = 10, in_channels: int | None = None,
                    input_size: int | None = None) -> SpecNet:
    """Build a spec (already parsed); channels and size default to the spec's ``input``."""
    default = list(spec.get("input") or [3, 32, 32])
    if len(default) != 3:
        raise ModelError(f"spec input must be [channels, height, width], got {default}")
    channels = in_channels or default[0]
    height, width = (input_size, input_size) if input_size else default[1:]
    return SpecNet(spec, num_classes, (channels, height, width))


def is_spec_path(name: str) -> bool:
    return str(name).endswith((".yaml", ".yml"))


def build_from_file(path: str | Path, num_classes: int = 10, in_channels: int | None = None,
                    input_size: int | None = None, spec: dict | None = None) -> SpecNet:
    """Build the network in the YAML file ``path`` (or ``spec``, its parsed content, when given:
    runs store it so that they do not depend on the file)."""
    return build_from_spec(spec if spec is not None else read_spec(path), num_classes, in_channels, input_size)
