"""Every registered model: builds, runs forward and backward on a tiny input without NaNs, and keeps
the Classifier interface (DESIGN.md principle 3)."""

import pytest
import torch

from striate.models import Classifier, create_model, list_models, tap_outputs

# the smallest input each family accepts; others get 3x32x32
TINY_INPUT = {"lenet5": (1, 32), "mlp": (1, 8), "alexnet": (3, 67), "alexnet_owt": (3, 63),
              "alexnet_small": (1, 28), "nin": (3, 16), "resnet20": (3, 8), "resnet32": (3, 8)}
# several seconds each on two cores (tens of millions of weights to initialise)
SLOW = {"alexnet", "alexnet_owt", "resnet34", "resnet50", "resnet101", "resnet152", "resnet110", "resnet56",
        "resnet44", *[f"vgg{depth}{bn}" for depth in (11, 13, 16, 19) for bn in ("", "_bn")]}


def tiny(name):
    channels, size = TINY_INPUT.get(name, (3, 32))
    torch.manual_seed(0)
    model = create_model(name, num_classes=3, in_channels=channels, input_size=size)
    return model, torch.randn(2, channels, size, size)


def models_marked():
    return [pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in list_models("classification")]


@pytest.mark.parametrize("name", models_marked())
def test_forward_backward_and_interface(name):
    model, images = tiny(name)
    assert isinstance(model, Classifier)
    model.train()
    logits = model(images)
    assert logits.shape == (2, 3)
    logits.logsumexp(dim=1).sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(logits).all()
    auxiliary = getattr(model, "aux_logits", None)  # GoogLeNet's auxiliary classifiers: training only
    assert auxiliary is None or [tuple(a.shape) for a in auxiliary] == [(2, 3), (2, 3)]

    model.eval()
    with torch.no_grad():
        features = model.forward_features(images)
        assert getattr(model, "aux_logits", []) == []
        assert features.shape[1] == model.num_features
        assert torch.allclose(model.forward_head(features), model(images))
    taps = model.feature_taps()
    assert taps and set(taps) <= {n for n, _ in model.named_modules()}
    outputs = tap_outputs(model, images, taps[:2])
    assert all(torch.isfinite(o).all() for o in outputs.values())

    old_head = [p.clone() for p in model.head.parameters()]
    model.reset_classifier(5)
    assert model.num_classes == 5
    with torch.no_grad():
        assert model(images).shape == (2, 5)
    assert all(p.shape != q.shape for p, q in zip(model.head.parameters(), old_head) if p.dim() and p.shape[0] == 5)


def test_grayscale_28x28_alexnet_style_builds_and_runs():
    model = create_model("alexnet_small", num_classes=10, in_channels=1, input_size=28)
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_alexnet_on_too_small_inputs_points_to_alexnet_small():
    from striate.errors import ModelError

    with pytest.raises(ModelError, match="alexnet_small"):
        create_model("alexnet", in_channels=1, input_size=28)


def test_the_shape_probe_checks_shapes_without_moving_batch_norm_counters():
    from striate.errors import ModelError
    from striate.models._util import probe_output_shape

    block = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    before = {key: value.clone() for key, value in block.state_dict().items()}
    assert probe_output_shape(block, (3, 12, 10)) == (8, 4, 3)
    assert all(torch.equal(before[key], value) for key, value in block.state_dict().items())
    with pytest.raises(ModelError, match="stem: cannot take an input of shape \\(3, 4, 4\\).*Kernel size"):
        probe_output_shape(block, (3, 4, 4), "stem")


PROBE_IMPORTS = """
import sys, torch
from striate.models import create_model
for name in ("convnet4", "fastnet", "resnet20", "lenet5"):
    model = create_model(name, num_classes=10, in_channels=3, input_size=32)
    model(torch.zeros(2, 3, 32, 32)).sum().backward()
print("torch._dynamo" in sys.modules)
"""


def test_building_and_running_models_does_not_import_torch_dynamo():
    """torch._dynamo costs 1.7-3 s to import; building models (their shape probes) must not pull it in."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", PROBE_IMPORTS], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False"], result.stdout + result.stderr
