"""Gradient saliency and Grad-CAM against their formulas on models where they can be worked out by hand."""

import torch
from torch import nn
from visualize_helpers import TinyCNN, decode_png

from striate.models import create_model
from striate.visualize.saliency import default_cam_layer, grad_cam, gradient_saliency, plot_saliency


def test_gradient_saliency_of_a_linear_model_is_its_weights():
    torch.manual_seed(0)
    linear = nn.Linear(2 * 4 * 4, 3)
    model = nn.Sequential(nn.Flatten(), linear)
    saliency, target = gradient_saliency(model, torch.randn(2, 4, 4), target=1)
    assert target == 1
    expected = linear.weight[1].detach().view(2, 4, 4).abs().amax(dim=0)
    assert torch.allclose(saliency, expected)


def test_gradient_saliency_uses_the_predicted_class_by_default():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    image = torch.randn(1, 4, 4)
    _, target = gradient_saliency(model, image)
    assert target == int(model(image[None]).argmax())


class GlobalPoolNet(nn.Module):
    """conv -> global average pool -> linear: Grad-CAM is then ReLU(sum_k w_ck A_k) / (H W), the CAM."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 2)

    def forward(self, images):
        return self.fc(self.pool(self.conv(images)).flatten(1))


def test_grad_cam_matches_the_class_activation_map():
    torch.manual_seed(3)
    model = GlobalPoolNet()
    image = torch.randn(1, 6, 6)
    cam, target = grad_cam(model, image, "conv", target=0)
    maps = model.conv(image[None])[0].detach()
    expected = torch.relu((model.fc.weight[0].detach().view(3, 1, 1) * maps).sum(dim=0))
    expected = expected / expected.max()
    assert target == 0 and cam.shape == (6, 6)
    assert torch.allclose(cam, expected, atol=1e-5)
    assert float(cam.min()) >= 0 and float(cam.max()) == 1.0


def test_default_cam_layer_is_the_last_layer_with_maps():
    model = TinyCNN(input_size=8)
    assert default_cam_layer(model, torch.randn(1, 8, 8)) == "features.act2"  # conv2's maps after ReLU
    lenet = create_model("lenet5")
    assert default_cam_layer(lenet, torch.randn(1, 32, 32)) == "features.pool2"  # 16x5x5; conv3 is 1x1
    resnet = create_model("resnet20", in_channels=3, input_size=32)
    assert default_cam_layer(resnet, torch.randn(3, 32, 32)) == "features.layer3"  # after the last skip and ReLU


def test_saliency_picture_decodes(tmp_path):
    model = TinyCNN(input_size=8)
    path = plot_saliency(model, torch.randn(1, 8, 8), None, tmp_path / "saliency.png", mean=[0.5], std=[0.2],
                         class_names=list("abcdefghij"))
    width, height = decode_png(path)
    assert width > 400 and height > 100
