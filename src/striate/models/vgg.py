"""VGG (Simonyan and Zisserman 2015): stacks of 3x3 convolutions (pad 1) and 2x2 max pooling,
then fc6/fc7 of 4096 and the classifier. Configurations A, B, D, E of the paper's Table 1 are
``vgg11``, ``vgg13``, ``vgg16``, ``vgg19``; ``_bn`` adds batch normalisation after each
convolution (Ioffe and Szegedy 2015), as torchvision does.

Parameters on 224x224 inputs with 1000 classes: vgg11 132,863,336; vgg13 133,047,848;
vgg16 138,357,544; vgg19 143,667,240. Layers are named conv{stage}_{index} as in the
paper's Caffe models; fc6's width follows the input size (512 x 7 x 7 on 224x224, 512 on 32x32).
"""

from torch import nn

from striate.models.plain import PlainConvNet
from striate.models.registry import register_model

# convolutions per stage (widths 64, 128, 256, 512, 512)
STAGES = {"vgg11": (1, 1, 2, 2, 2), "vgg13": (2, 2, 2, 2, 2), "vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)


def _body(in_channels: int, stages, batch_norm: bool) -> nn.Sequential:
    body = nn.Sequential()
    for stage, (count, width) in enumerate(zip(stages, WIDTHS), start=1):
        for index in range(1, count + 1):
            body.add_module(f"conv{stage}_{index}", nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
            if batch_norm:
                body.add_module(f"bn{stage}_{index}", nn.BatchNorm2d(width))
            body.add_module(f"relu{stage}_{index}", nn.ReLU(inplace=True))
            in_channels = width
        body.add_module(f"pool{stage}", nn.MaxPool2d(kernel_size=2, stride=2))
    return body


def _vgg(name: str, batch_norm: bool, num_classes, in_channels, input_size, dropout_rate) -> PlainConvNet:
    body = _body(in_channels, STAGES[name], batch_norm)
    label = name + ("_bn" if batch_norm else "")
    return PlainConvNet(label, body, (in_channels, input_size, input_size), (4096, 4096), num_classes, dropout_rate)


@register_model()
def vgg11(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG configuration A: 8 convolutions + 3 fully connected (132,863,336 parameters)."""
    return _vgg("vgg11", False, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg13(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG configuration B: 10 convolutions + 3 fully connected (133,047,848 parameters)."""
    return _vgg("vgg13", False, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg16(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG configuration D: 13 convolutions + 3 fully connected (138,357,544 parameters)."""
    return _vgg("vgg16", False, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg19(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG configuration E: 16 convolutions + 3 fully connected (143,667,240 parameters)."""
    return _vgg("vgg19", False, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg11_bn(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG-11 with batch normalisation after every convolution."""
    return _vgg("vgg11", True, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg13_bn(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG-13 with batch normalisation after every convolution."""
    return _vgg("vgg13", True, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg16_bn(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG-16 with batch normalisation after every convolution."""
    return _vgg("vgg16", True, num_classes, in_channels, input_size, dropout_rate)


@register_model()
def vgg19_bn(num_classes=1000, in_channels=3, input_size=224, dropout_rate=0.5):
    """VGG-19 with batch normalisation after every convolution."""
    return _vgg("vgg19", True, num_classes, in_channels, input_size, dropout_rate)
