"""What a learner sets on the playground page, its choices and ranges (the one place they live: the page
builds its controls from ``options()``), and the check that turns the page's JSON into settings or one
clear line of error.

>>> settings_from_dict({"data": "xor", "hidden": [4, 2], "activation": "tanh"}).hidden
[4, 2]
>>> settings_from_dict({"hidden": [4, 9]})
Traceback (most recent call last):
striate.errors.ConfigError: hidden layer 2 has 9 units; each layer takes 1 to 8
"""

import math
from dataclasses import asdict, dataclass, field, fields

from striate.data.toy2d import FEATURES, MAX_NOISE, TOYS
from striate.errors import ConfigError, did_you_mean, short

ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "linear": "identity"}  # page -> make_activation
REGULARIZATIONS = ("none", "l1", "l2")
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 8


@dataclass
class PlaygroundSettings:
    data: str = "circles"  # the toy problem: circles | xor | spirals | blobs
    noise: float = 0.0  # 0 (clean) to 0.5: labels flip near the boundary, points jitter, blobs widen
    train_fraction: float = 0.5  # the share of the points that train; the rest test
    points: int = 500  # how many points are drawn
    seed: int = 0  # draws the points, the initial weights and the batch order
    features: list = field(default_factory=lambda: ["x", "y"])  # the network's inputs (keys of toy2d.FEATURES)
    hidden: list = field(default_factory=lambda: [4, 2])  # units of each hidden layer: 0 to 6 layers of 1 to 8
    activation: str = "tanh"  # of every hidden unit: relu | tanh | sigmoid | linear
    lr: float = 0.03  # the learning rate of plain SGD
    regularization: str = "none"  # none | l1 (an L1 penalty) | l2 (weight decay); biases are left out
    regularization_rate: float = 0.0  # the penalty's weight
    batch_size: int = 10  # points a step


CHOICES = {"data": tuple(TOYS), "activation": tuple(ACTIVATIONS), "regularization": REGULARIZATIONS}
RANGES = {  # inclusive bounds of the numbers; they also bound the work one session can ask of the server
    "noise": (0.0, MAX_NOISE), "train_fraction": (0.1, 0.9), "points": (50, 1000), "seed": (0, 2**31 - 1),
    "lr": (1e-5, 10.0), "regularization_rate": (0.0, 10.0), "batch_size": (1, 100),
}
INTEGERS = ("points", "seed", "batch_size")
SUGGESTED = {  # the values the page offers in its menus (the TensorFlow playground's), each inside its range
    "lr": [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    "regularization_rate": [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
    "steps": [1, 5, 10, 25, 50, 100],  # steps the page asks for in one update
}


def options() -> dict:
    """The choices, ranges and defaults, as the page reads them to build its controls."""
    return {"choices": {**{name: list(values) for name, values in CHOICES.items()}, "features": list(FEATURES)},
            "ranges": {name: list(bounds) for name, bounds in RANGES.items()},
            "hidden": {"max_layers": MAX_HIDDEN_LAYERS, "max_units": MAX_UNITS}, "suggested": SUGGESTED,
            "defaults": asdict(PlaygroundSettings())}


def _number(name: str, value):
    integer = name in INTEGERS
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not float(value).is_integer()):
        raise ConfigError(f"{name} must be {'an integer' if integer else 'a number'}, got {short(value, 40)}")
    low, high = RANGES[name]
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{name} must be between {low} and {high}, got {short(value, 40)}")
    return int(value) if integer else float(value)


def _hidden(value) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_HIDDEN_LAYERS:
        raise ConfigError(f"hidden must be a list of 0 to {MAX_HIDDEN_LAYERS} layer widths, got {short(value, 40)}")
    for index, units in enumerate(value, start=1):
        if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
            raise ConfigError(f"hidden layer {index} has {short(units, 20)} units; each layer takes 1 to {MAX_UNITS}")
    return list(value)


def _features(value) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
        raise ConfigError(f"features must be a non-empty list of some of {list(FEATURES)}, got {short(value, 40)}")
    unknown = [name for name in value if name not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown input feature {short(unknown[0], 20)}{did_you_mean(unknown[0], FEATURES)}; "
                          f"expected some of {list(FEATURES)}")
    return [name for name in FEATURES if name in value]  # the table's order, each once


def settings_from_dict(data) -> PlaygroundSettings:
    """The settings in ``data`` (a JSON object; keys left out keep their defaults). An unknown key, a value
    of the wrong type or out of its range raises ConfigError with one line that names it and what it takes."""
    if not isinstance(data, dict):
        raise ConfigError(f"the settings must be a JSON object, got {short(data, 40)}")
    names = [item.name for item in fields(PlaygroundSettings)]
    settings = PlaygroundSettings()
    for name, value in data.items():
        if name not in names:
            raise ConfigError(f"unknown setting {short(name, 30)}{did_you_mean(name, names)}; expected some of {names}")
        if name in CHOICES:
            if value not in CHOICES[name]:
                raise ConfigError(f"{name} must be one of {list(CHOICES[name])}, got {short(value, 40)}"
                                  f"{did_you_mean(value, CHOICES[name]) if isinstance(value, str) else ''}")
        elif name in RANGES:
            value = _number(name, value)
        else:
            value = _hidden(value) if name == "hidden" else _features(value)
        setattr(settings, name, value)
    return settings
