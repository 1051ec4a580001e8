"""Where a network is not differentiable: the switches of its piecewise-linear layers.

A ReLU's slope jumps where its input crosses 0, a max pooling's where the largest entry of a window changes.
A central difference whose two points lie on either side of such a kink measures neither side's slope
(CS231n, "Gradient checks": kinks in the objective). In a small network that is rare; in ResNet-20 with batch
norm a step of 1e-6 in one weight moves every unit of a channel, and some ReLU input crosses zero on most
steps, which shows as relative errors near 1e-3 on a correct backward. The watch records the switch pattern
of every such layer at each forward pass, so the gradient check can tell a step that crossed a kink and take
it again, smaller (CS231n's advice: keep track of the "winners" of every max).

>>> watch = KinkWatch(model)          # doctest: +SKIP
>>> model(x); before = watch.take()   # doctest: +SKIP
"""

import torch
from torch import nn

from striate.layers import Maxout

# layers whose slope jumps at a threshold of their input; the pattern is which side each input is on
RECTIFIERS = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.Hardtanh, nn.Threshold)
MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
             nn.AdaptiveMaxPool3d)


def _pattern(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Which piece of ``module`` each of its outputs comes from, for the input ``x``."""
    if isinstance(module, nn.Hardtanh):  # also ReLU6: two kinks
        return (x > module.min_val).to(torch.int8) + (x >= module.max_val).to(torch.int8)
    if isinstance(module, nn.Threshold):
        return x > module.threshold
    if isinstance(module, RECTIFIERS):
        return x > 0
    if isinstance(module, Maxout):
        return x.view(x.shape[0], x.shape[1] // module.pieces, module.pieces, *x.shape[2:]).argmax(dim=2)
    returned = module.return_indices  # a max pooling: the index of each window's largest entry
    module.return_indices = True
    try:
        return module.forward(x)[1]  # forward() itself, so that no hook runs again
    finally:
        module.return_indices = returned


class KinkWatch:
    """Forward pre-hooks on every ReLU-like layer, max pooling and maxout of ``model``, recording their switch
    patterns in call order; ``take()`` returns and clears them, ``close()`` removes the hooks."""

    def __init__(self, model: nn.Module):
        self.patterns: list[torch.Tensor] = []
        kinds = RECTIFIERS + MAX_POOLS + (Maxout,)
        self.handles = [module.register_forward_pre_hook(self._record) for module in model.modules()
                        if isinstance(module, kinds)]

    def _record(self, module: nn.Module, args) -> None:
        if args and torch.is_tensor(args[0]):
            with torch.no_grad():
                self.patterns.append(_pattern(module, args[0].detach()))

    def take(self) -> list[torch.Tensor]:
        patterns, self.patterns = self.patterns, []
        return patterns

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def same_side(first: list[torch.Tensor], second: list[torch.Tensor]) -> bool:
    """Whether two forward passes took every piecewise-linear layer through the same pieces."""
    return len(first) == len(second) and all(a.shape == b.shape and torch.equal(a, b) for a, b in zip(first, second))
