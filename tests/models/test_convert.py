"""torchvision/timm-layout state dicts load into the matching striate models and give the same outputs.

torchvision is not installed here, so the test defines modules with torchvision's exact layout
(names, order, shapes), initialises them at random, and loads their state dicts into striate."""

import pytest
import torch
from torch import nn

from striate.errors import ModelError
from striate.models import create_model
from striate.models.convert import load_torchvision_weights, map_state_dict, to_torchvision_keys


class TvBasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TvResNet18(nn.Module):
    def __init__(self, num_classes=7):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for index, planes in enumerate((64, 128, 256, 512), start=1):
            stride = 1 if index == 1 else 2
            down = None if stride == 1 else nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                          nn.BatchNorm2d(planes))
            setattr(self, f"layer{index}", nn.Sequential(TvBasicBlock(inplanes, planes, stride, down),
                                                         TvBasicBlock(planes, planes)))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def tv_vgg11_bn(num_classes=7, flat=512):
    layers, channels = [], 3
    for value in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if value == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, value, 3, padding=1), nn.BatchNorm2d(value), nn.ReLU(inplace=True)]
            channels = value
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.classifier = nn.Sequential(nn.Linear(flat, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 4096),
                                     nn.ReLU(True), nn.Dropout(), nn.Linear(4096, num_classes))
    model.forward = lambda x: model.classifier(torch.flatten(model.features(x), 1))
    return model


def tv_alexnet(num_classes=7, flat=256):
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(True), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(True), nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(True), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True),
        nn.MaxPool2d(3, 2))
    model.classifier = nn.Sequential(nn.Dropout(), nn.Linear(flat, 4096), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(4096, 4096), nn.ReLU(True), nn.Linear(4096, num_classes))
    model.forward = lambda x: model.classifier(torch.flatten(model.features(x), 1))
    return model


def randomise_batch_norm(model):
    """Non-trivial running statistics, so that a mix-up of buffers would show in the outputs."""
    torch.manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)


def assert_same_outputs(reference, model, images):
    state = reference.state_dict()
    load_torchvision_weights(model, state)
    reference.eval(), model.eval()
    with torch.no_grad():
        assert torch.allclose(model(images), reference(images), atol=1e-5)
    back = to_torchvision_keys(model, state)
    assert list(back) == list(state) and all(torch.equal(back[k], state[k]) for k in state)


def test_torchvision_resnet18_loads_with_same_outputs():
    torch.manual_seed(0)
    reference = TvResNet18()
    randomise_batch_norm(reference)
    assert_same_outputs(reference, create_model("resnet18", num_classes=7), torch.randn(2, 3, 64, 64))


@pytest.mark.slow
def test_torchvision_vgg11_bn_loads_with_same_outputs():
    torch.manual_seed(0)
    reference = tv_vgg11_bn()
    randomise_batch_norm(reference)
    assert_same_outputs(reference, create_model("vgg11_bn", num_classes=7, input_size=32), torch.randn(2, 3, 32, 32))


@pytest.mark.slow
def test_torchvision_alexnet_loads_into_alexnet_owt():
    torch.manual_seed(0)
    assert_same_outputs(tv_alexnet(), create_model("alexnet_owt", num_classes=7, input_size=63),
                        torch.randn(2, 3, 63, 63))


def test_wrong_architecture_is_refused_with_both_names():
    state = TvResNet18().state_dict()
    with pytest.raises(ModelError, match="layers with weights"):
        map_state_dict(create_model("resnet20"), state)
    with pytest.raises(ModelError, match="'fc'.*does not fit.*'head'.*reset_classifier"):
        map_state_dict(create_model("resnet18", num_classes=3), state)
