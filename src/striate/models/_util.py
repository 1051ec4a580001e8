"""Small helpers the zoo's builders and the network spec share."""

import torch
from torch import nn
from torch.func import functional_call

from striate.errors import ModelError


def probe_output_shape(module: nn.Module, in_shape: tuple, name: str = "") -> tuple:
    """The output shape (no batch axis) of ``module`` for inputs of ``in_shape``, from a batch of zero
    images on the weights' device: every layer checks its shapes, no arithmetic is done and nothing is
    allocated but empty tensors; the buffers are copies, so batch norm's counters do not move. (Meta
    tensors did the same until December 2026, but most elementwise ops run as Python references there,
    which import ``torch._dynamo``: 1.7-3 s added to building any model.)"""
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    tensors = {key: value.clone() for key, value in module.named_buffers()}
    probe = torch.empty((0, *in_shape), device=device, dtype=dtype)
    try:
        with torch.no_grad():
            output = functional_call(module, tensors, (probe,), strict=False)
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
        shape = probe_output_shape(layer, shape, f"{model_name}: layer '{name}' on a "
                                                f"{'x'.join(map(str, in_shape))} input")
        if 0 in shape:
            raise ModelError(f"{model_name}: layer '{name}' makes an empty {shape} map from a "
                             f"{'x'.join(map(str, in_shape))} input; give a larger input_size")
    return shape
