"""Fully convolutional networks for semantic segmentation (Long, Shelhamer and Darrell 2015), on a
small VGG-style backbone (five stages of 3x3 convolutions and 2x2 pooling, as in striate's vgg).

    pool3 (stride 8) ---------------------------------- score_pool3 --+
    pool4 (stride 16) ------------------ score_pool4 --+              |
    pool5 (stride 32) -> fc6, fc7 -> score -> up x2 ---+-> up x2 -----+-> up x8   (FCN-8s)
                                                  FCN-16s: ... -> up x16;  FCN-32s: score -> up x32

fc6/fc7 are the classifier's fully connected layers recast as convolutions (the paper's "convolutionalized"
VGG). Up-convolutions are transposed convolutions initialised to bilinear interpolation (the paper's
section 3.3) and learned. Inputs of any size work: they are zero-padded to a multiple of 32 and the
scores cropped back, so the output is ``N x num_classes x H x W`` for an ``N x C x H x W`` input.
"""

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ModelError
from striate.models.registry import register_model

STAGES = (1, 1, 2, 2, 2)  # convolutions per stage (VGG configuration A)
WIDTHS = (16, 32, 64, 128, 128)  # a small backbone that trains on a CPU; the paper's VGG-16 used 64..512


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Weights that make a ``ConvTranspose2d(channels, channels, kernel_size, stride=kernel_size // 2)``
    upsample by bilinear interpolation, channel by channel (FCN's ``surgery.upsample_filt``)."""
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    steps = torch.arange(kernel_size, dtype=torch.float32)
    profile = 1 - (steps - centre).abs() / factor
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = profile[:, None] * profile[None, :]
    return weight


def upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    """A learned up-convolution by ``factor``, starting as bilinear interpolation (output = factor x input)."""
    layer = nn.ConvTranspose2d(channels, channels, kernel_size=2 * factor, stride=factor, padding=factor // 2,
                               bias=False)
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, 2 * factor))
    return layer


def vgg_stage(in_channels: int, width: int, count: int, batch_norm: bool = False) -> nn.Sequential:
    stage = nn.Sequential()
    for index in range(1, count + 1):
        stage.add_module(f"conv{index}", nn.Conv2d(in_channels, width, kernel_size=3, padding=1))
        if batch_norm:  # not in the paper; lets plain SGD train the small backbone from scratch in a few epochs
            stage.add_module(f"bn{index}", nn.BatchNorm2d(width))
        stage.add_module(f"relu{index}", nn.ReLU(inplace=True))
        in_channels = width
    stage.add_module("pool", nn.MaxPool2d(kernel_size=2, stride=2))
    return stage


class FCN(nn.Module):
    """FCN-32s, -16s or -8s (``stride`` 32, 16 or 8: the coarsest step of the final upsampling)."""

    def __init__(self, num_classes=21, in_channels=3, stride=8, widths=WIDTHS, fc_width=256, dropout_rate=0.5,
                 batch_norm=False):
        super().__init__()
        if stride not in (8, 16, 32):
            raise ModelError(f"FCN stride must be 8, 16 or 32, got {stride}; use fcn8s, fcn16s or fcn32s")
        self.num_classes, self.stride = num_classes, stride
        self.features = nn.Sequential()
        for stage, (count, width) in enumerate(zip(STAGES, widths), start=1):
            self.features.add_module(f"stage{stage}", vgg_stage(in_channels, width, count, batch_norm))
            in_channels = width
        self.classifier = nn.Sequential(  # fc6 and fc7 as convolutions
            nn.Conv2d(in_channels, fc_width, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.Dropout2d(dropout_rate),
            nn.Conv2d(fc_width, fc_width, kernel_size=1), nn.ReLU(inplace=True), nn.Dropout2d(dropout_rate),
            nn.Conv2d(fc_width, num_classes, kernel_size=1))
        self.num_features = fc_width
        if stride <= 16:
            self.score_pool4 = nn.Conv2d(widths[3], num_classes, kernel_size=1)
            self.up_score = upsampler(num_classes, 2)
            nn.init.zeros_(self.score_pool4.weight)  # the skip starts silent, as in the paper's staged training
        if stride == 8:
            self.score_pool3 = nn.Conv2d(widths[2], num_classes, kernel_size=1)
            self.up_pool4 = upsampler(num_classes, 2)
            nn.init.zeros_(self.score_pool3.weight)
        self.up_final = upsampler(num_classes, stride)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        pad_bottom, pad_right = -height % 32, -width % 32
        x = F.pad(images, (0, pad_right, 0, pad_bottom))  # N x C x 32a x 32b
        pool3 = self.features.stage3(self.features.stage2(self.features.stage1(x)))  # stride 8
        pool4 = self.features.stage4(pool3)  # stride 16
        scores = self.classifier(self.features.stage5(pool4))  # stride 32
        if self.stride <= 16:
            scores = self.up_score(scores) + self.score_pool4(pool4)  # skip link: stride 16
        if self.stride == 8:
            scores = self.up_pool4(scores) + self.score_pool3(pool3)  # skip link: stride 8
        scores = self.up_final(scores)  # N x num_classes x 32a x 32b
        return scores[..., :height, :width]

    def feature_taps(self) -> list[str]:
        return [f"features.stage{index}" for index in range(1, 6)] + ["classifier"]


@register_model(task="segmentation")
def fcn32s(num_classes=21, in_channels=3, input_size=64, fc_width=256, dropout_rate=0.5, batch_norm=False):
    """FCN-32s: VGG-style backbone, fc layers as convolutions, one x32 up-convolution."""
    return FCN(num_classes, in_channels, 32, WIDTHS, fc_width, dropout_rate, batch_norm)


@register_model(task="segmentation")
def fcn16s(num_classes=21, in_channels=3, input_size=64, fc_width=256, dropout_rate=0.5, batch_norm=False):
    """FCN-16s: FCN-32s plus a skip link from pool4, then a x16 up-convolution."""
    return FCN(num_classes, in_channels, 16, WIDTHS, fc_width, dropout_rate, batch_norm)


@register_model(task="segmentation")
def fcn8s(num_classes=21, in_channels=3, input_size=64, fc_width=256, dropout_rate=0.5, batch_norm=False):
    """FCN-8s: FCN-16s plus a skip link from pool3, then a x8 up-convolution."""
    return FCN(num_classes, in_channels, 8, WIDTHS, fc_width, dropout_rate, batch_norm)
