"""Dilated convolutions for dense prediction (Yu and Koltun 2016, "Multi-scale context aggregation by
dilated convolutions"): a front-end that keeps full resolution (no pooling; dilation widens the view
instead), class scores, then the paper's basic context module:

    layer       1    2    3    4    5    6    7    8
    dilation    1    1    2    4    8   16    1    -      3x3 convolutions, C channels, ReLU
    field       3    5    9   17   33   65   67   67     (the last layer is 1x1, no ReLU)

with C = num_classes channels throughout and identity initialisation (the paper's Eq. 4), so the module
starts by passing the front-end's scores through unchanged. Output size equals input size.
"""

import torch
from torch import nn

from striate.models.registry import register_model

CONTEXT_DILATIONS = (1, 1, 2, 4, 8, 16, 1)


def identity_init(conv: nn.Conv2d) -> None:
    """Set a square convolution to pass its input through: ``k^b(t, a) = 1[t = 0] 1[a = b]`` (Eq. 4)."""
    with torch.no_grad():
        conv.weight.zero_()
        centre = conv.kernel_size[0] // 2
        conv.weight[range(conv.out_channels), range(conv.in_channels), centre, centre] = 1.0
        if conv.bias is not None:
            conv.bias.zero_()


class ContextModule(nn.Sequential):
    """The basic context module: dilated 3x3 convolutions with exponentially growing dilation, C -> C."""

    def __init__(self, channels: int, dilations=CONTEXT_DILATIONS):
        super().__init__()
        for index, dilation in enumerate(dilations, start=1):
            conv = nn.Conv2d(channels, channels, kernel_size=3, padding=dilation, dilation=dilation)
            identity_init(conv)
            self.add_module(f"context{index}", conv)
            self.add_module(f"relu{index}", nn.ReLU())
        final = nn.Conv2d(channels, channels, kernel_size=1)
        identity_init(final)
        self.add_module(f"context{len(dilations) + 1}", final)


class DilatedNet(nn.Module):
    """Front-end (3x3 convolutions, dilations 1, 1, 2, 2, 4; full resolution), 1x1 scores, context module."""

    def __init__(self, num_classes=21, in_channels=3, width=32, context=True):
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential()
        for index, dilation in enumerate((1, 1, 2, 2, 4), start=1):
            self.features.add_module(f"conv{index}", nn.Conv2d(in_channels, width, kernel_size=3, padding=dilation,
                                                                dilation=dilation))
            self.features.add_module(f"relu{index}", nn.ReLU(inplace=True))
            in_channels = width
        self.num_features = width
        self.score = nn.Conv2d(width, num_classes, kernel_size=1)
        self.context = ContextModule(num_classes) if context else nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.features(images)  # N x width x H x W
        scores = self.score(features)  # N x num_classes x H x W
        return self.context(scores)  # same shape: context aggregated over a 67-pixel field

    def feature_taps(self) -> list[str]:
        return [f"features.conv{index}" for index in range(1, 6)] + ["score"]


@register_model(task="segmentation")
def dilated_context(num_classes=21, in_channels=3, input_size=64, width=32):
    """Dilated front-end at full resolution plus Yu and Koltun's context module (identity-initialised)."""
    return DilatedNet(num_classes, in_channels, width, context=True)
