"""DropConnect (Wan, Zeiler, Zhang, LeCun and Fergus 2013): drop weights, not units.

In training each forward draws a Bernoulli mask ``M`` over the weight matrix (or kernel),
keeping each weight with probability ``keep = 1 - rate``, and uses ``W * M``: a unit sees a
random subset of its inputs. One mask is drawn per forward (per mini-batch), shared by the
samples of the batch; biases are not masked.

Convention: *inverted* scaling, as ``nn.Dropout`` does. Training uses ``W * M / keep``, whose
expectation is ``W``, so at test time the layer is the plain layer with ``W`` unchanged: the
paper's simple mean inference (its ``E[M * W] = keep * W`` written with the scale moved into
training). The two conventions give the same network up to that factor. ``rate`` is the
probability that a weight is *dropped* (as for ``dropout``); the paper's ``p`` is ``keep``.
At rate 0.5 the two read the same.

The layers are ``nn.Linear`` and ``nn.Conv2d`` subclasses with the same parameters and state-dict
keys, so initialisation, the inspector, export and loading weights treat them as the plain layers.

>>> layer = DropConnectLinear(100, 10, rate=0.5)
>>> layer.eval()(torch.ones(1, 100)).shape       # eval: the plain linear layer
torch.Size([1, 10])
"""

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ModelError


def check_rate(rate: float, where: str = "DropConnect") -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ModelError(f"{where}: rate must be a number in [0, 1) (the probability of dropping a weight), "
                         f"got {rate!r}")
    return float(rate)


def drop_weights(weight: torch.Tensor, rate: float) -> torch.Tensor:
    """``weight * M / keep`` with a fresh Bernoulli(keep) mask ``M``; the gradient reaches kept weights only."""
    keep = 1.0 - rate
    mask = torch.empty_like(weight).bernoulli_(keep)
    return weight * mask / keep


class DropConnectLinear(nn.Linear):
    """A fully connected layer whose weights are dropped with probability ``rate`` in training."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rate: float = 0.5, **kwargs):
        super().__init__(in_features, out_features, bias, **kwargs)
        self.rate = check_rate(rate, "DropConnectLinear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return super().forward(x)
        return F.linear(x, drop_weights(self.weight, self.rate), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rate={self.rate}"


class DropConnectConv2d(nn.Conv2d):
    """A convolution whose kernel weights are dropped with probability ``rate`` in training
    (one mask over the whole kernel tensor per forward, shared by every position)."""

    def __init__(self, *args, rate: float = 0.5, **kwargs):
        super().__init__(*args, **kwargs)
        self.rate = check_rate(rate, "DropConnectConv2d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return super().forward(x)
        return self._conv_forward(x, drop_weights(self.weight, self.rate), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rate={self.rate}"
