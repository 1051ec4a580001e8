"""Fully connected layer and the softmax log-loss, written from their formulas.

    y = x W^T + b                                    (x: N x D, W: O x D)
    loss = -1/N * sum_n log softmax(z_n)[label_n]    (z: N x C)

The loss gradient is (softmax(z) - one_hot(label)) / N.

>>> import numpy as np
>>> loss, cache = softmax_logloss_forward(np.zeros((2, 4)), np.array([0, 3]))
>>> round(float(loss), 4)   # ln 4
1.3863
"""

import numpy as np


def linear_forward(x, w, b=None):
    y = x @ w.T
    if b is not None:
        y = y + b
    return y, (x, w, b is not None)


def linear_backward(dy, cache):
    """-> (dx, dw, db): dx = dy W, dW = dy^T x (summed over the batch), db = sum of dy."""
    x, w, has_bias = cache
    return dy @ w, dy.T @ x, (dy.sum(axis=0) if has_bias else None)


def log_softmax(z):
    """log softmax, shifted by the row maximum so that exp never overflows."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_logloss_forward(z, labels):
    """Mean negative log-likelihood of the true classes."""
    log_p = log_softmax(z)
    loss = -log_p[np.arange(len(labels)), labels].mean()
    return loss, (log_p, labels)


def softmax_logloss_backward(cache, dloss: float = 1.0):
    log_p, labels = cache
    grad = np.exp(log_p)
    grad[np.arange(len(labels)), labels] -= 1.0
    return dloss * grad / len(labels)
