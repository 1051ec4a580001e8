import pytest
import torch

from striate.errors import ModelError
from striate.models import Classifier, create_model, list_models, register_model, tap_outputs


def test_lenet5_parameter_counts_per_layer():
    model = create_model("lenet5", num_classes=10)
    counts = {name: sum(p.numel() for p in module.parameters())
              for name, module in model.named_modules() if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))}
    assert counts == {"features.conv1": 156, "features.conv2": 2416, "features.conv3": 48120,
                      "features.fc4": 10164, "head": 850}
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_lenet5_shapes_and_too_small_input():
    model = create_model("lenet5")
    taps = tap_outputs(model, torch.zeros(2, 1, 32, 32), model.feature_taps())
    assert [tuple(t.shape[1:]) for t in taps.values()] == [(6, 28, 28), (16, 10, 10), (120, 1, 1), (84,)]
    with pytest.raises(ModelError, match="at least 32x32"):
        create_model("lenet5", input_size=28)


def test_lenet5_batch_norm_everywhere_or_on_named_layers():
    every = create_model("lenet5", batch_norm=True)
    norms = {name: module.num_features for name, module in every.named_modules()
             if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))}
    assert norms == {"features.bn1": 6, "features.bn2": 16, "features.bn3": 120, "features.bn4": 84}
    assert sum(p.numel() for p in every.parameters()) == 61706 + 2 * (6 + 16 + 120 + 84)
    names = [name for name, _ in every.features.named_children()]
    assert names.index("bn2") == names.index("conv2") + 1 and names.index("act2") == names.index("bn2") + 1
    some = create_model("lenet5", batch_norm=["conv2", "fc4"])
    assert sorted(n for n, m in some.named_modules() if "bn" in n) == ["features.bn2", "features.bn4"]
    some.train()
    assert some(torch.randn(4, 1, 32, 32)).shape == (4, 10)
    with pytest.raises(ModelError, match="unknown layers \\['conv9'\\]"):
        create_model("lenet5", batch_norm=["conv9"])


def test_registry_lists_and_rejects_duplicates():
    assert {"lenet5", "mlp"} <= set(list_models())
    with pytest.raises(ModelError, match="already registered"):
        register_model("lenet5")(lambda: None)


def test_unknown_model_suggests_nearest():
    with pytest.raises(ModelError, match="did you mean 'lenet5'"):
        create_model("lenet")


def test_bad_builder_arguments():
    with pytest.raises(ModelError, match="cannot be built"):
        create_model("mlp", widthh=3)


@pytest.mark.parametrize("name, shape", [("lenet5", (3, 32, 32)), ("mlp", (1, 8, 8))])
def test_interface_contract(name, shape):
    model = create_model(name, num_classes=7, in_channels=shape[0], input_size=shape[1])
    assert isinstance(model, Classifier)
    images = torch.randn(3, *shape)
    features = model.forward_features(images)
    assert features.shape == (3, model.num_features)
    assert torch.equal(model.forward_head(features), model(images))
    model.reset_classifier(4)
    assert model(images).shape == (3, 4)
    with pytest.raises(ModelError, match="no layer named"):
        tap_outputs(model, images, ["nope"])
