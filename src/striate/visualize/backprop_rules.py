"""How a backward pass crosses a ReLU, for the pictures that project a signal back to the pixels.

- ``"gradient"``: the true gradient, ``grad_out * (x > 0)`` (gradient saliency).
- ``"deconvnet"`` (Zeiler and Fergus 2014): the reconstruction is rectified, ``relu(grad_out)``,
  whatever the forward input was; the ReLU's forward switch is not used.
- ``"guided"`` (guided backpropagation, Springenberg et al. 2015): both, ``relu(grad_out) * (x > 0)``.

Convolutions go back through their own gradient (the transposed convolution with the same filters)
and max pooling through its own backward, which routes the signal to the forward pass's switches
(the positions of the maxima): exactly the deconvnet's unpooling. Only ``nn.ReLU`` modules are
rewritten (a ReLU called as a function inside ``forward``, or another activation, keeps its
gradient); an in-place ReLU is run out of place inside the block so that its input is kept.

>>> with backprop_rule(model, "guided"):                     # doctest: +SKIP
...     gradient, = torch.autograd.grad(model(images)[0, 3], images)
"""

import contextlib

import torch
from torch import nn

from striate.errors import ConfigError

RULES = ("gradient", "deconvnet", "guided")


class _RectifiedReLU(torch.autograd.Function):
    """relu forward; backward by the deconvnet rule, or the guided one when ``guided``."""

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, guided: bool) -> torch.Tensor:
        output = inputs.clamp(min=0)
        ctx.guided = guided
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (output,) = ctx.saved_tensors
        grad = grad_output.clamp(min=0)
        if ctx.guided:
            grad = grad * (output > 0)
        return grad, None


@contextlib.contextmanager
def backprop_rule(model: nn.Module, rule: str):
    """Inside the block, every ``nn.ReLU`` of ``model`` passes gradients back by ``rule`` (one of
    :data:`RULES`); hooks and in-place flags are restored on leaving, also after an error."""
    if rule not in RULES:
        raise ConfigError(f"unknown backprop rule '{rule}'; expected one of {', '.join(RULES)}")
    if rule == "gradient":
        yield model
        return
    guided = rule == "guided"
    relus = [module for module in model.modules() if isinstance(module, nn.ReLU)]
    inplace = [module.inplace for module in relus]
    handles = []
    try:
        for module in relus:
            module.inplace = False  # keep the input: the rule's output replaces the module's
            handles.append(module.register_forward_hook(
                lambda _module, inputs, _output: _RectifiedReLU.apply(inputs[0], guided)))
        yield model
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in zip(relus, inplace):
            module.inplace = flag
