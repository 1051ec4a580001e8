"""Residual networks (He, Zhang, Ren and Sun 2016).

ImageNet ResNets: a 7x7/2 stem, 3x3/2 max pooling, four stages of residual blocks
(64, 128, 256, 512 wide; the first block of stages 2-4 halves the map), global average
pooling and one fully connected layer. ``resnet18``/``34`` use basic blocks (two 3x3
convolutions), ``resnet50``/``101``/``152`` bottlenecks (1x1 down, 3x3, 1x1 up by 4).
Shortcuts that change shape are 1x1 projections with batch norm (the paper's option B).
The bottleneck strides in its 3x3 convolution ("ResNet v1.5", as torchvision and timm do;
the paper strides the first 1x1; the parameter counts are the same). Module names follow
torchvision, so its weights load (models/convert.py).

    resnet18 11,689,512   resnet34 21,797,672   resnet50 25,557,032
    resnet101 44,549,160  resnet152 60,192,808  (1000 classes)

CIFAR ResNets (section 4.2): a 3x3 stem of 16 maps, three stages of n basic blocks
(16, 32, 64 wide), global average pooling, 6n + 2 layers: ``resnet20/32/44/56/110``.
Their shortcuts are parameter-free (option A: subsample, pad the new channels with zeros).
"""

import torch
import torch.nn.functional as F
from torch import nn

from striate.models.base import Classifier
from striate.models.registry import register_model


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Option B shortcut: a strided 1x1 convolution and batch norm."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))"""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)  # the skip
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """relu(bn(conv1x1 up(relu(bn(conv3x3(relu(bn(conv1x1 down(x))))))) + shortcut(x))"""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)  # the skip
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class PadShortcut(nn.Module):
    """Option A shortcut: keep every ``stride``-th pixel and zero-pad the new channels."""

    def __init__(self, extra_channels: int, stride: int):
        super().__init__()
        self.extra_channels, self.stride = extra_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]  # C x H/s x W/s
        half = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))  # (C + extra) x H/s x W/s


def make_stage(block, in_channels: int, width: int, count: int, stride: int, shortcut: str = "B") -> nn.Sequential:
    """``count`` blocks; the first changes the stride and width, with a projection (B) or padding (A) skip."""
    out_channels = width * block.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = (projection(in_channels, out_channels, stride) if shortcut == "B"
                      else PadShortcut(out_channels - in_channels, stride))
    blocks = [block(in_channels, width, stride, downsample)]
    blocks += [block(out_channels, width) for _ in range(count - 1)]
    return nn.Sequential(*blocks)


def _init(model: nn.Module) -> None:
    """He normal (fan-out) convolutions, unit batch-norm scales, as the paper and torchvision."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class ResNet(Classifier):
    def __init__(self, block, counts, num_classes=1000, in_channels=3):
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv1", nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False))
        self.features.add_module("bn1", nn.BatchNorm2d(64))
        self.features.add_module("relu", nn.ReLU(inplace=True))
        self.features.add_module("maxpool", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        channels = 64
        for index, (width, count) in enumerate(zip((64, 128, 256, 512), counts), start=1):
            stage = make_stage(block, channels, width, count, stride=1 if index == 1 else 2)
            self.features.add_module(f"layer{index}", stage)
            channels = width * block.expansion
        self.features.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
        self.features.add_module("flatten", nn.Flatten())  # C x 1 x 1 -> C
        self.num_features = channels
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)
        _init(self)

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.layer1", "features.layer2", "features.layer3", "features.layer4"]


class CifarResNet(Classifier):
    def __init__(self, depth: int, num_classes=10, in_channels=3):
        super().__init__()
        count = (depth - 2) // 6  # 6n + 2 layers
        self.features = nn.Sequential()
        self.features.add_module("conv1", conv3x3(in_channels, 16))
        self.features.add_module("bn1", nn.BatchNorm2d(16))
        self.features.add_module("relu", nn.ReLU(inplace=True))
        channels = 16
        for index, width in enumerate((16, 32, 64), start=1):
            stage = make_stage(BasicBlock, channels, width, count, stride=1 if index == 1 else 2, shortcut="A")
            self.features.add_module(f"layer{index}", stage)
            channels = width
        self.features.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
        self.features.add_module("flatten", nn.Flatten())  # 64 x 1 x 1 -> 64
        self.num_features = channels
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)
        _init(self)

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.layer1", "features.layer2", "features.layer3"]


def _imagenet(name: str, block, counts, params: str):
    def build(num_classes=1000, in_channels=3, input_size=224):
        del input_size  # global average pooling takes any input of 32x32 or more
        return ResNet(block, counts, num_classes, in_channels)
    kind = "basic blocks" if block is BasicBlock else "bottlenecks"
    build.__doc__ = f"ResNet-{name[6:]} for ImageNet: {kind} {'-'.join(map(str, counts))} ({params} parameters)."
    register_model(name)(build)


def _cifar(depth: int):
    def build(num_classes=10, in_channels=3, input_size=32):
        del input_size  # global average pooling takes any input size
        return CifarResNet(depth, num_classes, in_channels)
    build.__doc__ = f"ResNet-{depth} for CIFAR-10: 3 stages of {(depth - 2) // 6} basic blocks, option A shortcuts."
    register_model(f"resnet{depth}")(build)


_imagenet("resnet18", BasicBlock, (2, 2, 2, 2), "11,689,512")
_imagenet("resnet34", BasicBlock, (3, 4, 6, 3), "21,797,672")
_imagenet("resnet50", Bottleneck, (3, 4, 6, 3), "25,557,032")
_imagenet("resnet101", Bottleneck, (3, 4, 23, 3), "44,549,160")
_imagenet("resnet152", Bottleneck, (3, 8, 36, 3), "60,192,808")
for _depth in (20, 32, 44, 56, 110):
    _cifar(_depth)
