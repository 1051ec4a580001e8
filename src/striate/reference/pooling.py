"""Max and average pooling written from their formulas, forward and backward.

Max pooling keeps the largest value of each window; its backward routes the whole
output gradient to that arg-max and gives zero to the others. Average pooling gives
each input in the window an equal share, 1 / (window size), of the output gradient
(padding counts in the window size, as in PyTorch's default ``count_include_pad=True``).

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> maxpool2d_forward(x, 2)[0][0, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""

import numpy as np

from striate.reference.conv import output_size


def _offsets(kernel: int):
    return [(p, q) for p in range(kernel) for q in range(kernel)]


def _seen(x_pad, p: int, q: int, stride: int, out_h: int, out_w: int):
    """The input values that window offset (p, q) meets at every output position."""
    return x_pad[:, :, p : p + stride * (out_h - 1) + 1 : stride, q : q + stride * (out_w - 1) + 1 : stride]


def maxpool2d_forward(x, kernel_size: int, stride: int | None = None, padding: int = 0):
    """x: N x C x H x W -> (y, cache); y[n, c, i, j] = max over the window at (i*stride, j*stride)."""
    stride = stride or kernel_size
    _, _, height, width = x.shape
    out_h = output_size(height, kernel_size, stride, padding, 1)
    out_w = output_size(width, kernel_size, stride, padding, 1)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=-np.inf)
    y = np.full(x.shape[:2] + (out_h, out_w), -np.inf, dtype=x.dtype)
    argmax = np.zeros(y.shape, dtype=np.int64)  # which window offset won
    for index, (p, q) in enumerate(_offsets(kernel_size)):
        seen = _seen(x_pad, p, q, stride, out_h, out_w)
        better = seen > y  # strictly greater: the first maximum wins ties
        y = np.where(better, seen, y)
        argmax = np.where(better, index, argmax)
    return y, (x.shape, argmax, kernel_size, stride, padding)


def maxpool2d_backward(dy, cache):
    """Route each output gradient to the arg-max of its window."""
    shape, argmax, kernel_size, stride, padding = cache
    _, _, out_h, out_w = dy.shape
    dx_pad = np.zeros(shape[:2] + (shape[2] + 2 * padding, shape[3] + 2 * padding), dtype=dy.dtype)
    for index, (p, q) in enumerate(_offsets(kernel_size)):
        rows = slice(p, p + stride * (out_h - 1) + 1, stride)
        cols = slice(q, q + stride * (out_w - 1) + 1, stride)
        dx_pad[:, :, rows, cols] += np.where(argmax == index, dy, 0.0)
    return dx_pad[:, :, padding : padding + shape[2], padding : padding + shape[3]]


def avgpool2d_forward(x, kernel_size: int, stride: int | None = None, padding: int = 0):
    """x: N x C x H x W -> (y, cache); y = the mean of each window (zero padding included)."""
    stride = stride or kernel_size
    _, _, height, width = x.shape
    out_h = output_size(height, kernel_size, stride, padding, 1)
    out_w = output_size(width, kernel_size, stride, padding, 1)
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    for p, q in _offsets(kernel_size):
        y += _seen(x_pad, p, q, stride, out_h, out_w)
    return y / kernel_size**2, (x.shape, kernel_size, stride, padding)


def avgpool2d_backward(dy, cache):
    """Each input of a window receives 1 / (kernel_size^2) of the window's output gradient."""
    shape, kernel_size, stride, padding = cache
    _, _, out_h, out_w = dy.shape
    dx_pad = np.zeros(shape[:2] + (shape[2] + 2 * padding, shape[3] + 2 * padding), dtype=dy.dtype)
    for p, q in _offsets(kernel_size):
        dx_pad[:, :, p : p + stride * (out_h - 1) + 1 : stride, q : q + stride * (out_w - 1) + 1 : stride] += dy
    dx_pad /= kernel_size**2
    return dx_pad[:, :, padding : padding + shape[2], padding : padding + shape[3]]
