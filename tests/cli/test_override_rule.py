"""One rule for a model named over a recipe's: --model NAME and --vary model.name=... keep the recipe's
model.args the new model takes and say which they left out; --print-config shows the resolved config."""

import numpy as np
import yaml
from PIL import Image

from striate.cli.main import main
from striate.experiments.grid import make_arms, parse_variation
from striate.session.config import resolve_config
from striate.training.config import config_to_dict, load_recipe


BUILT_IN = [("data.source", "mnist5k"), ("data.path", None)]  # the recipe's data need not be here


def test_a_related_model_keeps_the_recipes_arguments(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for part in ("images", "masks"):  # the recipe's data.path, as make-mnist-canvas lays it out
        (tmp_path / "data" / "mnist-canvas" / part).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "data" / "mnist-canvas" / part / "0.png")
    recipe = load_recipe("fcn8s-mnist-canvas")
    assert recipe.model.args  # e.g. batch norm
    config, _ = resolve_config("fcn8s-mnist-canvas", [("model", "fcn16s")])
    assert config.model.name == "fcn16s" and config.model.args == recipe.model.args
    assert capsys.readouterr().err == ""


def test_arguments_the_new_model_lacks_are_left_out_and_named(capsys):
    config, _ = resolve_config("mnist-fast", [*BUILT_IN, ("model", "mlp")])
    assert "batch_norm" not in config.model.args
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "batch_norm" in err and "left out" in err


def test_vary_follows_the_same_rule():
    base, _ = resolve_config("mnist-fast", BUILT_IN)
    arms = make_arms([parse_variation("model.name=mlp,lenet5")])
    by_vary = {arm.label: arm.apply(base).model.args for arm in arms}
    by_flag = {name: resolve_config("mnist-fast", [*BUILT_IN, ("model", name)])[0].model.args for name in ("mlp", "lenet5")}
    assert list(by_vary.values()) == [by_flag["mlp"], by_flag["lenet5"]]


def test_given_model_args_win(capsys):
    config, _ = resolve_config("mnist-fast", [*BUILT_IN, ("model", "mlp"), ("model.args", {"hidden": [8]})])
    assert config.model.args == {"hidden": [8]}
    assert capsys.readouterr().err == ""


def test_print_config_is_the_resolved_config(capsys):
    assert main(["train", "mnist-fast", "--data.source", "mnist5k", "--data.path", "null", "--lr", "0.3",
                 "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    config, _ = resolve_config("mnist-fast", [*BUILT_IN, ("lr", 0.3)])
    assert printed == config_to_dict(config) and printed["optim"]["lr"] == 0.3
