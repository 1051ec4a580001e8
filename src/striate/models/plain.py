"""A convolutional body followed by fully connected layers: the shape AlexNet and VGG share.

    body (convolutions, pooling)  ->  flatten  ->  fc6, ReLU, dropout  ->  fc7, ReLU, dropout  ->  head

``forward_features`` ends after fc7 (the 4096-wide "CNN code" of Razavian et al. 2014);
the head is one Linear layer. The width of fc6's input is found from the body's output
on the given input size, so the same builder serves 227x227, 224x224 or smaller inputs.
"""

from torch import nn

from striate.models._util import sequential_output_shape
from striate.models.base import Classifier


class PlainConvNet(Classifier):
    def __init__(self, model_name: str, body: nn.Sequential, in_shape: tuple, fc_widths=(4096, 4096),
                 num_classes: int = 1000, dropout_rate: float = 0.5):
        super().__init__()
        channels, height, width = sequential_output_shape(model_name, body, in_shape)
        self.features = body
        self.features.add_module("flatten", nn.Flatten())  # C x H x W -> C*H*W
        inputs = channels * height * width
        for index, units in enumerate(fc_widths, start=6):
            self.features.add_module(f"fc{index}", nn.Linear(inputs, units))
            self.features.add_module(f"relu{index}", nn.ReLU(inplace=True))
            self.features.add_module(f"drop{index}", nn.Dropout(dropout_rate))
            inputs = units
        self.num_features = inputs
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        return [f"features.{name}" for name, layer in self.features.named_children()
                if isinstance(layer, (nn.Conv2d, nn.Linear))]
