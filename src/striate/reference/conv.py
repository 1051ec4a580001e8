"""Convolution written from its formula, forward and backward.

    y[n, o, i, j] = b[o] + sum over c, p, q of  w[o, c, p, q] * x_pad[n, c, i*s + p*d, j*s + q*d]

with stride ``s``, dilation ``d`` and ``x_pad`` the input zero-padded by ``padding`` on each side.
The loops run over the kernel offsets (p, q); each offset is one matrix product over channels,
taken at every output position at once. The same weight is used at every position, so its
gradient is the sum over positions of (output gradient x input it saw).

>>> import numpy as np
>>> x, w, b = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.zeros(1)
>>> y, cache = conv2d_forward(x, w, b)
>>> y[0, 0]
array([[4., 4.],
       [4., 4.]])
"""

import numpy as np


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output side: floor((size + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _window(offset: int, dilation: int, stride: int, count: int) -> slice:
    """The input rows (or columns) that kernel offset ``offset`` meets at the ``count`` output positions."""
    start = offset * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def conv2d_forward(x, w, b=None, stride: int = 1, padding: int = 0, dilation: int = 1):
    """x: N x C x H x W, w: O x C x KH x KW, b: O -> (y: N x O x OH x OW, cache for the backward)."""
    n, _, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = w.shape
    out_h = output_size(height, kernel_h, stride, padding, dilation)
    out_w = output_size(width, kernel_w, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros((n, out_channels, out_h, out_w), dtype=np.result_type(x, w))
    for p in range(kernel_h):
        for q in range(kernel_w):
            seen = x_pad[:, :, _window(p, dilation, stride, out_h), _window(q, dilation, stride, out_w)]
            y += np.einsum("oc,ncij->noij", w[:, :, p, q], seen)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    cache = (x_pad.shape, x_pad, w, b is not None, stride, padding, dilation)
    return y, cache


def conv2d_backward(dy, cache):
    """dy: N x O x OH x OW -> (dx, dw, db); db is None when the forward had no bias."""
    pad_shape, x_pad, w, has_bias, stride, padding, dilation = cache
    _, _, out_h, out_w = dy.shape
    _, _, kernel_h, kernel_w = w.shape
    dx_pad = np.zeros(pad_shape, dtype=dy.dtype)
    dw = np.zeros_like(w, dtype=dy.dtype)
    for p in range(kernel_h):
        for q in range(kernel_w):
            rows, cols = _window(p, dilation, stride, out_h), _window(q, dilation, stride, out_w)
            # shared weight: the gradient is summed over every sample and every output position
            dw[:, :, p, q] = np.einsum("noij,ncij->oc", dy, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += np.einsum("noij,oc->ncij", dy, w[:, :, p, q])
    height, width = pad_shape[2] - 2 * padding, pad_shape[3] - 2 * padding
    dx = dx_pad[:, :, padding : padding + height, padding : padding + width]
    db = dy.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw, db
