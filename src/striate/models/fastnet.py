"""A small, fast CIFAR network in the shape of the speed runs (Page 2018, "How to train your ResNet";
Jordan 2024, airbench), with its widths as an argument so that it fits the hardware's budget.

    patch whitening 2x2 (fixed filters from the data), act,
    3 x group: conv3x3, maxpool 2, bn, act, conv3x3, bn, act      (widths w1, w2, w3)
    global max pool, flatten, linear (no bias) x head_scale

- The first layer is :class:`striate.layers.PatchWhitening`: its filters are the whitening components of
  the training images' 2x2 patches (measured by the run session before training), not learned.
- Each group pools after its first convolution, so the second one runs on a quarter of the map: most of
  the work is done at low resolution (32 -> 31 -> 15 -> 7 -> 3 -> 1).
- ``head_scale`` multiplies the logits (airbench uses 1/9): small logits at the start keep the large
  learning rate from saturating the softmax.
- ``flip_test``: in eval mode the features are the mean of the image's and its mirror image's (test-time
  augmentation by horizontal flip); the head is linear, so the logits are the mean of the two logits too.
  Training is unchanged; evaluation costs two forward passes.

``widths=(64, 256, 256)`` is airbench94's size (about 0.24 GFLOP a forward pass); the default
``(32, 64, 128)`` does 6x less work, for a CPU (recipes/cifar10-fast.yaml).
"""

import torch
from torch import nn

from striate.layers import PatchWhitening, make_activation
from striate.models._util import sequential_output_shape
from striate.models.base import Classifier
from striate.models.registry import register_model


class Scale(nn.Module):
    """Multiply by a fixed number."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


class ConvGroup(nn.Sequential):
    """conv3x3 -> maxpool 2 -> bn -> act -> conv3x3 -> bn -> act"""

    def __init__(self, in_channels: int, width: int, activation: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)  # halves the side before the second convolution
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = make_activation(activation)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act2 = make_activation(activation)


class FastNet(Classifier):
    def __init__(self, num_classes=10, in_channels=3, input_size=32, widths=(32, 64, 128), activation="relu",
                 head_scale=1 / 9, flip_test=True):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("whiten", PatchWhitening(in_channels, kernel_size=2))
        self.features.add_module("act0", make_activation(activation))
        channels = self.features.whiten.out_channels
        for index, width in enumerate(widths, start=1):
            self.features.add_module(f"group{index}", ConvGroup(channels, width, activation))
            channels = width
        sequential_output_shape("fastnet", self.features, (in_channels, input_size, input_size))
        self.features.add_module("pool", nn.AdaptiveMaxPool2d(1))
        self.features.add_module("flatten", nn.Flatten())  # C x 1 x 1 -> C
        self.num_features, self.num_classes = channels, num_classes
        self.head_scale, self.flip_test = head_scale, flip_test
        self.head = self.make_head(num_classes)

    def make_head(self, num_classes: int) -> nn.Module:
        return nn.Sequential(nn.Linear(self.num_features, num_classes, bias=False), Scale(self.head_scale))

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        if self.training or not self.flip_test:
            return self.features(images)
        both = self.features(torch.cat([images, images.flip(-1)]))  # the images, then their mirror images
        return both.view(2, -1, self.num_features).mean(0)  # 2N x C -> 2 x N x C -> N x C

    def feature_taps(self) -> list[str]:
        groups = [name for name, _ in self.features.named_children() if name.startswith("group")]
        return ["features.whiten"] + [f"features.{group}.{conv}" for group in groups for conv in ("conv1", "conv2")]


@register_model()
def fastnet(num_classes=10, in_channels=3, input_size=32, widths=(32, 64, 128), activation="relu", head_scale=1 / 9,
            flip_test=True):
    """Patch whitening and three conv-pool-bn groups, the speed runs' CIFAR shape; widths by argument."""
    return FastNet(num_classes, in_channels, input_size, tuple(widths), activation, head_scale, flip_test)
