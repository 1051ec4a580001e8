"""Fine-tuning: frozen parameters stay put while the others learn; un-freezing; layer ranges and stages;
weights files in the striate and the torchvision layouts."""

import pytest
import torch

from striate.errors import ConfigError, ModelError
from striate.models import create_model
from striate.session import Start, train_run
from striate.tasks import ClassificationTask
from striate.session import prepare
from striate.training.freeze import trainable_parameters
from striate.training.plan import FineTunePlan
from striate.training.freeze import body_stages, copy_bottom_stages, layer_range, param_groups
from striate.transfer.source import load_source_model, load_weights_file


@pytest.fixture
def prepared(tiny_cfg):
    tiny_cfg.data.classes = [0, 1, 2]
    tiny_cfg.optim.epochs = 2
    return tiny_cfg, prepare(tiny_cfg)


def train_model(model, data, config, device, plan):
    """A fine-tune of ``model`` through the run session (the plan applied first, as finetune_run does)."""
    frozen = plan.prepare(model)
    trainable = trainable_parameters(model)
    args = {"num_classes": 3, "input_size": 8, "hidden": [16, 16, 8]}
    result = train_run(config, "finetune", start=Start(model, args, plan, {}, data))
    return result | {"frozen": frozen, "trainable_parameters": trainable}


def _mlp():
    return create_model("mlp", num_classes=3, input_size=8, hidden=[16, 16, 8])


def _snapshot(model):
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def _changed(before, model):
    return {name for name, value in model.state_dict().items() if not torch.equal(before[name], value)}


def test_frozen_layers_do_not_change_and_the_others_do(prepared):
    config, data = prepared
    torch.manual_seed(0)
    model = _mlp()
    before = _snapshot(model)
    result = train_model(model, data, config, "cpu", FineTunePlan(freeze="fc1..fc2"))
    frozen = {"features.fc1.weight", "features.fc1.bias", "features.fc2.weight", "features.fc2.bias"}
    assert set(result["frozen"]) == frozen
    changed = _changed(before, model)
    assert not changed & frozen
    assert changed == set(before) - frozen  # every other tensor learned
    assert result["trainable_parameters"] == sum(p.numel() for p in model.parameters()) - sum(before[n].numel() for n in frozen)


def test_unfreezing_later_trains_the_frozen_layers_and_body_lr_is_scaled(prepared):
    config, data = prepared
    torch.manual_seed(0)
    model = _mlp()
    before = _snapshot(model)
    data.watch = ClassificationTask.watch("train_loss")  # the best weights are the last epoch's, after un-freezing
    result = train_model(model, data, config, "cpu", FineTunePlan(freeze_stages=2, unfreeze_at=2, body_lr_scale=0.1))
    assert "features.fc1.weight" in result["frozen"] and "features.fc2.weight" in result["frozen"]
    assert "features.fc1.weight" in _changed(before, model)  # trained in epoch 2
    assert [h["trainable_parameters"] for h in result["history"]][0] < sum(p.numel() for p in model.parameters())
    groups = param_groups(model, 0.5, 0.1)
    assert [g["lr"] for g in groups] == [0.05, 0.5]


def test_frozen_batch_norm_keeps_its_statistics():
    from striate.training.freeze import freeze_stages

    model = create_model("resnet20", num_classes=3, in_channels=1)
    freeze_stages(model, 1)
    before = model.features.bn1.running_mean.clone()
    model.train()(torch.randn(4, 1, 32, 32))
    assert torch.equal(model.features.bn1.running_mean, before)
    assert not torch.equal(model.features.layer1[0].bn1.running_mean, torch.zeros(16))  # not frozen: updated


def test_layer_ranges_and_stages():
    model = create_model("lenet5")
    assert layer_range(model, "conv1..conv2") == ["conv1", "act1", "pool1", "conv2"]
    assert layer_range(model, "conv2") == ["conv1", "act1", "pool1", "conv2"]
    assert layer_range(model, "conv1,conv3") == ["conv1", "conv3"]
    assert body_stages(model)[0] == ["conv1", "act1", "pool1"] and len(body_stages(model)) == 4
    assert [s[0] for s in body_stages(create_model("resnet18", num_classes=2))] == ["conv1", "layer1", "layer2",
                                                                                      "layer3", "layer4"]
    with pytest.raises(ConfigError, match="conv9"):
        layer_range(model, "conv1..conv9")
    with pytest.raises(ConfigError, match="stages"):
        from striate.training.freeze import freeze_stages

        freeze_stages(model, 9)
    target = create_model("lenet5")
    copied = copy_bottom_stages(model, target, 1)
    assert copied == ["features.conv1.weight", "features.conv1.bias"]
    assert torch.equal(target.features.conv1.weight, model.features.conv1.weight)
    assert not torch.equal(target.features.conv2.weight, model.features.conv2.weight)


def test_torchvision_layout_state_dict_loads(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    reference = create_model("resnet18", num_classes=7)
    # torchvision's keys: the same layers without the 'features.' prefix, the head called 'fc'
    state = {key.removeprefix("features.").replace("head.", "fc."): value for key, value in reference.state_dict().items()}
    assert "fc.weight" in state and "conv1.weight" in state
    torch.save(state, tmp_path / "resnet18-tv.pth")
    model = load_weights_file(tmp_path / "resnet18-tv.pth", "resnet18")
    assert model.num_classes == 7
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    save_file(state, tmp_path / "resnet18-tv.safetensors")  # sorted by name: the layer order is lost
    with pytest.raises(ModelError, match=".pth"):
        load_weights_file(tmp_path / "resnet18-tv.safetensors", "resnet18")


def test_striate_weights_file_and_run_load(tiny_run, tmp_path):
    model, meta = load_source_model(tiny_run)
    assert meta["model"]["name"] == "mlp" and model.training
    from striate.training.checkpoint import save_weights

    save_weights(tmp_path / "w.safetensors", model.state_dict())
    again, none = load_source_model(tmp_path / "w.safetensors", "mlp", {"hidden": [32], "input_size": 8})
    assert none is None
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))
    with pytest.raises(ConfigError, match="--model"):
        load_source_model(tmp_path / "w.safetensors")
