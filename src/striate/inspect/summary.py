"""The model summary: one row per layer with output shape, parameters,
multiply-accumulates, activation memory and receptive field.

>>> from striate.models import create_model
>>> table = summary(create_model("lenet5"), (1, 32, 32))
>>> [row.rf_size for row in table.rows if row.kind == "Conv2d"]
[5, 14, 32]
>>> table.total_params
61706
"""

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.inspect.fields import Field2d
from striate.inspect.tracer import FieldTracer
from striate.layers import LocallyConnected2d


@dataclass
class Row:
    """One layer of the summary. Receptive-field numbers are along the height axis
    (``rf_width`` holds the width axis' (size, jump, start) for non-square cases)."""

    name: str  # as in model.named_modules()
    kind: str  # the module's class name
    output_shape: tuple  # without the batch axis
    params: int  # parameters the module itself owns
    macs: int  # multiply-accumulates for one image
    activation_bytes: int  # memory of the output for one image
    rf_size: float  # receptive field size in input pixels
    rf_jump: float  # input pixels between neighbouring units
    rf_start: float  # input coordinate of the centre of unit 0 (pixel i is centred at i)
    rf_width: tuple = ()  # (size, jump, start) along the width axis
    leaf: bool = True  # False for containers (blocks, stages); only leaves are rows of the table
    calls: int = 1  # how often the forward pass called the module (shape and field are from the last call)


@dataclass
class Summary:
    """Rows for the leaf layers, every module by name in ``modules``, and totals."""

    input_shape: tuple
    rows: list[Row]
    modules: dict[str, Row] = field(repr=False, default_factory=dict)
    total_params: int = 0
    trainable_params: int = 0
    total_macs: int = 0
    total_activation_bytes: int = 0
    output_shape: tuple = ()

    def row(self, name: str) -> Row:
        """The row of the module ``name`` (containers included)."""
        if name not in self.modules:
            raise ModelError(f"no layer named '{name}'{did_you_mean(name, self.modules)}; "
                             "names are those of model.named_modules()")
        return self.modules[name]

    def to_dict(self) -> dict:
        return {"input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
                "rows": [asdict(row) | {"output_shape": list(row.output_shape), "rf_width": list(row.rf_width)}
                         for row in self.rows],
                "totals": {"params": self.total_params, "trainable_params": self.trainable_params,
                           "macs": self.total_macs, "activation_bytes": self.total_activation_bytes}}


def count_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """Multiply-accumulates of one image through ``module``; convolutions, locally connected and
    fully connected layers only (activations, pooling and normalisation are counted as 0, as is usual)."""
    if isinstance(module, nn.Conv2d):
        kernel = module.kernel_size[0] * module.kernel_size[1]
        return output[0].numel() * (module.in_channels // module.groups) * kernel
    if isinstance(module, nn.ConvTranspose2d):
        kernel = module.kernel_size[0] * module.kernel_size[1]
        return inputs[0][0].numel() * (module.out_channels // module.groups) * kernel
    if isinstance(module, nn.Linear):
        return output[0].numel() * module.in_features
    if isinstance(module, LocallyConnected2d):  # as many as the convolution of the same shape; unshared weights
        return output[0].numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1]
    return 0


def _first_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)):
        return next((t for t in map(_first_tensor, value) if t is not None), None)
    return None


def _make_row(name, module, inputs, output, field: Field2d | None) -> Row:
    output = _first_tensor(output)
    height, width = (field.height, field.width) if field is not None else (None, None)
    return Row(name=name, kind=type(module).__name__,
               output_shape=tuple(output.shape[1:]) if output is not None else (),
               params=sum(p.numel() for p in module.parameters(recurse=False)),
               macs=count_macs(module, inputs, output) if output is not None else 0,
               activation_bytes=(output[0].numel() * output.element_size()) if output is not None else 0,
               rf_size=height.size if height else None, rf_jump=height.jump if height else None,
               rf_start=height.start if height else None,
               rf_width=(width.size, width.jump, width.start) if width else (),
               leaf=not list(module.children()) or bool(list(module.parameters(recurse=False))))


def _check_shape(input_shape) -> tuple:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ModelError(f"input shape must be channels x height x width (e.g. 3x224x224), got {input_shape}")
    return shape


def summary(model: nn.Module, input_shape: tuple[int, int, int]) -> Summary:
    """Run one image of ``input_shape`` (C, H, W) through ``model`` (in eval mode, no gradients)
    and collect a row per layer. Works on models built on the 'meta' device too (no memory used).

    >>> table = summary(create_model("mlp"), (1, 28, 28))   # doctest: +SKIP
    >>> table.rows[1].output_shape                           # doctest: +SKIP
    (512,)
    """
    input_shape = _check_shape(input_shape)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    modules: dict[str, Row] = {}
    tracer = FieldTracer()

    def record(name):
        def hook(module, inputs, output):
            tensor = _first_tensor(output)
            field = tracer.field_of(tensor) if tensor is not None else None
            row = _make_row(name, module, inputs, output, field)
            if name in modules:  # a module used twice (a shared ReLU): its work adds up, its last call shows
                row.macs += modules[name].macs
                row.activation_bytes += modules[name].activation_bytes
                row.calls += modules[name].calls
            modules[name] = row
        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in model.named_modules() if name]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), tracer:
            images = tracer.track_input(torch.zeros((1, *input_shape), device=device, dtype=dtype))
            output = model(images)
    except RuntimeError as error:
        raise ModelError(f"the model cannot run on a {'x'.join(map(str, input_shape))} input: {error}") from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    order = [name for name, _ in model.named_modules() if name in modules]
    modules = {name: modules[name] for name in order}
    rows = [row for row in modules.values() if row.leaf]
    params = list({id(p): p for p in model.parameters()}.values())
    out = _first_tensor(output)
    return Summary(input_shape=input_shape, rows=rows, modules=modules,
                   total_params=sum(p.numel() for p in params),
                   trainable_params=sum(p.numel() for p in params if p.requires_grad),
                   total_macs=sum(row.macs for row in rows),
                   total_activation_bytes=sum(row.activation_bytes for row in rows),
                   output_shape=tuple(out.shape[1:]) if out is not None else ())


def receptive_field(model: nn.Module, layer_name: str, input_shape: tuple[int, int, int]) -> tuple:
    """(size, jump, start) of the units of ``layer_name`` along the height axis, in input pixels.

    >>> receptive_field(create_model("lenet5"), "features.conv2", (1, 32, 32))
    (14, 2, 6.5)
    """
    row = summary(model, input_shape).row(layer_name)
    return row.rf_size, row.rf_jump, row.rf_start
