"""Small helpers the zoo's builders and the network spec share."""

import torch
from torch import nn
from torch.func import functional_call

from striate.errors import ModelError


def meta_output_shape(module: nn.Module, in_shape: tuple, name: str = "") -> tuple:
    """The output shape (no batch axis) of ``module`` for inputs of ``in_shape``, computed on the
    'meta' device: no memory, no arithmetic, whatever device the module's weights are on."""
    tensors = {key: torch.empty(value.shape, dtype=value.dtype, device="meta")
               for key, value in [*module.named_parameters(), *module.named_buffers()]}
    probe = torch.empty((1, *in_shape), device="meta")
    try:
        output = functional_call(module, tensors, (probe,))
    except ModelError as error:
        raise ModelError(f"{name}: {error}" if name else str(error)) from None
    except (RuntimeError, ValueError) as error:
        label = f"{name}: " if name else ""
        raise ModelError(f"{label}cannot take an input of shape {tuple(in_shape)} ({str(error).splitlines()[0]}); "
                         "give a larger input_size or change the layer") from None
    return tuple(output.shape[1:])


def sequential_output_shape(model_name: str, layers: nn.Sequential, in_shape: tuple) -> tuple:
    """Walk ``layers`` one child at a time, so that an input too small names the layer that fails."""
    shape = tuple(in_shape)
    for name, layer in layers.named_children():
        shape = meta_output_shape(layer, shape, f"{model_name}: layer '{name}' on a "
                                                f"{'x'.join(map(str, in_shape))} input")
        if 0 in shape:
            raise ModelError(f"{model_name}: layer '{name}' makes an empty {shape} map from a "
                             f"{'x'.join(map(str, in_shape))} input; give a larger input_size")
    return shape
