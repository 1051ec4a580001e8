"""The locally connected layer: a convolution whose weights are not shared across positions.

Every output position (i, j) has its own kernel, so

    y[n, o, i, j] = b[o, i, j] + sum over c, p, q of  w[i, j, o, c, p, q] * x_pad[n, c, i*s + p, j*s + q]

(a convolution drops the i, j of ``w`` and ``b``). The course's arithmetic for a 200x200 grey
image: 400,000 hidden units with 10x10 fields have 400,000 x 100 = 40 million weights, where a
fully connected layer has 200 x 200 x 400,000 = 16 billion and a convolution with the same 40
filters of 10x10 has 4,000 (tests/layers pin the three on the 'meta' device).

Storage: ``weight`` is (out_h * out_w, out_channels, in_channels * kh * kw), positions in
row-major order and each kernel flattened in ``F.unfold``'s (channel, row, column) order, so that
the forward is one unfold and one batched product over positions (no loop);
``weight.view(out_h, out_w, out_channels, in_channels, kh, kw)`` is the formula's ``w``.
``bias`` is unshared too: (out_channels, out_h, out_w). The input size is fixed when the layer
is built (the number of kernels depends on it).

Initialisation is nn.Conv2d's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kh * kw
for weights and biases (kaiming_uniform with a = sqrt(5)); ``init_weights`` schemes use the fans of
a convolution with the same kernel (fan_in = C kh kw, fan_out = O kh kw).

>>> layer = LocallyConnected2d(3, 8, kernel_size=3, input_size=10)
>>> layer.weight.shape, layer(torch.zeros(2, 3, 10, 10)).shape
(torch.Size([64, 8, 27]), torch.Size([2, 8, 8, 8]))
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import handle_torch_function, has_torch_function_variadic

from striate.errors import ModelError


def _pair(value, what: str) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ModelError(f"locally connected layer: {what} must be an integer or a pair of integers, got {value!r}")
    return pair


def output_side(size: int, kernel: int, stride: int, padding: int) -> int:
    """(size - kernel + 2 padding) // stride + 1, as for a convolution."""
    return (size + 2 * padding - kernel) // stride + 1


def locally_connected2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                        kernel_size: tuple[int, int], stride: tuple[int, int] = (1, 1),
                        padding: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """The functional form: input N x C x H x W, weight (OH*OW, O, C*kh*kw), bias (O, OH, OW) or None.

    A torch function (it honours ``__torch_function__``), so that the inspector's receptive-field
    tracer sees it as one window operation, like ``F.conv2d``.
    """
    if has_torch_function_variadic(input, weight, bias):
        return handle_torch_function(locally_connected2d, (input, weight, bias), input, weight, bias,
                                     kernel_size=kernel_size, stride=stride, padding=padding)
    out_h, out_w = (output_side(side, k, s, p) for side, k, s, p in zip(input.shape[-2:], kernel_size, stride, padding))
    if out_h * out_w != weight.shape[0] or input.shape[1] * kernel_size[0] * kernel_size[1] != weight.shape[2]:
        raise ModelError(f"locally connected layer: built for {weight.shape[2] // (kernel_size[0] * kernel_size[1])} "
                         f"channels and {weight.shape[0]} positions, got a {'x'.join(map(str, input.shape[1:]))} "
                         f"input ({out_h}x{out_w} positions); its input size is fixed when it is built")
    columns = F.unfold(input, kernel_size, padding=padding, stride=stride)  # N x C*kh*kw x OH*OW
    output = torch.einsum("nkl,lok->nol", columns, weight)  # one product per position, batched
    output = output.reshape(input.shape[0], weight.shape[1], out_h, out_w)
    return output if bias is None else output + bias


class LocallyConnected2d(nn.Module):
    """Unshared 2-D convolution (see the module docstring for the formula and the storage).

    ``input_size`` is the input's height and width (an int or a pair); padding is zeros on each side.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, input_size, stride=1, padding=0,
                 bias: bool = True):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.input_size = _pair(input_size, "input_size")
        sizes = (in_channels, out_channels, *self.kernel_size, *self.stride, *self.input_size)
        if min(sizes) < 1 or min(self.padding) < 0:
            raise ModelError(f"locally connected layer: channels, kernel_size, stride and input_size must be positive "
                             f"and padding non-negative, got in_channels={in_channels}, out_channels={out_channels}, "
                             f"kernel_size={kernel_size}, stride={stride}, padding={padding}, input_size={input_size}")
        self.output_size = tuple(output_side(side, k, s, p) for side, k, s, p in
                                 zip(self.input_size, self.kernel_size, self.stride, self.padding))
        if min(self.output_size) < 1:
            raise ModelError(f"locally connected layer: kernel {kernel_size} is larger than its "
                             f"{'x'.join(map(str, self.input_size))} input (padding {padding}); use a smaller kernel, "
                             "more padding or a larger input")
        self.in_channels, self.out_channels = in_channels, out_channels
        positions = self.output_size[0] * self.output_size[1]
        self.weight = nn.Parameter(torch.empty(positions, out_channels, in_channels * math.prod(self.kernel_size)))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.output_size)) if bias else None
        self.reset_parameters()

    @property
    def fans(self) -> tuple[int, int]:
        """(fan_in, fan_out) of one position's kernel, as for a convolution with the same kernel."""
        area = math.prod(self.kernel_size)
        return self.in_channels * area, self.out_channels * area

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.fans[0])  # nn.Conv2d's kaiming_uniform(a=sqrt(5)) and bias bound
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return locally_connected2d(x, self.weight, self.bias, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"input_size={self.input_size}, stride={self.stride}, padding={self.padding}, "
                f"output_size={self.output_size}, bias={self.bias is not None}")
