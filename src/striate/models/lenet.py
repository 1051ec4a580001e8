"""LeNet-5 (LeCun, Bottou, Bengio and Haffner 1998), as the course tables give it.

    input 1x32x32
    C1 conv 5x5, 6 maps        -> 6x28x28    156 parameters
    S2 pool 2x2 stride 2        -> 6x14x14
    C3 conv 5x5, 16 maps       -> 16x10x10  2,416 (full connection table)
    S4 pool 2x2 stride 2        -> 16x5x5
    C5 conv 5x5, 120 maps      -> 120x1x1  48,120
    F6 fully connected 84                  10,164
    output fully connected 10                 850
                                   total   61,706

The paper used scaled tanh and trainable subsampling; ``activation="tanh"``
and ``pooling="avg"`` give the classic look, the defaults (ReLU, max pooling)
train faster. Parameter counts are the same either way. ``batch_norm=True`` puts a batch
normalisation after C1, C3, C5 and F6 (before the activation; 2 x 226 more parameters), the
modern variant that trains to 99% on MNIST in two epochs; a list of layer names
(``[conv2, conv3, fc4]``) puts it after those only (recipes/mnist-fast.yaml skips conv1,
whose six 28x28 maps make batch norm slow in channels_last on a CPU). ``dropconnect=0.5``
makes F6 a DropConnect layer (Wan et al. 2013, layers/dropconnect.py: half its weights dropped
in each training forward; the same parameters).
"""

from torch import nn

from striate.errors import ModelError
from striate.layers import DropConnectLinear, make_activation
from striate.models.base import Classifier
from striate.models.registry import register_model

POOLING = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(Classifier):
    def __init__(self, num_classes=10, in_channels=1, input_size=32, activation="relu", pooling="max",
                 batch_norm=False, dropconnect=0.0):
        super().__init__()
        if input_size < 32:
            raise ModelError(
                f"lenet5 needs inputs of at least 32x32 (C5 must see a 5x5 map), got {input_size}x{input_size}; "
                "set data.input_size: 32 (MNIST's 28x28 digits are zero-padded to 32x32)"
            )
        if pooling not in POOLING:
            raise ModelError(f"unknown pooling '{pooling}'; expected one of {sorted(POOLING)}")
        pool = POOLING[pooling]
        side = ((input_size - 4) // 2 - 4) // 2 - 4  # C5's output side: 1 on 32x32 inputs
        layers = ("conv1", "conv2", "conv3", "fc4")
        normalised = set(layers if batch_norm is True else (batch_norm or ()))
        if not normalised <= set(layers):
            raise ModelError(f"lenet5 batch_norm: unknown layers {sorted(normalised - set(layers))}; "
                             f"expected true, false or a list of {', '.join(layers)}")
        self.features = nn.Sequential()

        def block(index, layer, width, norm):
            name = layers[index - 1]
            self.features.add_module(name, layer)
            if name in normalised:
                self.features.add_module(f"bn{index}", norm(width))
            self.features.add_module(f"act{index}", make_activation(activation))

        block(1, nn.Conv2d(in_channels, 6, kernel_size=5), 6, nn.BatchNorm2d)
        self.features.add_module("pool1", pool(kernel_size=2, stride=2))
        block(2, nn.Conv2d(6, 16, kernel_size=5), 16, nn.BatchNorm2d)
        self.features.add_module("pool2", pool(kernel_size=2, stride=2))
        block(3, nn.Conv2d(16, 120, kernel_size=5), 120, nn.BatchNorm2d)
        self.features.add_module("flatten", nn.Flatten())  # 120 x side x side -> 120*side*side
        width = 120 * side * side
        fc4 = DropConnectLinear(width, 84, rate=dropconnect) if dropconnect else nn.Linear(width, 84)
        block(4, fc4, 84, nn.BatchNorm1d)
        self.num_features = 84
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.conv2", "features.conv3", "features.fc4"]


@register_model()
def lenet5(num_classes=10, in_channels=1, input_size=32, activation="relu", pooling="max", batch_norm=False,
           dropconnect=0.0):
    """LeNet-5: conv5-6, pool, conv5-16, pool, conv5-120, fc 84, fc 10 (61,706 parameters; batch_norm adds 452)."""
    return LeNet5(num_classes, in_channels, input_size, activation, pooling, batch_norm, dropconnect)
