"""The facial-keypoints course networks (Daniel Nouri's Lasagne tutorial for the Kaggle challenge):
regressors whose ``num_classes`` outputs are the 2K keypoint coordinates (x1, y1, x2, y2, ...),
scaled to -1..1 across the image.

    keypoint_mlp     flatten 96x96 = 9216 -> fc 100, ReLU -> 30            (net1, 924,730 parameters)
    keypoint_lenet   conv 3x3-32, pool, conv 2x2-64, pool, conv 2x2-128, pool, fc 500, fc 500 -> 30   (net2)
"""

from torch import nn

from striate.models.base import Classifier
from striate.models.mlp import MLP
from striate.models.registry import register_model


class KeypointLeNet(Classifier):
    def __init__(self, num_classes=30, in_channels=1, input_size=96, widths=(32, 64, 128), hidden=500):
        super().__init__()
        self.features = nn.Sequential()
        side, channels = input_size, in_channels
        for index, (width, kernel) in enumerate(zip(widths, (3, 2, 2)), start=1):
            self.features.add_module(f"conv{index}", nn.Conv2d(channels, width, kernel_size=kernel))
            self.features.add_module(f"relu{index}", nn.ReLU(inplace=True))
            self.features.add_module(f"pool{index}", nn.MaxPool2d(kernel_size=2, stride=2))
            side, channels = (side - kernel + 1) // 2, width
        self.features.add_module("flatten", nn.Flatten())  # widths[-1] x side x side -> one vector
        self.features.add_module("fc4", nn.Linear(channels * side * side, hidden))
        self.features.add_module("relu4", nn.ReLU(inplace=True))
        self.features.add_module("fc5", nn.Linear(hidden, hidden))
        self.features.add_module("relu5", nn.ReLU(inplace=True))
        self.num_features = hidden
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.conv2", "features.conv3", "features.fc4", "features.fc5"]


@register_model()
def keypoint_mlp(num_classes=30, in_channels=1, input_size=96, hidden=100):
    """Keypoint regressor net1: one hidden layer (9216-100-30 on 96x96 faces)."""
    return MLP(num_classes, in_channels, input_size, (hidden,))


@register_model()
def keypoint_lenet(num_classes=30, in_channels=1, input_size=96, widths=(32, 64, 128), hidden=500):
    """Keypoint regressor net2: LeNet-style convs 32-64-128 with pooling, fc 500, fc 500."""
    return KeypointLeNet(num_classes, in_channels, input_size, tuple(widths), hidden)
