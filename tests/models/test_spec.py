"""Declarative networks: the YAML nets in recipes/nets match the zoo, shapes are inferred, impossible
networks fail at build time naming the layer, and 'striate train' takes a spec as the model."""

from pathlib import Path

import pytest
import torch
import yaml

from striate.errors import ModelError
from striate.inspect import summary
from striate.models import create_model
from striate.models.convert import load_torchvision_weights
from striate.models.spec import build_from_spec

NETS = Path(__file__).resolve().parents[2] / "recipes" / "nets"


def params(module):
    return sum(p.numel() for p in module.parameters())


def test_lenet5_yaml_equals_the_zoo_layer_by_layer_and_in_outputs():
    spec_net = create_model(str(NETS / "lenet5.yaml"), num_classes=10)
    zoo_net = create_model("lenet5", num_classes=10)
    spec_rows = [(r.output_shape, r.params, r.macs, r.rf_size) for r in summary(spec_net, (1, 32, 32)).rows]
    zoo_rows = [(r.output_shape, r.params, r.macs, r.rf_size) for r in summary(zoo_net, (1, 32, 32)).rows]
    assert spec_rows == zoo_rows
    load_torchvision_weights(spec_net, zoo_net.state_dict())  # same layers in the same order
    images = torch.randn(3, 1, 32, 32)
    assert torch.allclose(spec_net(images), zoo_net(images))


def test_alexnet_yaml_has_the_zoo_parameter_counts():
    with torch.device("meta"):
        spec_net = create_model(str(NETS / "alexnet.yaml"), num_classes=1000)
        zoo_net = create_model("alexnet", num_classes=1000)
    assert params(spec_net) == params(zoo_net) == 60_965_224
    spec_rows = [(r.output_shape, r.params) for r in summary(spec_net, (3, 227, 227)).rows]
    zoo_rows = [(r.output_shape, r.params) for r in summary(zoo_net, (3, 227, 227)).rows]
    assert spec_rows == zoo_rows


def test_resnet_block_yaml_matches_resnet18_stage2_block():
    spec_net = create_model(str(NETS / "resnet-basic-block.yaml"))
    zoo_block = create_model("resnet18").features.layer2[0]
    assert params(spec_net.features.block2) == params(zoo_block) == 230_144
    assert params(spec_net.features.block1) == params(create_model("resnet18").features.layer1[0])
    table = summary(spec_net, (3, 32, 32))
    assert table.row("features.block2").output_shape == (128, 16, 16)
    # the skip's field (1x1 conv, stride 2: 3 + 0) is inside the body's (3 + 2*1 + 2*2 = 9): union = body
    assert table.row("features.block2").rf_size == table.row("features.block2.body.conv2").rf_size


def spec(features, head=None, size=8):
    return {"input": [1, size, size], "features": features, **({"head": head} if head else {})}


def test_impossible_network_names_the_layer_and_shapes():
    layers = [{"conv1": {"type": "conv", "out_channels": 4, "kernel_size": 3}},
              {"pool1": {"type": "maxpool", "kernel_size": 6}},
              {"pool2": {"type": "maxpool", "kernel_size": 2}}, "flatten"]
    with pytest.raises(ModelError, match="pool2: kernel 2 is larger than its 1x1 input"):
        build_from_spec(spec(layers))


def test_residual_shapes_must_agree():
    block = {"block": {"type": "residual", "body": [{"conv": {"type": "conv", "out_channels": 2, "kernel_size": 3,
                                                              "stride": 2, "padding": 1}}]}}
    with pytest.raises(ModelError, match=r"block: the body gives \(2, 4, 4\) but the shortcut gives \(1, 8, 8\)"):
        build_from_spec(spec([block, "flatten"]))


def test_concat_branches_add_channels_and_must_share_size():
    branches = {"a": [{"c": {"type": "conv", "out_channels": 2, "kernel_size": 1}}],
                "b": [{"c": {"type": "conv", "out_channels": 3, "kernel_size": 3, "padding": 1}}]}
    net = build_from_spec(spec([{"mix": {"type": "concat", "branches": branches}}, "global_avgpool", "flatten"]))
    assert net.num_features == 5
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    branches["b"][0]["c"]["padding"] = 0
    with pytest.raises(ModelError, match="mix: branches must keep the same height and width"):
        build_from_spec(spec([{"mix": {"type": "concat", "branches": branches}}, "flatten"]))


def test_malformed_entries_and_duplicates_are_explained():
    with pytest.raises(ModelError, match="block 1 is"):
        build_from_spec(spec([["conv"]]))
    with pytest.raises(ModelError, match="two blocks are named 'relu'"):
        build_from_spec(spec(["relu", "relu", "flatten"]))
    with pytest.raises(ModelError, match="end the features with 'flatten'"):
        build_from_spec(spec(["relu"]))


def test_spec_head_can_use_num_classes_and_reset():
    head = [{"score": {"type": "conv", "out_channels": "num_classes", "kernel_size": 1}}, "global_avgpool",
            "flatten"]
    net = build_from_spec(spec([{"c": {"type": "conv", "out_channels": 4, "kernel_size": 3}}], head), num_classes=6)
    assert net(torch.randn(1, 1, 8, 8)).shape == (1, 6)
    net.reset_classifier(2)
    assert net(torch.randn(1, 1, 8, 8)).shape == (1, 2)


@pytest.mark.slow
def test_train_accepts_a_spec_file_and_the_run_keeps_it(tiny_cfg, tmp_path):
    from striate.session import train_run
    from striate.session import load_run_model

    net = tmp_path / "tiny-net.yaml"
    net.write_text(yaml.safe_dump(spec([{"conv1": {"type": "conv", "out_channels": 4, "kernel_size": 3}}, "relu",
                                        {"pool": {"type": "maxpool", "kernel_size": 2}}, "flatten"])))
    config = tiny_cfg
    config.model.name = str(net)
    config.model.args = {}
    config.optim.epochs = 1
    result = train_run(config)
    net.unlink()  # the run carries its spec
    model, meta = load_run_model(result["run_dir"])
    assert sum(p.numel() for p in model.parameters()) == result["summary"]["parameters"] == 4 * 9 + 4 + 4 * 9 * 10 + 10
