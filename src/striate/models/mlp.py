"""A plain multi-layer perceptron: flatten, then fully connected layers with ReLU.

``dropout_rate`` drops hidden units; ``dropconnect`` drops the hidden layers' weights instead
(Wan et al. 2013, layers/dropconnect.py); both are rates in [0, 1), 0 for none."""

from torch import nn

from striate.layers import DropConnectLinear, make_activation
from striate.models.base import Classifier
from striate.models.registry import register_model


class MLP(Classifier):
    def __init__(self, num_classes=10, in_channels=1, input_size=28, hidden=(512, 256), activation="relu",
                 dropout_rate=0.0, dropconnect=0.0):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("flatten", nn.Flatten())  # C x H x W -> C*H*W
        width = in_channels * input_size * input_size
        for index, units in enumerate(hidden, start=1):
            self.features.add_module(f"fc{index}", DropConnectLinear(width, units, rate=dropconnect) if dropconnect
                                     else nn.Linear(width, units))
            self.features.add_module(f"act{index}", make_activation(activation))
            if dropout_rate:
                self.features.add_module(f"drop{index}", nn.Dropout(dropout_rate))
            width = units
        self.num_features = width
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        return [f"features.{name}" for name, _ in self.features.named_children() if name.startswith("fc")]


@register_model()
def mlp(num_classes=10, in_channels=1, input_size=28, hidden=(512, 256), activation="relu", dropout_rate=0.0,
        dropconnect=0.0):
    """A multi-layer perceptron with ``hidden`` fully connected ReLU layers."""
    return MLP(num_classes, in_channels, input_size, tuple(hidden), activation, dropout_rate, dropconnect)
