"""The locally connected layer (unshared convolution) written from its formula, forward and backward.

    y[n, o, i, j] = b[o, i, j] + sum over c, p, q of  w[i, j, o, c, p, q] * x_pad[n, c, i*s + p, j*s + q]

with stride ``s`` and ``x_pad`` the input zero-padded by ``padding`` on each side. As in the
convolution's reference, the loops run over the kernel offsets (p, q), each taken at every
output position at once; unlike it, the weight carries the position (i, j), so its gradient
is *not* summed over positions: only over the samples of the batch.

    dw[i, j, o, c, p, q] = sum over n of  dy[n, o, i, j] * x_pad[n, c, i*s + p, j*s + q]
    db[o, i, j]          = sum over n of  dy[n, o, i, j]
    dx_pad[n, c, i*s + p, j*s + q]  +=  sum over o of  dy[n, o, i, j] * w[i, j, o, c, p, q]

The weight here is laid out as the formula reads, OH x OW x O x C x KH x KW;
``striate.layers.LocallyConnected2d`` keeps the same numbers as
``weight.view(OH, OW, O, C, KH, KW)``.

>>> import numpy as np
>>> x, w = np.ones((1, 1, 3, 3)), np.ones((2, 2, 1, 1, 2, 2))
>>> w[0, 0] = 0.0                       # the top-left position's kernel only
>>> y, cache = locally_connected2d_forward(x, w)
>>> y[0, 0]
array([[0., 4.],
       [4., 4.]])
"""

import numpy as np

from striate.reference.conv import output_size


def _window(offset: int, stride: int, count: int) -> slice:
    """The input rows (or columns) that kernel offset ``offset`` meets at the ``count`` output positions."""
    return slice(offset, offset + stride * (count - 1) + 1, stride)


def locally_connected2d_forward(x, w, b=None, stride: int = 1, padding: int = 0):
    """x: N x C x H x W, w: OH x OW x O x C x KH x KW, b: O x OH x OW -> (y: N x O x OH x OW, cache)."""
    out_h, out_w, out_channels, _, kernel_h, kernel_w = w.shape
    height, width = x.shape[2:]
    fits = (output_size(height, kernel_h, stride, padding, 1), output_size(width, kernel_w, stride, padding, 1))
    if fits != (out_h, out_w):
        raise ValueError(f"weights for {out_h}x{out_w} positions do not fit a {height}x{width} input "
                         f"with kernel {kernel_h}x{kernel_w}, stride {stride}, padding {padding}")
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros((x.shape[0], out_channels, out_h, out_w), dtype=np.result_type(x, w))
    for p in range(kernel_h):
        for q in range(kernel_w):
            seen = x_pad[:, :, _window(p, stride, out_h), _window(q, stride, out_w)]  # N x C x OH x OW
            y += np.einsum("ijoc,ncij->noij", w[:, :, :, :, p, q], seen)
    if b is not None:
        y += b[None]
    return y, (x_pad, w, b is not None, stride, padding)


def locally_connected2d_backward(dy, cache):
    """dy: N x O x OH x OW -> (dx, dw, db); db is None when the forward had no bias."""
    x_pad, w, has_bias, stride, padding = cache
    out_h, out_w, _, _, kernel_h, kernel_w = w.shape
    dx_pad = np.zeros(x_pad.shape, dtype=np.result_type(dy, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dy, x_pad))
    for p in range(kernel_h):
        for q in range(kernel_w):
            rows, cols = _window(p, stride, out_h), _window(q, stride, out_w)
            # unshared weight: one gradient per position, summed over the batch only
            dw[:, :, :, :, p, q] = np.einsum("noij,ncij->ijoc", dy, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += np.einsum("noij,ijoc->ncij", dy, w[:, :, :, :, p, q])
    height, width = x_pad.shape[2] - 2 * padding, x_pad.shape[3] - 2 * padding
    dx = dx_pad[:, :, padding : padding + height, padding : padding + width]
    db = dy.sum(axis=0) if has_bias else None
    return dx, dw, db
