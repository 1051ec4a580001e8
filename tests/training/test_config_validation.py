"""Every numeric setting is checked where the config is read (recipe, dict, flags): a bad value is one
ConfigError naming the key, the value, the valid range and a good value, before anything runs."""

import dataclasses
import math
from pathlib import Path

import pytest
import torch
import yaml

from striate.errors import ConfigError
from striate.errors import short as short_repr
from striate.training.config import Config, OptimConfig, config_from_dict, load_recipe, parse_override, set_value
from striate.training.validation import RANGES, check_value, validate
from striate.training.losses import build_loss
from striate.training.optim import build_optimizer
from striate.training.schedules import build_schedule

NAN, INF = float("nan"), float("inf")

# (dotted key, a value outside its range): at least one for every entry of RANGES
BAD = [
    ("data.input_size", 0), ("data.input_size", 5000), ("data.input_size", -8),
    ("data.val_fraction", 1.0), ("data.val_fraction", -0.1), ("data.val_fraction", NAN),
    ("data.test_fraction", 1.5), ("data.test_fraction", -0.5),
    ("data.split_seed", -1), ("data.split_seed", 2**40),
    ("data.whiten_epsilon", 0), ("data.whiten_epsilon", -0.1), ("data.whiten_epsilon", INF),
    ("data.max_per_class", -1),
    ("data.train_per_class", -1),
    ("data.folds", 1), ("data.folds", -2),
    ("data.fold", -1),
    ("data.workers", -1),
    ("data.ignore_index", 256), ("data.ignore_index", -1),
    ("optim.lr", NAN), ("optim.lr", INF), ("optim.lr", -INF), ("optim.lr", 0), ("optim.lr", -0.1),
    ("optim.momentum", -1), ("optim.momentum", 1.0), ("optim.momentum", NAN),
    ("optim.betas", [0.9, 1.0]), ("optim.betas", [0.9]), ("optim.betas", [-0.1, 0.9]), ("optim.betas", [0.9, 0.99, 0.9]),
    ("optim.betas", ["a", 0.9]),
    ("optim.eps", 0), ("optim.eps", -1e-8),
    ("optim.rms_decay", 1.0), ("optim.rms_decay", -0.5),
    ("optim.weight_decay", -1), ("optim.weight_decay", INF),
    ("optim.lr_mult", {"features": -1}), ("optim.lr_mult", {"features": {"conv1": NAN}}), ("optim.lr_mult", {"head": "x"}),
    ("optim.freeze_to", -1),
    ("optim.warmup_epochs", -1), ("optim.warmup_epochs", NAN),
    ("optim.step_size", 0),
    ("optim.milestones", [-1]), ("optim.milestones", [5, "x"]),
    ("optim.gamma", 0), ("optim.gamma", -0.5),
    ("optim.decay_rate", NAN), ("optim.decay_rate", INF),
    ("optim.kappa", 0), ("optim.kappa", -1),
    ("optim.plateau_patience", 0),
    ("optim.onecycle_start", 0), ("optim.onecycle_start", 1), ("optim.onecycle_start", 1.5),
    ("optim.l1", -1e-5),
    ("optim.label_smoothing", 1.0), ("optim.label_smoothing", -0.1),
    ("optim.class_balance_beta", 1.0), ("optim.class_balance_beta", -0.5), ("optim.class_balance_beta", NAN),
    ("optim.class_weights", [1.0, -3.0]), ("optim.class_weights", [1.0, NAN]), ("optim.class_weights", [0, 1]),
    ("optim.class_weights", [1.0, "x"]), ("optim.class_weights", [1.0, INF]),
    ("optim.clip_grad_norm", -1), ("optim.clip_grad_norm", NAN),
    ("optim.aux_loss_weight", -0.3),
    ("optim.dropout_rate", 1.0), ("optim.dropout_rate", -0.1),
    ("optim.early_stop_patience", -1),
    ("optim.batch_size", 0), ("optim.batch_size", -1),
    ("optim.epochs", 0), ("optim.epochs", -1),
    ("run.seed", -1), ("run.seed", 2**32),
    ("run.checkpoint_every", -1),
    ("run.monitor_every", 0),
    ("run.threads", -1),
]


def _recipe(key: str, value) -> dict:
    section, name = key.split(".")
    return {section: {name: value}}


def test_every_numeric_field_has_a_range_and_a_bad_case():
    numeric = set()
    for section in dataclasses.fields(Config):
        for item in dataclasses.fields(section.type):
            if item.type in (int, float, float | None) or item.name in ("betas", "milestones", "lr_mult", "class_weights"):
                numeric.add(f"{section.name}.{item.name}")
    assert numeric == set(RANGES)
    assert {key for key, _ in BAD} == set(RANGES)


def test_the_defaults_and_every_recipe_are_valid():
    assert validate(Config()) is not None
    for path in ["recipes/lenet5-mnist.yaml", "recipes/mnist-fast.yaml"]:
        load_recipe(path)


@pytest.mark.parametrize("key, value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_value_is_refused_in_a_recipe(key, value):
    with pytest.raises(ConfigError) as error:
        config_from_dict(_recipe(key, value), "r.yaml")
    message = str(error.value)
    assert message.startswith("r.yaml: ") and key in message
    assert "expected" in message and "\n" not in message and len(message) < 300


@pytest.mark.parametrize("key, value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_value_is_refused_as_an_override(key, value):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        set_value(Config(), key, value)


@pytest.mark.parametrize("key, value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_value_is_refused_by_validate(key, value):
    """A Config built in Python (no set_value) meets the same checks."""
    config = Config()
    section, name = key.split(".")
    setattr(getattr(config, section), name, value)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(config)


@pytest.mark.parametrize("key, value", BAD[:20], ids=[f"{k}={v!r}" for k, v in BAD[:20]])
def test_bad_value_is_refused_by_load_recipe(tmp_path, key, value):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(yaml.safe_dump(_recipe(key, value)))
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_recipe(recipe)


def test_message_names_key_value_range_and_fix():
    with pytest.raises(ConfigError) as error:
        set_value(Config(), "lr", NAN)
    assert str(error.value) == "optim.lr is nan; expected a finite number > 0; set it to e.g. 0.05 (--optim.lr 0.05)"
    with pytest.raises(ConfigError) as error:
        set_value(Config(), "momentum", 1.0)
    assert "optim.momentum is 1.0; expected a finite number in [0, 1)" in str(error.value)
    with pytest.raises(ConfigError) as error:
        set_value(Config(), "epochs", -1)
    assert "optim.epochs is -1; expected a whole number >= 1" in str(error.value)
    with pytest.raises(ConfigError, match="0 or >= 2"):
        set_value(Config(), "data.folds", 1)


@pytest.mark.parametrize("key, value", [
    ("optim.momentum", 0.0), ("optim.lr", 1e6), ("optim.lr", 1e-12), ("optim.weight_decay", 0), ("optim.betas", [0, 0.5]),
    ("optim.dropout_rate", None), ("optim.dropout_rate", 0.0), ("optim.decay_rate", -0.5), ("data.folds", 0),
    ("data.folds", 2), ("data.input_size", 4096), ("data.ignore_index", 0), ("optim.early_stop_patience", 0),
    ("optim.lr_mult", {"features": {"conv1": 0.0}}), ("optim.milestones", [10, 15.5]), ("run.seed", 2**32 - 1),
])
def test_edge_values_are_accepted(key, value):
    config = config_from_dict(_recipe(key, value))
    section, name = key.split(".")
    assert getattr(getattr(config, section), name) == value


def test_settings_tied_together():
    with pytest.raises(ConfigError, match=r"optim\.warmup_epochs is 5; expected at most optim\.epochs \(2\)"):
        config_from_dict({"optim": {"epochs": 2, "warmup_epochs": 5}})
    assert config_from_dict({"optim": {"epochs": 2, "warmup_epochs": 2}}).optim.warmup_epochs == 2
    with pytest.raises(ConfigError, match=r"data\.val_fraction \+ data\.test_fraction is 0\.5 \+ 0\.5"):
        config_from_dict({"data": {"val_fraction": 0.5, "test_fraction": 0.5}})
    with pytest.raises(ConfigError, match=r"data\.fold is 5; expected 0 to data\.folds - 1 \(4\)"):
        config_from_dict({"data": {"folds": 5, "fold": 5}})
    assert config_from_dict({"data": {"folds": 5, "fold": 4}}).data.fold == 4


def test_list_flags_read_as_numbers():
    config = Config()
    set_value(config, "optim.betas", parse_override("optim.betas", "0.8,0.99"))
    set_value(config, "optim.milestones", parse_override("optim.milestones", "10,15"))
    assert config.optim.betas == [0.8, 0.99] and config.optim.milestones == [10, 15]
    with pytest.raises(ConfigError, match=r"optim\.betas is \[0\.8, 1\.5\]"):
        set_value(config, "optim.betas", parse_override("optim.betas", "0.8,1.5"))
    with pytest.raises(ConfigError, match=r"optim\.lr_mult is \{'features': -1\}"):
        set_value(config, "optim.lr_mult.features", -1)


def test_booleans_on_the_command_line_are_true_or_false():
    assert parse_override("run.tensorboard", "true") is True
    assert parse_override("tensorboard", "False") is False
    for text in ("yes", "no", "on", "off", "1", "0", "y", ""):
        with pytest.raises(ConfigError, match=r"run\.tensorboard is .*; expected true or false"):
            parse_override("run.tensorboard", text)
    with pytest.raises(ConfigError, match="expected bool"):
        set_value(Config(), "run.monitor", 1)


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n  # and another\n", "---\n", "~\n"])
def test_empty_recipe_is_refused(tmp_path, text):
    recipe = tmp_path / "empty.yaml"
    recipe.write_text(text)
    with pytest.raises(ConfigError, match=f"recipe {recipe} is empty; "):
        load_recipe(recipe)


def test_long_values_are_cut_in_messages(tmp_path):
    assert len(short_repr("x" * 10_000)) <= 80 and "..." in short_repr("x" * 10_000)
    assert len(short_repr([["y" * 100] * 100] * 100)) <= 80
    assert short_repr(0.1) == "0.1"
    with pytest.raises(ConfigError) as error:
        set_value(Config(), "model.name", ["a" * 1000] * 1000)
    assert len(str(error.value)) < 300


# a YAML alias bomb: 9**6 strings from six short anchors, as a mapping or a list
ANCHORS = [("a", '["x","x","x","x","x","x","x","x","x"]')] + [
    (new, "[" + ",".join(["*" + old] * 9) + "]") for old, new in zip("abcde", "bcdef")]
BOMB_MAPPING = "{" + ", ".join(f"{name}: &{name} {value}" for name, value in ANCHORS) + "}"
BOMB_LIST = "[" + ", ".join(f"&{name} {value}" for name, value in ANCHORS) + "]"


@pytest.mark.parametrize("key, bomb", [("model.args", BOMB_MAPPING), ("optim.lr_mult", BOMB_MAPPING),
                                       ("optim.lr", BOMB_LIST), ("optim.milestones", BOMB_LIST),
                                       ("data.augment", BOMB_LIST), ("data.classes", BOMB_LIST)])
def test_yaml_alias_bomb_is_refused_in_one_short_line(tmp_path, key, bomb):
    section, name = key.split(".")
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text(f"{section}:\n  {name}: {bomb}\n")
    with pytest.raises(ConfigError) as error:
        load_recipe(recipe)
    assert key in str(error.value) and len(str(error.value)) < 300


def _optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)


def test_python_built_optim_config_is_checked_by_the_schedule_and_optimizer():
    """A Config built in Python (no recipe) meets the same checks where it is used: --epochs -1 is a problem
    of optim.epochs, not of the warm-up."""
    with pytest.raises(ConfigError, match=r"^optim\.epochs is -1; expected a whole number >= 1"):
        build_schedule(_optimizer(), OptimConfig(epochs=-1), steps_per_epoch=10)
    with pytest.raises(ConfigError, match=r"^optim\.epochs is 0"):
        build_schedule(_optimizer(), OptimConfig(epochs=0, warmup_epochs=1), steps_per_epoch=10)
    with pytest.raises(ConfigError, match=r"optim\.warmup_epochs is 3; expected at most optim\.epochs \(2\)"):
        build_schedule(_optimizer(), OptimConfig(epochs=2, warmup_epochs=3), steps_per_epoch=10)
    with pytest.raises(ConfigError, match=r"^optim\.momentum is 1\.5"):
        build_optimizer(torch.nn.Linear(2, 2), OptimConfig(momentum=1.5))
    with pytest.raises(ConfigError, match=r"^optim\.betas is \[0\.9\]"):
        build_optimizer(torch.nn.Linear(2, 2), OptimConfig(optimizer="adam", betas=[0.9]))
    with pytest.raises(ConfigError, match=r"^optim\.label_smoothing is 1\.0"):
        build_loss("cross_entropy", 1.0)
    with pytest.raises(ConfigError, match=r"^optim\.label_smoothing is nan"):
        build_loss("cross_entropy", NAN)


def test_python_api_train_run_refuses_before_the_run_directory(tiny_cfg):
    from striate.session import train_run

    tiny_cfg.optim.epochs = -1
    with pytest.raises(ConfigError, match=r"optim\.epochs is -1"):
        train_run(tiny_cfg)
    out_dir = tiny_cfg.run.out_dir
    assert not any(Path(out_dir).glob("*")) if Path(out_dir).exists() else True


def test_check_value_ignores_settings_without_a_range():
    check_value("optim.optimizer", "adam")
    check_value("model.args", {"hidden": [8]})
    assert math.isnan(NAN)
