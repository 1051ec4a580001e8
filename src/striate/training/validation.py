"""The valid values of every setting: the range of each numeric field (one table, ``RANGES``), the fixed
choices of some text fields (``CHOICES``), and the ranges that tie fields together. Checked where a
configuration is read (striate.training.config: recipes, flags) and where a session starts (a Config built in
Python), each failure one line naming the key, the value, the valid range and a good value.

>>> check_value("optim.momentum", 0.9)
"""

import dataclasses
import math
import shlex

from striate.errors import ConfigError, did_you_mean, short

# Every numeric field of the Config sections (striate.training.config) by dotted key: its valid values and a good value (as YAML). A value must be a finite
# number (a whole number for int fields) in the range: '> 0', '>= 1', '[0, 1)' (0 included, 1 not), '0 or >= 2',
# '' (any). Each element of a list (optim.betas, optim.milestones) and each value of a mapping (optim.lr_mult)
# is checked the same way. validate() applies it; ranges that tie fields together are in check_section().
RANGES: dict[str, tuple[str, str]] = {
    "data.input_size": ("[1, 4096]", "32"),
    "data.val_fraction": ("[0, 1)", "0.1"),
    "data.test_fraction": ("[0, 1)", "0.1"),
    "data.split_seed": (f"[0, {2**32 - 1}]", "0"),
    "data.whiten_epsilon": ("> 0", "0.1"),
    "data.max_per_class": (">= 0", "0"),
    "data.train_per_class": (">= 0", "100"),
    "data.folds": ("0 or >= 2", "5"),
    "data.fold": (">= 0", "0"),  # and below data.folds
    "data.workers": (">= 0", "2"),
    "data.ignore_index": ("[0, 255]", "255"),
    "optim.lr": ("> 0", "0.05"),  # a huge rate is left to the divergence stop
    "optim.momentum": ("[0, 1)", "0.9"),
    "optim.betas": ("[0, 1)", "[0.9, 0.999]"),  # two of them
    "optim.eps": ("> 0", "1e-8"),
    "optim.rms_decay": ("[0, 1)", "0.99"),
    "optim.weight_decay": (">= 0", "5e-4"),
    "optim.lr_mult": (">= 0", "{features: 0.1}"),
    "optim.freeze_to": (">= 0", "0"),
    "optim.warmup_epochs": (">= 0", "1"),  # and at most optim.epochs
    "optim.step_size": (">= 1", "10"),
    "optim.milestones": (">= 0", "[10, 15]"),
    "optim.gamma": ("> 0", "0.1"),
    "optim.decay_rate": ("", "0.1"),
    "optim.kappa": ("> 0", "1.0"),
    "optim.plateau_patience": (">= 1", "2"),
    "optim.onecycle_start": ("(0, 1)", "0.3"),
    "optim.l1": (">= 0", "1e-5"),
    "optim.label_smoothing": ("[0, 1)", "0.1"),
    "optim.class_balance_beta": ("[0, 1)", "0.999"),
    "optim.class_weights": ("> 0", "[1.0, 3.0]"),  # one per class (checked where the classes are known)
    "optim.clip_grad_norm": (">= 0", "1.0"),
    "optim.aux_loss_weight": (">= 0", "0.3"),
    "optim.dropout_rate": ("[0, 1)", "0.5"),  # or None (null): as built
    "optim.early_stop_patience": (">= 0", "5"),
    "optim.batch_size": (">= 1", "64"),
    "optim.epochs": (">= 1", "15"),
    "run.seed": (f"[0, {2**32 - 1}]", "0"),
    "run.checkpoint_every": (">= 0", "0"),
    "run.monitor_every": (">= 1", "10"),
    "run.threads": (">= 0", "1"),
}
MAX_VALUES = 10_000  # values a list or mapping setting may hold (a YAML alias bomb, 9**9 strings, stops here)


def _within(value, spec: str) -> bool:
    """Whether ``value`` is a finite number that meets ``spec`` (a range of RANGES)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):  # (an int is finite, however long)
        return False
    return not spec or any(_meets(value, part) for part in spec.split(" or "))


def _meets(value, part: str) -> bool:
    if part[0] in "[(":  # an interval: [0, 1), (0, 1), [1, 4096]
        low, high = (float(bound) for bound in part[1:-1].split(","))
        return (low <= value if part[0] == "[" else low < value) and (value <= high if part[-1] == "]" else value < high)
    operator, _, bound = part.rpartition(" ")
    return {">": value > float(bound), ">=": value >= float(bound), "": value == float(bound)}[operator]


def _leaves(key: str, value) -> list:
    """The plain values a setting holds: itself, each element of a (nested) list, each leaf of a mapping."""
    pending, leaves = [value], []
    while pending:
        item = pending.pop()
        if isinstance(item, (dict, list, tuple)):
            pending.extend(item.values() if isinstance(item, dict) else item)
        else:
            leaves.append(item)
        if len(pending) + len(leaves) > MAX_VALUES:
            raise ConfigError(f"{key} holds more than {MAX_VALUES} values (a YAML alias repeated?); give it the "
                              f"few values it needs")
    return leaves


def check_value(key: str, value, kind=float) -> None:
    """Raise ConfigError when the numeric setting ``key`` (of the field type ``kind``: float, int, list or dict)
    is not in its range of RANGES; other keys pass.

    >>> check_value("optim.lr", float("nan"))
    Traceback (most recent call last):
    striate.errors.ConfigError: optim.lr is nan; expected a finite number > 0; set it to e.g. 0.05 (--optim.lr 0.05)
    """
    if key not in RANGES or (value is None and key == "optim.dropout_rate"):
        return
    spec, example = RANGES[key]
    if kind in (list, dict):
        numbers = _leaves(key, value)
        noun = "two numbers, each" if key == "optim.betas" else "numbers, each"
        fits = (len(numbers) == 2 or key != "optim.betas") and all(_within(number, spec) for number in numbers)
    else:
        noun = "a whole number" if kind is int else "a finite number"
        fits = _within(value, spec) and (kind is not int or isinstance(value, int))
    if not fits:
        within = "" if not spec else f" in {spec}" if spec[0] in "[(" else f" {spec}"
        raise ConfigError(f"{key} is {short(value)}; expected {noun}{within}; "
                          f"set it to e.g. {example} (--{key} {shlex.quote(example)})")


def check_warmup(optim) -> None:
    """The warm-up fits in the run: optim.warmup_epochs <= optim.epochs (each already in its range)."""
    if optim.warmup_epochs > optim.epochs:
        raise ConfigError(f"optim.warmup_epochs is {optim.warmup_epochs:g}; expected at most optim.epochs "
                          f"({optim.epochs}); lower optim.warmup_epochs or raise optim.epochs")


def check_fields(section: str, values, names) -> None:
    """Check the named fields of one section (e.g. the optimizer settings an OptimConfig built in Python holds),
    each against its range with its declared type."""
    kinds = {item.name: item.type for item in dataclasses.fields(values)}
    for name in names:
        check_value(f"{section}.{name}", getattr(values, name), kinds[name])


def check_section(section: str, values) -> None:
    """Check every numeric field of one section (e.g. an OptimConfig) and the ranges that tie fields together."""
    for item in dataclasses.fields(values):
        value = getattr(values, item.name)
        if isinstance(value, (list, dict)):  # model.args, data.augment, ...: a bounded size
            _leaves(f"{section}.{item.name}", value)
        check_value(f"{section}.{item.name}", value, item.type)
    if section == "optim":
        check_warmup(values)
    if section == "data" and values.val_fraction + values.test_fraction >= 1:
        raise ConfigError(f"data.val_fraction + data.test_fraction is {values.val_fraction:g} + "
                          f"{values.test_fraction:g}; expected a sum below 1 (some data must be left to train "
                          f"on); lower them, e.g. --data.val_fraction 0.1 --data.test_fraction 0.1")
    if section == "data" and values.val_is_test and (values.val_fraction > 0 or values.folds):
        raise ConfigError(f"data.val_is_test evaluates the test split in place of a validation split, so none is "
                          f"carved: set data.val_fraction 0 (it is {values.val_fraction:g}) and data.folds 0 (it is "
                          f"{values.folds}), e.g. --data.val_fraction 0")
    if section == "run" and not any(values.channels_last is choice for choice in (True, False)) \
            and values.channels_last != "auto":
        raise ConfigError(f"run.channels_last is {short(values.channels_last)}; expected true, false or auto (NHWC "
                          f"where it is measured faster); e.g. --run.channels_last auto")
    if section == "data" and values.folds >= 2 and values.fold >= values.folds:
        raise ConfigError(f"data.fold is {values.fold}; expected 0 to data.folds - 1 ({values.folds - 1}); "
                          f"set data.fold below data.folds (the cross-validation driver sets it)")


def validate(config):
    """Check every numeric setting of ``config`` against RANGES (and the ranges that tie settings together);
    raise ConfigError naming the key, the value, the valid range and a good value. Returns ``config``.

    >>> from striate.training.config import Config
    >>> validate(Config()).optim.lr
    0.02
    """
    for section in dataclasses.fields(config):
        check_section(section.name, getattr(config, section.name))
    for key, choices in CHOICES.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value not in choices:
            raise ConfigError(f"unknown {key} {short(value)}{did_you_mean(value, choices)}; "
                              f"expected one of {list(choices)}")
    return config


# text settings with a fixed set of values (names of models, optimizers, schedules, ... are checked by their
# registries where they are built, with the list of what exists)
CHOICES = {"data.fit": ("pad", "resize"), "data.loader": ("device", "streaming"),
           "data.sampler": ("shuffle", "balanced"),
           "optim.class_balance": ("none", "median_frequency", "inverse_frequency", "effective_number"),
           "run.progress": ("auto", "bar", "lines", "off"), "run.precision": ("fp32", "bf16", "fp16")}
