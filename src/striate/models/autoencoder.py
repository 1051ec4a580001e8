"""A convolutional autoencoder: stride-2 convolutions encode, transposed convolutions decode.

    encoder  conv 3x3/2  -> w x S/2     decoder  upconv 4x4/2 -> 2w x S/4
             conv 3x3/2  -> 2w x S/4             upconv 4x4/2 -> w x S/2
             conv 3x3/2  -> code x S/8           upconv 4x4/2 -> C x S, sigmoid (pixels in 0..1)

Batch normalisation and ReLU follow every layer but the last (plain SGD then trains it in a few epochs).

It keeps the Classifier interface, so the transfer tools use its encoder as a feature extractor:
``forward_features`` is the encoder (the code map, ``num_features`` channels), ``forward_head`` the
decoder, and ``reset_classifier(k)`` swaps the decoder for a pooled linear classifier on the code.
"""

from torch import nn

from striate.errors import ModelError
from striate.models.base import Classifier
from striate.models.registry import register_model


class ConvAutoencoder(Classifier):
    def __init__(self, in_channels=1, width=16, code_channels=32):
        super().__init__()
        self.in_channels = in_channels
        self.features = nn.Sequential()
        widths = (width, 2 * width, code_channels)
        channels = in_channels
        for index, out in enumerate(widths, start=1):
            self.features.add_module(f"conv{index}", nn.Conv2d(channels, out, kernel_size=3, stride=2, padding=1))
            self.features.add_module(f"bn{index}", nn.BatchNorm2d(out))
            self.features.add_module(f"relu{index}", nn.ReLU(inplace=True))
            channels = out
        self.num_features = code_channels
        self.num_classes = 0  # no classes until reset_classifier: the head is the decoder
        self.head = nn.Sequential()
        for index, out in enumerate((2 * width, width), start=1):
            self.head.add_module(f"upconv{index}", nn.ConvTranspose2d(channels, out, kernel_size=4, stride=2, padding=1))
            self.head.add_module(f"bn{index}", nn.BatchNorm2d(out))
            self.head.add_module(f"relu{index}", nn.ReLU(inplace=True))
            channels = out
        self.head.add_module("upconv3", nn.ConvTranspose2d(channels, in_channels, kernel_size=4, stride=2, padding=1))
        self.head.add_module("sigmoid", nn.Sigmoid())  # reconstructions are pixels in 0..1

    def make_head(self, num_classes: int) -> nn.Module:
        """A classifier on the code: global average pooling, then one linear layer."""
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(self.num_features, num_classes))

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.conv2", "features.conv3"]


@register_model(task="autoencoder")
def conv_autoencoder(num_classes=0, in_channels=1, input_size=32, width=16, code_channels=32):
    """Convolutional autoencoder (3 stride-2 convs, 3 transposed convs); input sides divisible by 8."""
    if input_size % 8:
        raise ModelError(f"conv_autoencoder needs input sides divisible by 8 (three halvings), got {input_size}; "
                         "set data.input_size to e.g. 32")
    return ConvAutoencoder(in_channels, width, code_channels)
