"""Max-unpooling with the pooling switches (Zeiler and Fergus 2014; Noh, Hong and Han 2015).

A ``SwitchMaxPool2d`` is a max pool that remembers where each maximum came from (its *switches*) while its
forward returns only the pooled output, so it sits in an ``nn.Sequential`` like any pool. The
``MaxUnpool`` paired with it puts every value back at its switch position and zeros elsewhere, at the
pool's input size:

>>> import torch
>>> pool = SwitchMaxPool2d(2)
>>> unpool = MaxUnpool(pool)
>>> x = torch.tensor([[[[1., 2.], [4., 3.]]]])
>>> unpool(pool(x))
tensor([[[[0., 0.],
          [4., 0.]]]])

The switches belong to the last forward pass of the pool, so the pair is meant for one network's
forward (the deconvolution network's encoder, then its mirrored decoder), not for pools shared
between inputs evaluated out of order.
"""

import torch
import torch.nn.functional as F
from torch import nn


class SwitchMaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` that records its indices (``switches``) and input size for a paired ``MaxUnpool``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, return_indices=False, ceil_mode=ceil_mode)
        self.switches: torch.Tensor | None = None
        self.input_size: torch.Size | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, indices = F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                       ceil_mode=self.ceil_mode, return_indices=True)
        self.switches, self.input_size = indices, x.shape
        return output


class MaxUnpool(nn.Module):
    """``nn.MaxUnpool2d`` fed by its pool's switches: values back to where the maxima were, zeros elsewhere.

    The pool is held by reference only (not registered as a submodule), so it is counted, saved and
    printed once, where it sits in the encoder.
    """

    def __init__(self, pool: SwitchMaxPool2d):
        super().__init__()
        if not isinstance(pool, SwitchMaxPool2d):
            raise TypeError(f"MaxUnpool needs a SwitchMaxPool2d, got {type(pool).__name__}")
        self.__dict__["pool"] = pool  # a plain attribute: not a submodule
        self.unpool = nn.MaxUnpool2d(pool.kernel_size, pool.stride, pool.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        switches, size = self.pool.switches, self.pool.input_size
        if switches is None:
            raise RuntimeError("MaxUnpool ran before its pool: run the paired SwitchMaxPool2d first")
        if switches.shape != x.shape:
            raise RuntimeError(f"MaxUnpool input {tuple(x.shape)} does not match its pool's output "
                               f"{tuple(switches.shape)}")
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():  # F.max_unpool2d's size check needs ints
            return torch.ops.aten.max_unpool2d(x, switches, [int(side) for side in size[-2:]])
        return self.unpool(x, switches, output_size=size[-2:])

    def extra_repr(self) -> str:
        return f"kernel_size={self.pool.kernel_size}, stride={self.pool.stride}"
