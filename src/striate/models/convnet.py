"""A small four-layer convolutional network for controlled comparisons (docs/classics.md).

    conv5-32, act, maxpool 3/2,  conv5-32, act, maxpool 3/2,  conv5-64, act, maxpool 3/2,  [dropout], fc

Three 5x5 convolutions ("same" padding) and one fully connected layer: the layout of
cuda-convnet's CIFAR-10 example, the kind of "four-layer convolutional neural network" with
which Krizhevsky et al. (2012, figure 1) compare ReLU and tanh. ``activation``, ``batch_norm``
(after each convolution, before the activation, as in Ioffe and Szegedy 2015) and
``dropout_rate`` (before the classifier) are arguments, so that one recipe key changes one thing:

    striate compare recipes/classics/relu-tanh-cifar10.yaml --vary model.args.activation=relu,tanh
"""

from torch import nn

from striate.layers import make_activation
from striate.models._util import sequential_output_shape
from striate.models.base import Classifier
from striate.models.registry import register_model


class ConvNet4(Classifier):
    def __init__(self, num_classes=10, in_channels=3, input_size=32, widths=(32, 32, 64), activation="relu",
                 batch_norm=False, dropout_rate=0.0):
        super().__init__()
        self.features = nn.Sequential()
        channels = in_channels
        for index, width in enumerate(widths, start=1):
            self.features.add_module(f"conv{index}", nn.Conv2d(channels, width, kernel_size=5, padding=2,
                                                               bias=not batch_norm))
            if batch_norm:
                self.features.add_module(f"bn{index}", nn.BatchNorm2d(width))
            self.features.add_module(f"act{index}", make_activation(activation))
            self.features.add_module(f"pool{index}", nn.MaxPool2d(3, stride=2, ceil_mode=True))  # about half the side
            channels = width
        shape = sequential_output_shape("convnet4", self.features, (in_channels, input_size, input_size))
        self.features.add_module("flatten", nn.Flatten())  # C x H x W -> C*H*W
        if dropout_rate:
            self.features.add_module("drop", nn.Dropout(dropout_rate))
        self.num_features = shape[0] * shape[1] * shape[2]
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        return [f"features.{name}" for name, _ in self.features.named_children() if name.startswith("conv")]


@register_model()
def convnet4(num_classes=10, in_channels=3, input_size=32, widths=(32, 32, 64), activation="relu", batch_norm=False,
             dropout_rate=0.0):
    """Three 5x5 convolutions with max pooling and one fc layer; activation, batch norm and dropout by argument."""
    return ConvNet4(num_classes, in_channels, input_size, tuple(widths), activation, batch_norm, dropout_rate)
