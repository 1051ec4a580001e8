"""The NumPy reference layers against PyTorch, forward and backward, to 1e-6 in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from striate import reference as ref

TOLERANCE = 1e-6


def _close(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=TOLERANCE, atol=TOLERANCE)


def _torch_grads(output, upstream, *inputs):
    output.backward(torch.from_numpy(upstream))
    return [tensor.grad for tensor in inputs]


def _tensor(array):
    return torch.from_numpy(array.copy()).requires_grad_(True)


@pytest.mark.parametrize("stride, padding, dilation, bias", [(1, 0, 1, True), (2, 1, 1, True), (1, 2, 2, False),
                                                             (3, 1, 2, True), (2, 0, 3, True)])
def test_conv2d_matches_torch(stride, padding, dilation, bias):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 2))
    b = rng.normal(size=4) if bias else None
    y, cache = ref.conv2d_forward(x, w, b, stride, padding, dilation)
    tx, tw = _tensor(x), _tensor(w)
    tb = _tensor(b) if bias else None
    ty = F.conv2d(tx, tw, tb, stride=stride, padding=padding, dilation=dilation)
    _close(y, ty)
    upstream = rng.normal(size=y.shape)
    dx, dw, db = ref.conv2d_backward(upstream, cache)
    ty.backward(torch.from_numpy(upstream))
    _close(dx, tx.grad)
    _close(dw, tw.grad)
    if bias:
        _close(db, tb.grad)
    else:
        assert db is None


def test_conv2d_shared_weight_gradient_is_sum_over_positions():
    x = np.ones((1, 1, 4, 4))
    _, cache = ref.conv2d_forward(x, np.ones((1, 1, 1, 1)))
    _, dw, _ = ref.conv2d_backward(np.ones((1, 1, 4, 4)), cache)
    assert dw[0, 0, 0, 0] == 16.0  # 16 positions, each contributing 1 * 1


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
def test_maxpool_matches_torch(kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 7, 6))  # continuous values: no ties
    y, cache = ref.maxpool2d_forward(x, kernel, stride, padding)
    tx = _tensor(x)
    ty = F.max_pool2d(tx, kernel, stride, padding)
    _close(y, ty)
    upstream = rng.normal(size=y.shape)
    (grad,) = _torch_grads(ty, upstream, tx)
    _close(ref.maxpool2d_backward(upstream, cache), grad)


def test_maxpool_routes_gradient_to_argmax_only():
    x = np.array([[[[1.0, 5.0], [2.0, 3.0]]]])
    _, cache = ref.maxpool2d_forward(x, 2)
    dx = ref.maxpool2d_backward(np.array([[[[7.0]]]]), cache)
    assert dx.tolist() == [[[[0.0, 7.0], [0.0, 0.0]]]]


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_avgpool_matches_torch(kernel, stride, padding):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 2, 7, 7))
    y, cache = ref.avgpool2d_forward(x, kernel, stride, padding)
    tx = _tensor(x)
    ty = F.avg_pool2d(tx, kernel, stride, padding)
    _close(y, ty)
    upstream = rng.normal(size=y.shape)
    (grad,) = _torch_grads(ty, upstream, tx)
    _close(ref.avgpool2d_backward(upstream, cache), grad)


def test_relu_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4, 5))
    y, cache = ref.relu_forward(x)
    tx = _tensor(x)
    ty = torch.relu(tx)
    _close(y, ty)
    upstream = rng.normal(size=y.shape)
    (grad,) = _torch_grads(ty, upstream, tx)
    _close(ref.relu_backward(upstream, cache), grad)


def _torch_lrn_alexnet(x, size, alpha, beta, k):
    """AlexNet's formula written directly with torch ops (autograd gives the backward)."""
    squares = F.pad((x**2).unsqueeze(1), (0, 0, 0, 0, size // 2, (size - 1) // 2)).squeeze(1)
    total = torch.stack([squares[:, c : c + size].sum(dim=1) for c in range(x.shape[1])], dim=1)
    return x / (k + alpha * total) ** beta


@pytest.mark.parametrize("size, alpha, beta, k", [(5, 1e-4, 0.75, 2.0), (3, 0.5, 0.75, 1.0), (4, 0.1, 0.5, 2.0),
                                                  (1, 0.2, 1.0, 1.0)])
def test_lrn_matches_the_alexnet_formula_in_torch(size, alpha, beta, k):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 3, 3)) * 2
    y, cache = ref.lrn_forward(x, size, alpha, beta, k)
    tx = _tensor(x)
    ty = _torch_lrn_alexnet(tx, size, alpha, beta, k)
    _close(y, ty)
    upstream = rng.normal(size=y.shape)
    (grad,) = _torch_grads(ty, upstream, tx)
    _close(ref.lrn_backward(upstream, cache), grad)


def test_lrn_equals_torch_local_response_norm_with_alpha_times_size():
    # torch divides alpha by size; the AlexNet form does not
    x = np.random.default_rng(5).normal(size=(2, 7, 4, 4))
    y, _ = ref.lrn_forward(x, size=5, alpha=0.3, beta=0.75, k=2.0)
    _close(y, F.local_response_norm(torch.from_numpy(x), 5, alpha=0.3 * 5, beta=0.75, k=2.0))


def test_linear_matches_torch():
    rng = np.random.default_rng(6)
    x, w, b = rng.normal(size=(5, 7)), rng.normal(size=(3, 7)), rng.normal(size=3)
    y, cache = ref.linear_forward(x, w, b)
    tx, tw, tb = _tensor(x), _tensor(w), _tensor(b)
    ty = F.linear(tx, tw, tb)
    _close(y, ty)
    upstream = rng.normal(size=y.shape)
    grads = _torch_grads(ty, upstream, tx, tw, tb)
    for ours, theirs in zip(ref.linear_backward(upstream, cache), grads):
        _close(ours, theirs)


def test_softmax_logloss_matches_torch_cross_entropy():
    rng = np.random.default_rng(7)
    z, labels = rng.normal(size=(6, 4)) * 5, rng.integers(0, 4, size=6)
    loss, cache = ref.softmax_logloss_forward(z, labels)
    tz = _tensor(z)
    tloss = F.cross_entropy(tz, torch.from_numpy(labels))
    _close(loss, tloss)
    tloss.backward()
    _close(ref.softmax_logloss_backward(cache), tz.grad)


def test_softmax_logloss_is_stable_for_large_logits():
    loss, _ = ref.softmax_logloss_forward(np.array([[1000.0, 0.0]]), np.array([1]))
    assert np.isfinite(loss) and abs(loss - 1000.0) < 1e-9


def test_small_network_chain_matches_torch_end_to_end():
    """conv -> relu -> maxpool -> lrn -> fc -> log-loss, chained forward and backward."""
    rng = np.random.default_rng(8)
    x, labels = rng.normal(size=(2, 1, 8, 8)), np.array([1, 2])
    w1, b1 = rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4)
    w2, b2 = rng.normal(size=(3, 4 * 3 * 3)) * 0.1, rng.normal(size=3)
    h1, c1 = ref.conv2d_forward(x, w1, b1, padding=1)
    h2, c2 = ref.relu_forward(h1)
    h3, c3 = ref.maxpool2d_forward(h2, 3, 2)
    h4, c4 = ref.lrn_forward(h3, size=3, alpha=0.1)
    h5, c5 = ref.linear_forward(h4.reshape(2, -1), w2, b2)
    loss, c6 = ref.softmax_logloss_forward(h5, labels)
    d5 = ref.softmax_logloss_backward(c6)
    d4, dw2, _ = ref.linear_backward(d5, c5)
    d3 = ref.lrn_backward(d4.reshape(h4.shape), c4)
    _, dw1, _ = ref.conv2d_backward(ref.relu_backward(ref.maxpool2d_backward(d3, c3), c2), c1)

    tw1, tb1, tw2, tb2 = _tensor(w1), _tensor(b1), _tensor(w2), _tensor(b2)
    t = F.max_pool2d(torch.relu(F.conv2d(torch.from_numpy(x), tw1, tb1, padding=1)), 3, 2)
    t = _torch_lrn_alexnet(t, 3, 0.1, 0.75, 2.0)
    tloss = F.cross_entropy(F.linear(t.flatten(1), tw2, tb2), torch.from_numpy(labels))
    tloss.backward()
    _close(loss, tloss)
    _close(dw1, tw1.grad)
    _close(dw2, tw2.grad)
