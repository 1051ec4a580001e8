"""One way from a recipe and overrides to a checked :class:`Config`, for the command line and the Python API
alike: the recipe (a YAML file, a Config, a dict, or None for the default one), the overrides applied by
their dotted or bare names, the data source inferred from a data path, every setting validated.

>>> config, name = resolve_config(None, [("epochs", 3), ("data.path", "../shared/data/mnist")])   # doctest: +SKIP
>>> config.optim.epochs, config.data.source, name                                               # doctest: +SKIP
(3, 'idx', 'lenet5-mnist')
"""

import copy
from pathlib import Path

from striate.data.sources import infer_source
from striate.errors import ConfigError
from striate.training.config import Config, config_from_dict, load_recipe, set_value, validate

DEFAULT_RECIPE = "lenet5-mnist"  # Config() holds its settings (tests/training/test_config.py checks it)
BUILT_IN_SOURCES = ("mnist5k", "digits")


def resolve_config(recipe=None, overrides=()) -> tuple[Config, str]:
    """The recipe with the overrides (``(key, value)`` pairs) applied and checked; returns the config and the
    recipe's name (for run folder names)."""
    if recipe is None:
        config, name = Config(), DEFAULT_RECIPE
    elif isinstance(recipe, Config):
        config, name = copy.deepcopy(recipe), "run"
    elif isinstance(recipe, dict):
        config, name = config_from_dict(recipe, "the recipe"), "run"
    elif isinstance(recipe, (str, Path)):
        config, name = load_recipe(recipe), Path(recipe).stem
    else:
        raise ConfigError(f"a recipe is a YAML file, a Config or a dict, got {type(recipe).__name__}")
    keys = {key for key, _ in overrides}
    if keys & {"model", "model.name"} and not any(key.startswith("model.args") for key in keys):
        config.model.args = {}  # the recipe's arguments belong to the recipe's model
    for key, value in overrides:
        set_value(config, key, value)
    if config.data.path and config.data.source in BUILT_IN_SOURCES:  # a path means its own data
        config.data.source = infer_source(config.data.path)
    return validate(config), name
