import pytest

from striate.errors import ConfigError
from striate.training.config import Config, config_from_dict, load_recipe, set_value


def test_recipe_maps_onto_dataclasses(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: {name: mlp, args: {hidden: [8]}}\noptim: {lr: 1, epochs: 2}\ndata: {augment: [translate]}\n")
    config = load_recipe(recipe)
    assert config.model.name == "mlp" and config.model.args == {"hidden": [8]}
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float) and config.optim.epochs == 2
    assert config.data.augment == ["translate"] and config.run.seed == 0


def test_flags_dotted_bare_and_shorthand():
    config = Config()
    set_value(config, "optim.lr", 0.2)
    set_value(config, "epochs", 3)
    set_value(config, "data", "/some/folder")
    set_value(config, "model", "mlp")
    set_value(config, "model.args.hidden", [4])
    set_value(config, "name", "my-run")
    assert (config.optim.lr, config.optim.epochs, config.data.path) == (0.2, 3, "/some/folder")
    assert (config.model.name, config.model.args, config.run.name) == ("mlp", {"hidden": [4]}, "my-run")


@pytest.mark.parametrize("key, value, message", [
    ("optim.lrr", 1, "did you mean 'optim.lr'"),
    ("learning_rate", 1, "unknown key"),
    ("optim.epochs", "many", "expected int"),
    ("optim.epochs", 2.5, "expected int"),
    ("optim.nesterov", 3, "expected bool"),
    ("optim.lr.x", 1, "has no sub-keys"),
    ("optim", 1, "is a section"),
])
def test_bad_keys_and_values(key, value, message):
    with pytest.raises(ConfigError, match=message):
        set_value(Config(), key, value)


def test_unknown_section_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'optim'"):
        config_from_dict({"optimm": {"lr": 1}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_recipe(bad)
    with pytest.raises(ConfigError, match="recipe not found"):
        load_recipe(tmp_path / "none.yaml")
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_recipe(top)


def test_the_defaults_are_the_default_recipe():
    """Config() in Python and 'striate train' without a recipe train the same settings (one default)."""
    from pathlib import Path

    from striate.training.config import Config, config_to_dict, load_recipe

    recipe = Path(__file__).resolve().parents[2] / "recipes" / "lenet5-mnist.yaml"
    assert config_to_dict(Config()) == config_to_dict(load_recipe(recipe))
