"""The deconvolution network for semantic segmentation (Noh, Hong and Han 2015, "Learning deconvolution
network for semantic segmentation"), scaled down: a VGG-style encoder whose max pools record their
switches, the classifier's fully connected layers as convolutions, and a decoder that mirrors the
encoder, unpooling with those switches and densifying with transposed convolutions:

    conv1 (2) pool1 -- conv2 (2) pool2 -- conv3 (3) pool3 -- conv4 (3) pool4 -- fc6 (k x k -> 1 x 1), fc7 (1 x 1)
                                                                                  |
    score <- deconv1 (2) unpool1 <- deconv2 (2) unpool2 <- deconv3 (3) unpool3 <- deconv4 (3) unpool4 <- deconv-fc6
                                                                                   (1 x 1 -> k x k)

Every convolution and transposed convolution is followed by batch normalisation (as in the paper) and a
ReLU, except the fully connected middle (its maps can be 1 x 1, too few values to normalise over a small
batch) and the final 1 x 1 class scores. The paper has five pooling stages on 224 x 224 inputs (fc6 a
7 x 7 convolution) and widths 64-512 with 4096-wide fc layers; here four stages, widths ``width`` x
(1, 2, 4, 8) and ``fc_width``-wide fc layers, and fc6's kernel is the pooled side of ``input_size``
(3 for the 48 x 48 MNIST canvas). Inputs of any size work: they are zero-padded to a multiple of 16 (and
at least ``input_size``) and the scores cropped back, so the output is ``N x num_classes x H x W``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import ModelError
from striate.layers.unpool import MaxUnpool, SwitchMaxPool2d
from striate.models.registry import register_model

STAGES = (2, 2, 3, 3)  # convolutions per stage: VGG-16's first four stages (the paper drops none; it has five)
SCALES = (1, 2, 4, 8)  # stage widths as multiples of ``width``


def conv_bn_relu(conv: nn.Module, channels: int, batch_norm: bool) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]


def encoder_stage(in_channels: int, width: int, count: int, batch_norm: bool) -> nn.Sequential:
    stage = nn.Sequential()
    for index in range(1, count + 1):
        conv = nn.Conv2d(in_channels, width, kernel_size=3, padding=1, bias=not batch_norm)
        for name, layer in zip(("conv", "bn", "relu") if batch_norm else ("conv", "relu"),
                               conv_bn_relu(conv, width, batch_norm)):
            stage.add_module(f"{name}{index}", layer)
        in_channels = width
    stage.add_module("pool", SwitchMaxPool2d(kernel_size=2, stride=2))
    return stage


def decoder_stage(pool: SwitchMaxPool2d, width: int, out_channels: int, count: int, batch_norm: bool) -> nn.Sequential:
    """Unpool with ``pool``'s switches, then ``count`` 3x3 deconvolutions, the last narrowing to ``out_channels``."""
    stage = nn.Sequential()
    stage.add_module("unpool", MaxUnpool(pool))
    for index in range(1, count + 1):
        channels = out_channels if index == count else width
        deconv = nn.ConvTranspose2d(width, channels, kernel_size=3, padding=1, bias=not batch_norm)
        for name, layer in zip(("deconv", "bn", "relu") if batch_norm else ("deconv", "relu"),
                               conv_bn_relu(deconv, channels, batch_norm)):
            stage.add_module(f"{name}{index}", layer)
    return stage


class DeconvNet(nn.Module):
    """Encoder with switch-recording pools, fc6/fc7 as convolutions, and the mirrored unpool/deconv decoder."""

    def __init__(self, num_classes=21, in_channels=3, input_size=64, width=16, fc_width=256, dropout_rate=0.0,
                 batch_norm=True, stages=STAGES):
        super().__init__()
        self.num_classes, self.multiple = num_classes, 2 ** len(stages)
        side = input_size[0] if isinstance(input_size, (tuple, list)) else int(input_size)
        if side < self.multiple:
            raise ModelError(f"deconvnet needs input_size >= {self.multiple} ({len(stages)} poolings), got {side}")
        self.min_side = side + (-side % self.multiple)  # inputs are padded to at least this side
        self.fc_kernel = self.min_side // self.multiple  # fc6 covers the whole pooled map of an input_size image
        widths = [width * scale for scale in SCALES[:len(stages)]]

        self.encoder = nn.Sequential()
        for stage, (count, channels) in enumerate(zip(stages, widths), start=1):
            self.encoder.add_module(f"stage{stage}", encoder_stage(in_channels, channels, count, batch_norm))
            in_channels = channels
        self.middle = nn.Sequential(  # fc6 and fc7 as convolutions, then the deconvolution mirroring fc6
            nn.Conv2d(in_channels, fc_width, kernel_size=self.fc_kernel), nn.ReLU(inplace=True),
            nn.Dropout2d(dropout_rate),
            nn.Conv2d(fc_width, fc_width, kernel_size=1), nn.ReLU(inplace=True), nn.Dropout2d(dropout_rate),
            nn.ConvTranspose2d(fc_width, in_channels, kernel_size=self.fc_kernel), nn.ReLU(inplace=True))
        self.decoder = nn.Sequential()
        for stage in range(len(stages), 0, -1):
            pool = self.encoder.get_submodule(f"stage{stage}.pool")
            out_channels = widths[stage - 2] if stage > 1 else widths[0]
            self.decoder.add_module(f"stage{stage}", decoder_stage(pool, widths[stage - 1], out_channels,
                                                                   stages[stage - 1], batch_norm))
        self.score = nn.Conv2d(widths[0], num_classes, kernel_size=1)
        self.num_features = fc_width

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        padded_h = max(height + (-height % self.multiple), self.min_side)
        padded_w = max(width + (-width % self.multiple), self.min_side)
        x = F.pad(images, (0, padded_w - width, 0, padded_h - height))
        x = self.encoder(x)  # the pools keep their switches for the decoder's unpools
        x = self.middle(x)  # N x C x h x w -> fc6 -> (h - k + 1) x (w - k + 1) -> deconv-fc6 -> h x w
        x = self.decoder(x)  # back to the padded input size
        return self.score(x)[..., :height, :width]

    def feature_taps(self) -> list[str]:
        stages = len(self.encoder)
        return ([f"encoder.stage{index}" for index in range(1, stages + 1)] + ["middle"]
                + [f"decoder.stage{index}" for index in range(stages, 0, -1)])


@register_model(task="segmentation")
def deconvnet(num_classes=21, in_channels=3, input_size=64, width=16, fc_width=256, dropout_rate=0.0,
              batch_norm=True):
    """DeconvNet: switch-recording encoder, fc6/fc7 as convolutions, mirrored unpooling + deconvolution decoder."""
    return DeconvNet(num_classes, in_channels, input_size, width, fc_width, dropout_rate, batch_norm)
