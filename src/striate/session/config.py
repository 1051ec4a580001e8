"""One way from a recipe and overrides to a checked :class:`Config`, for the command line and the Python API
alike: the recipe (a YAML file, a Config, a dict, or None for the default one), the overrides applied by
their dotted or bare names, the data source inferred from a data path, every setting validated.

>>> config, name = resolve_config(None, [("epochs", 3), ("data.path", "../shared/data/mnist")])   # doctest: +SKIP
>>> config.optim.epochs, config.data.source, name                                               # doctest: +SKIP
(3, 'idx', 'lenet5-mnist')
"""

import copy
from pathlib import Path

from striate.console import get_logger
from striate.data.sources import source_for_path
from striate.errors import ConfigError
from striate.models import split_args
from striate.training.config import Config, config_from_dict, load_recipe, resolve_key, set_value, validate

DEFAULT_RECIPE = "lenet5-mnist"  # Config() holds its settings (tests/training/test_config.py checks it)

_log = get_logger(__name__)


def carry_model_args(config: Config, keys) -> str | None:
    """The one rule for a model named over a recipe's (``--model NAME``, ``--vary model.name=...``) without
    its own ``model.args``: the recipe's arguments the new model takes stay (an FCN recipe's batch norm),
    the others go, and the line returned names them (None when nothing went)."""
    names = {".".join(resolve_key(key)[:2]) for key in keys}
    if "model.name" not in names or any(key.startswith("model.args") for key in keys) or not config.model.args:
        return None
    config.model.args, dropped = split_args(config.model.name, config.model.args)
    if not dropped:
        return None
    return (f"model {config.model.name} does not take the recipe's model.args {sorted(dropped)}: left out "
            f"(kept: {sorted(config.model.args) or 'none'}); give --model.args to set them")


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
    for key, value in overrides:
        set_value(config, key, value)
    model_note = carry_model_args(config, [key for key, _ in overrides])
    if model_note:
        _log.info(f"note: {model_note}")
    # a path means its own data: read by what it plainly is (a source name names a source), one line when
    # that is not the recipe's data.source (striate.data.sources.source_for_path)
    config.data.source, config.data.path, note = source_for_path(config.data.source, config.data.path)
    if note:
        _log.info(f"note: {note}")
    return validate(config), name
