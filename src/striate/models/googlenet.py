"""GoogLeNet, Inception v1 (Szegedy et al. 2015), as in the paper's Table 1 and Figure 3.

Every convolution is followed by ReLU; there is no batch normalisation (that came in
Inception v2). The 5x5 branch really is 5x5 (torchvision uses 3x3 there). Pooling rounds
up as in Caffe. Parameters (weights without biases, in units of 1024, as the table counts
them): conv2 112K, inception 3a 159K, 3b 380K, 4a 364K, 4b 437K, 4c 463K, 4d 580K,
4e 840K, 5a 1072K, 5b 1388K, linear 1000K.

The two auxiliary classifiers (after 4a and 4d: 5x5/3 average pooling, 1x1 conv 128,
fc 1024, dropout 0.7, fc classes) run only in training mode; their logits are kept in
``model.aux_logits``, and striate's training step adds their losses weighted by
``optim.aux_loss_weight`` (0.3, as the paper does; 0 leaves them out).
"""

import torch
from torch import nn

from striate.layers import LocalResponseNorm
from striate.models.base import Classifier
from striate.models.registry import register_model

# The paper gives no LRN constants; BVLC's Caffe GoogLeNet uses n=5, alpha=1e-4, beta=0.75, k=1 with
# Caffe's alpha/n convention, i.e. alpha = 1e-4 / 5 in the AlexNet form that LocalResponseNorm takes.
LRN_ALPHA = 1e-4 / 5

# name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj), Table 1
INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def conv_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """Four branches concatenated along the channels: 1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then 1x1."""

    def __init__(self, in_channels: int, widths):
        super().__init__()
        ones, reduce3, threes, reduce5, fives, pool_proj = widths
        self.branch1 = conv_relu(in_channels, ones, 1)
        self.branch2 = nn.Sequential(conv_relu(in_channels, reduce3, 1), conv_relu(reduce3, threes, 3))
        self.branch3 = nn.Sequential(conv_relu(in_channels, reduce5, 1), conv_relu(reduce5, fives, 5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_relu(in_channels, pool_proj, 1))
        self.out_channels = ones + threes + fives + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # (1x1 + 3x3 + 5x5 + pool proj) x H x W


class AuxClassifier(nn.Module):
    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)  # the paper's 5x5/3 average pooling gives 4x4 on 14x14 maps
        self.conv = conv_relu(in_channels, 128, 1)
        self.flatten = nn.Flatten()  # 128 x 4 x 4 -> 2048
        self.fc1 = nn.Sequential(nn.Linear(2048, 1024), nn.ReLU(inplace=True), nn.Dropout(0.7))
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(self.flatten(self.conv(self.pool(x)))))


class GoogLeNet(Classifier):
    def __init__(self, num_classes=1000, in_channels=3, aux_classifiers=True, dropout_rate=0.4):
        super().__init__()
        f = self.features = nn.Sequential()
        f.add_module("conv1", conv_relu(in_channels, 64, 7, stride=2))
        f.add_module("pool1", nn.MaxPool2d(3, stride=2, ceil_mode=True))
        f.add_module("norm1", LocalResponseNorm(5, LRN_ALPHA, 0.75, 1.0))
        f.add_module("conv2_reduce", conv_relu(64, 64, 1))
        f.add_module("conv2", conv_relu(64, 192, 3))
        f.add_module("norm2", LocalResponseNorm(5, LRN_ALPHA, 0.75, 1.0))
        f.add_module("pool2", nn.MaxPool2d(3, stride=2, ceil_mode=True))
        channels = 192
        for name, widths in INCEPTIONS.items():
            if name in ("4a", "5a"):
                f.add_module(f"pool{name[0]}", nn.MaxPool2d(3, stride=2, ceil_mode=True))
            block = Inception(channels, widths)
            f.add_module(f"inception{name}", block)
            channels = block.out_channels
        f.add_module("avgpool", nn.AdaptiveAvgPool2d(1))  # 7x7 average pooling on 224x224 inputs
        f.add_module("flatten", nn.Flatten())  # 1024 x 1 x 1 -> 1024
        f.add_module("dropout", nn.Dropout(dropout_rate))
        self.aux1 = AuxClassifier(512, num_classes) if aux_classifiers else None
        self.aux2 = AuxClassifier(528, num_classes) if aux_classifiers else None
        self.aux_logits: list[torch.Tensor] = []
        self.num_features = channels
        self.num_classes = num_classes
        self.head = self.make_head(num_classes)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        self.aux_logits = []
        x = images
        for name, layer in self.features.named_children():
            x = layer(x)
            if self.training and self.aux1 is not None and name in ("inception4a", "inception4d"):
                self.aux_logits.append((self.aux1 if name == "inception4a" else self.aux2)(x))
        return x

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        if self.aux1 is not None:
            self.aux1.fc2 = nn.Linear(1024, num_classes)
            self.aux2.fc2 = nn.Linear(1024, num_classes)

    def feature_taps(self) -> list[str]:
        return ["features.conv1", "features.conv2", *[f"features.inception{name}" for name in INCEPTIONS]]


@register_model()
def googlenet(num_classes=1000, in_channels=3, input_size=224, aux_classifiers=True, dropout_rate=0.4):
    """GoogLeNet (Inception v1) with its two auxiliary classifiers, as in the paper."""
    del input_size  # global average pooling takes any input of 32x32 or more
    return GoogLeNet(num_classes, in_channels, aux_classifiers, dropout_rate)
