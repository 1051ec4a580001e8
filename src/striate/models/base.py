"""The interface every striate classifier shares (DESIGN.md principle 3).

``forward_features`` maps images to a feature tensor, ``forward_head`` maps
those to class scores, ``num_features`` is the width the head reads,
``reset_classifier`` swaps the head for a new number of classes, and
``feature_taps`` names the modules whose outputs are worth looking at
(for visualisation, CNN codes and monitors).
"""

import torch
from torch import nn

from striate.errors import ModelError, did_you_mean


class Classifier(nn.Module):
    """Base class: subclasses set ``self.features``, ``self.head`` and ``self.num_features``."""

    num_features: int
    num_classes: int

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))

    def make_head(self, num_classes: int) -> nn.Module:
        """The classifier for ``num_classes`` classes; override for heads other than one Linear."""
        return nn.Linear(self.num_features, num_classes)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialised one for ``num_classes`` classes."""
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        """Names (as in ``named_modules``) of the layers whose outputs can be tapped."""
        return [name for name, module in self.named_modules() if name and not list(module.children())]


@torch.no_grad()
def tap_outputs(model: nn.Module, images: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """Run ``model`` on ``images`` and return the outputs of the named modules.

    >>> outputs = tap_outputs(model, images, ["features.conv1"])   # doctest: +SKIP
    """
    modules = dict(model.named_modules())
    missing = [name for name in names if name not in modules]
    if missing:
        raise ModelError(f"no layer named '{missing[0]}'{did_you_mean(missing[0], modules)}")
    outputs: dict[str, torch.Tensor] = {}
    handles = [
        modules[name].register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
        for name in names
    ]
    run_with_hooks(model, images, handles)
    return outputs


def run_with_hooks(model: nn.Module, images: torch.Tensor, handles: list) -> None:
    """Run ``model`` on ``images`` without gradients, then remove the hook ``handles`` (also on an error).

    >>> run_with_hooks(model, images, [model.register_forward_hook(record)])   # doctest: +SKIP
    """
    try:
        with torch.no_grad():
            model(images)
    finally:
        for handle in handles:
            handle.remove()
