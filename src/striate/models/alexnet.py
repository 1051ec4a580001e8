"""AlexNet (Krizhevsky, Sutskever and Hinton 2012) and its relatives.

``alexnet`` is the original two-tower network. Each GPU held half of the maps of
conv2, conv4 and conv5 and saw only its own half of the previous layer: grouped
convolutions with groups=2. conv3 and the fully connected layers read both towers.

    input 3x227x227 (the paper says 224; 227 makes the arithmetic work)
    conv1 11x11/4, 96       -> 96x55x55    34,944    ReLU, LRN, maxpool 3/2 -> 27x27
    conv2 5x5 pad 2, 256, g2 -> 256x27x27  307,456    ReLU, LRN, maxpool 3/2 -> 13x13
    conv3 3x3 pad 1, 384    -> 384x13x13  885,120    ReLU
    conv4 3x3 pad 1, 384, g2 -> 384x13x13  663,936    ReLU
    conv5 3x3 pad 1, 256, g2 -> 256x13x13  442,624    ReLU, maxpool 3/2 -> 6x6
    fc6 9216 -> 4096                   37,752,832    ReLU, dropout 0.5
    fc7 4096 -> 4096                   16,781,312    ReLU, dropout 0.5
    fc8 4096 -> 1000                    4,097,000
                                 total 60,965,224

``alexnet_owt`` is the one-tower form of Krizhevsky's "One weird trick" (2014), the
layout of torchvision's ``alexnet`` (64/192/384/256/256 maps, no LRN; 61,100,840
parameters), so its weights load (see models/convert.py). ``alexnet_small`` keeps
AlexNet's design (five convolutions, LRN, overlapping 3/2 pooling, dropout, three
fully connected layers) at the scale of CIFAR-10 and MNIST: 5x5 stride-1 conv1,
narrower layers, 1024-wide fully connected layers; 28x28 grayscale inputs build.
"""

from torch import nn

from striate.errors import ModelError
from striate.layers import LocalResponseNorm
from striate.models.plain import PlainConvNet
from striate.models.registry import register_model


def _body(in_channels: int, widths, stem: dict, groups: int, lrn: bool) -> nn.Sequential:
    """conv1..conv5 with ReLUs, LRN after conv1 and conv2, overlapping 3x3 stride-2 max pooling."""
    body = nn.Sequential()
    body.add_module("conv1", nn.Conv2d(in_channels, widths[0], **stem))
    body.add_module("relu1", nn.ReLU(inplace=True))
    if lrn:
        body.add_module("norm1", LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
    body.add_module("pool1", nn.MaxPool2d(kernel_size=3, stride=2))
    body.add_module("conv2", nn.Conv2d(widths[0], widths[1], kernel_size=5, padding=2, groups=groups))
    body.add_module("relu2", nn.ReLU(inplace=True))
    if lrn:
        body.add_module("norm2", LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
    body.add_module("pool2", nn.MaxPool2d(kernel_size=3, stride=2))
    body.add_module("conv3", nn.Conv2d(widths[1], widths[2], kernel_size=3, padding=1))  # reads both towers
    body.add_module("relu3", nn.ReLU(inplace=True))
    body.add_module("conv4", nn.Conv2d(widths[2], widths[3], kernel_size=3, padding=1, groups=groups))
    body.add_module("relu4", nn.ReLU(inplace=True))
    body.add_module("conv5", nn.Conv2d(widths[3], widths[4], kernel_size=3, padding=1, groups=groups))
    body.add_module("relu5", nn.ReLU(inplace=True))
    body.add_module("pool5", nn.MaxPool2d(kernel_size=3, stride=2))
    return body


@register_model()
def alexnet(num_classes=1000, in_channels=3, input_size=227, dropout_rate=0.5):
    """AlexNet, the original two-tower form: grouped conv2/4/5, LRN, overlapping pooling (60,965,224 parameters)."""
    if input_size < 67:  # conv1 11/4 and three 3/2 poolings need 67 pixels to leave a 1x1 map
        raise ModelError(f"alexnet needs inputs of at least 67x67, got {input_size}x{input_size}; for CIFAR- or "
                         "MNIST-sized images use alexnet_small (e.g. --model alexnet_small)")
    body = _body(in_channels, (96, 256, 384, 384, 256), dict(kernel_size=11, stride=4), groups=2, lrn=True)
    return PlainConvNet("alexnet", body, (in_channels, input_size, input_size), (4096, 4096), num_classes,
                        dropout_rate)


@register_model()
def alexnet_owt(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """AlexNet in one tower ("One weird trick", torchvision's layout; 61,100,840 parameters)."""
    body = _body(in_channels, (64, 192, 384, 256, 256), dict(kernel_size=11, stride=4, padding=2), groups=1,
                 lrn=False)
    return PlainConvNet("alexnet_owt", body, (in_channels, input_size, input_size), (4096, 4096), num_classes,
                        dropout_rate)


@register_model()
def alexnet_small(num_classes=10, in_channels=3, input_size=32, dropout_rate=0.5):
    """AlexNet's design at CIFAR/MNIST scale: 5x5 stride-1 conv1, LRN, 3/2 pooling, fc 1024-1024."""
    body = _body(in_channels, (64, 192, 384, 256, 256), dict(kernel_size=5, padding=2), groups=2, lrn=True)
    return PlainConvNet("alexnet_small", body, (in_channels, input_size, input_size), (1024, 1024), num_classes,
                        dropout_rate)
