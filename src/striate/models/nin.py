"""Network in Network (Lin, Chen and Yan 2014): "mlpconv" layers (a convolution followed by
1x1 convolutions, a small MLP slid over the image) and global average pooling in place of
fully connected layers. This is the paper's CIFAR-10 network (its Caffe model):

    mlpconv1  5x5 192, 1x1 160, 1x1 96     maxpool 3/2, dropout 0.5
    mlpconv2  5x5 192, 1x1 192, 1x1 192    avgpool 3/2, dropout 0.5
    mlpconv3  3x3 192, 1x1 192, 1x1 classes  global average pooling  (966,986 parameters, 10 classes)

The head is the last 1x1 convolution (one map per class), its ReLU and the global average;
``forward_features`` returns the 192 maps before it.
"""

from torch import nn

from striate.models.base import Classifier
from striate.models.registry import register_model


def mlpconv(block: nn.Sequential, prefix: str, in_channels: int, widths, kernel_size: int) -> int:
    """A kxk convolution and two 1x1 convolutions, each followed by ReLU."""
    for index, width in enumerate(widths, start=1):
        size = kernel_size if index == 1 else 1
        block.add_module(f"{prefix}_conv{index}", nn.Conv2d(in_channels, width, size, padding=size // 2))
        block.add_module(f"{prefix}_relu{index}", nn.ReLU(inplace=True))
        in_channels = width
    return in_channels


class NIN(Classifier):
    def __init__(self, num_classes=10, in_channels=3, dropout_rate=0.5):
        super().__init__()
        self.features = nn.Sequential()
        channels = mlpconv(self.features, "mlpconv1", in_channels, (192, 160, 96), 5)
        self.features.add_module("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True))
        self.features.add_module("drop1", nn.Dropout(dropout_rate))
        channels = mlpconv(self.features, "mlpconv2", channels, (192, 192, 192), 5)
        self.features.add_module("pool2", nn.AvgPool2d(3, stride=2, ceil_mode=True))
        self.features.add_module("drop2", nn.Dropout(dropout_rate))
        self.num_features = mlpconv(self.features, "mlpconv3", channels, (192, 192), 3)
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def make_head(self, num_classes: int) -> nn.Module:
        head = nn.Sequential()
        head.add_module("conv", nn.Conv2d(self.num_features, num_classes, kernel_size=1))  # one map per class
        head.add_module("relu", nn.ReLU(inplace=True))
        head.add_module("pool", nn.AdaptiveAvgPool2d(1))  # global average pooling
        head.add_module("flatten", nn.Flatten())  # classes x 1 x 1 -> classes
        return head

    def feature_taps(self) -> list[str]:
        return [f"features.{name}" for name, layer in self.features.named_children() if isinstance(layer, nn.Conv2d)]


@register_model()
def nin(num_classes=10, in_channels=3, input_size=32, dropout_rate=0.5):
    """Network in Network for CIFAR-10: three mlpconv layers and global average pooling (966,986 parameters)."""
    del input_size  # global average pooling takes any input of 8x8 or more
    return NIN(num_classes, in_channels, dropout_rate)
