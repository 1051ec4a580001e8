"""The grid of a comparison: which config keys vary, over which values, and every combination.

A variation is one key and its values (``optim.optimizer=sgd,adam``) or several keys that move
together (``optim.optimizer+optim.lr=sgd+0.05,adam+0.001``: two arms, not four). Several
variations multiply: ``--vary activation=relu,tanh --vary init=xavier_normal,he_normal`` is
four arms. Values are read like recipe flags (``0.1`` a number, ``[translate, flip]`` a list);
commas and plus signs inside brackets or braces belong to the value.

>>> variation = parse_variation("optim.lr=0.1,0.01")
>>> variation.keys, variation.values
(('optim.lr',), [(0.1,), (0.01,)])
>>> [arm.label for arm in make_arms([variation])]
['lr=0.1', 'lr=0.01']
"""

import copy
import itertools
from dataclasses import dataclass

from striate.errors import ConfigError
from striate.session.config import carry_model_args
from striate.training.config import Config, parse_override, resolve_key, set_value


@dataclass(frozen=True)
class Variation:
    keys: tuple[str, ...]  # the config keys that change together, e.g. ('optim.optimizer', 'optim.lr')
    values: list[tuple]  # one tuple of values per arm, one value per key


@dataclass(frozen=True)
class Arm:
    settings: tuple[tuple[str, object], ...]  # (key, value) pairs applied to the base config
    label: str  # short name for tables and legends, e.g. 'activation=tanh lr=0.01'

    def apply(self, config: Config) -> Config:
        """A copy of ``config`` with this arm's settings."""
        config = copy.deepcopy(config)
        for key, value in self.settings:
            set_value(config, key, value)
        carry_model_args(config, [key for key, _ in self.settings])  # the rule --model follows
        return config


def split_top_level(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside brackets and braces: 'a,[b,c]' -> ['a', '[b,c]']."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise ConfigError(f"unbalanced brackets in '{text}'; close every [ and {{")
    parts.append("".join(current))
    return parts


def canonical_key(key: str) -> str:
    """'lr' -> 'optim.lr'; an unknown key fails here, naming the nearest valid one."""
    section, name, rest = resolve_key(key)
    return ".".join([section, name, *rest])


def parse_variation(text: str) -> Variation:
    """'key=v1,v2' or 'key1+key2=a1+b1,a2+b2' -> a Variation (values typed as recipe flags are)."""
    if "=" not in text:
        raise ConfigError(f"--vary '{text}': expected KEY=VALUE1,VALUE2 (e.g. --vary model.args.activation=relu,tanh)")
    left, right = text.split("=", 1)
    keys = tuple(canonical_key(key.strip().removeprefix("--")) for key in left.split("+"))
    values = []
    for item in split_top_level(right, ","):
        parts = split_top_level(item, "+") if len(keys) > 1 else [item]
        if len(parts) != len(keys) or not all(part.strip() for part in parts):
            raise ConfigError(f"--vary '{text}': the value '{item}' should give {len(keys)} value(s) joined by '+' "
                              f"for {'+'.join(keys)}")
        values.append(tuple(parse_override(key, part.strip()) for key, part in zip(keys, parts)))
    if len(values) < 1 or len(set(map(repr, values))) != len(values):
        raise ConfigError(f"--vary '{text}': give distinct values separated by commas")
    return Variation(keys, values)


def _short(key: str) -> str:
    """'model.args.activation' -> 'activation'; 'optim.lr' -> 'lr'."""
    return key.split(".")[-1]


def _format(value) -> str:
    if isinstance(value, str) and value.endswith((".yaml", ".yml")):
        return value.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]  # a network spec: its file's stem
    if isinstance(value, (list, dict)):
        return "none" if not value else str(value).replace("'", "").replace(" ", "")
    return str(value)


def make_arms(variations: list[Variation]) -> list[Arm]:
    """Every combination of the variations' values, in the order given (the first varies slowest)."""
    keys = [key for variation in variations for key in variation.keys]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"a key is varied twice in {keys}; give each key in one --vary only")
    arms = []
    for combination in itertools.product(*(variation.values for variation in variations)):
        settings = tuple((key, value) for variation, values in zip(variations, combination)
                         for key, value in zip(variation.keys, values))
        label = " ".join(f"{_short(key)}={_format(value)}" for key, value in settings) or "base"
        arms.append(Arm(settings, label))
    return arms
