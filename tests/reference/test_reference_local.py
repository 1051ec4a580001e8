"""The locally connected reference: with every position's kernel tied it is the convolution's reference;
its weight gradient is per position (not summed over positions, as the shared convolution's is)."""

import numpy as np
import pytest

from striate import reference as ref


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_tied_kernels_give_the_convolution_forward_and_backward(stride, padding):
    rng = np.random.default_rng(0)
    x, kernel, b = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    y_conv, conv_cache = ref.conv2d_forward(x, kernel, b, stride, padding)
    out_h, out_w = y_conv.shape[2:]
    w = np.broadcast_to(kernel, (out_h, out_w, *kernel.shape)).copy()
    b_local = np.broadcast_to(b[:, None, None], (4, out_h, out_w)).copy()
    y, cache = ref.locally_connected2d_forward(x, w, b_local, stride, padding)
    np.testing.assert_allclose(y, y_conv, atol=1e-12)
    upstream = rng.normal(size=y.shape)
    dx, dw, db = ref.locally_connected2d_backward(upstream, cache)
    dx_conv, dw_conv, db_conv = ref.conv2d_backward(upstream, conv_cache)
    np.testing.assert_allclose(dx, dx_conv, atol=1e-12)
    np.testing.assert_allclose(dw.sum(axis=(0, 1)), dw_conv, atol=1e-12)  # shared = sum of the unshared
    np.testing.assert_allclose(db.sum(axis=(1, 2)), db_conv, atol=1e-12)


def test_weight_gradient_is_per_position():
    x = np.ones((1, 1, 2, 2))
    _, cache = ref.locally_connected2d_forward(x, np.ones((2, 2, 1, 1, 1, 1)))
    upstream = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    _, dw, db = ref.locally_connected2d_backward(upstream, cache)
    assert dw[:, :, 0, 0, 0, 0].tolist() == [[1.0, 2.0], [3.0, 4.0]] and db is None


def test_weights_that_do_not_fit_the_input_are_refused():
    with pytest.raises(ValueError, match="weights for 2x2 positions do not fit a 4x4 input"):
        ref.locally_connected2d_forward(np.ones((1, 1, 4, 4)), np.ones((2, 2, 1, 1, 2, 2)))
