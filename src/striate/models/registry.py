"""The model registry: names to small builder functions.

Like torchvision's registry, registering a name twice is an error, and an
unknown name raises with the nearest registered name suggested.
"""

import functools
import inspect
from collections.abc import Callable

from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.models.spec import build_from_file, is_spec_path

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}
_UNLISTED: set[str] = set()  # registered for model.json, left out of the zoo
_TASKS: dict[str, str] = {}  # model name -> what its output is (classification | segmentation | autoencoder)


def register_model(name: str | None = None, task: str = "classification", listed: bool = True):
    """Decorator that registers a builder under ``name`` (default: the function name); ``task`` says what
    the model's output is: class scores (``classification``, also keypoint regressors), per-pixel scores
    (``segmentation``) or images (``autoencoder``).

    >>> @register_model("tiny_net")            # doctest: +SKIP
    ... def tiny_net(num_classes=10, in_channels=1, input_size=28): ...
    """

    def decorate(builder):
        key = name or builder.__name__
        if key in _BUILDERS:
            raise ModelError(f"model '{key}' is already registered; choose another name")
        _BUILDERS[key] = builder
        _TASKS[key] = task
        if not listed:  # built by name from model.json, but not a zoo architecture ('striate models')
            _UNLISTED.add(key)
        return builder

    return decorate


def list_models(task: str | None = None) -> list[str]:
    """The registered model names, sorted; with ``task``, only the models of that task.

    >>> "lenet5" in list_models(), "fcn8s" in list_models("segmentation")
    (True, True)
    """
    return sorted(name for name in _BUILDERS if (task is None or _TASKS[name] == task) and name not in _UNLISTED)


def model_task(name: str) -> str:
    """What the registered model ``name`` outputs (see :func:`register_model`)."""
    get_builder(name)
    return _TASKS[name]


def get_builder(name: str) -> Callable[..., nn.Module]:
    """The builder registered as ``name``; raises ModelError naming the nearest one."""
    if name not in _BUILDERS:
        raise ModelError(
            f"unknown model '{name}'{did_you_mean(name, _BUILDERS)}; "
            f"run 'striate models' to list the {len(list_models())} registered models"
        )
    return _BUILDERS[name]


def split_args(name: str, args: dict) -> tuple[dict, dict]:
    """``args`` split into those model ``name``'s builder takes and those it does not (another model's
    ``model.args`` carried over when only the name changes).

    >>> split_args("mlp", {"hidden": [8], "batch_norm": True})
    ({'hidden': [8]}, {'batch_norm': True})
    """
    builder = build_from_file if is_spec_path(name) else get_builder(name)
    parameters = inspect.signature(builder).parameters
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()):
        return dict(args), {}
    return ({key: value for key, value in args.items() if key in parameters},
            {key: value for key, value in args.items() if key not in parameters})


def create_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with the builder's keyword arguments.

    >>> model = create_model("mlp", num_classes=10, in_channels=1, input_size=28)

    A name ending in .yaml or .yml is a network spec file (see striate.models.spec).
    """
    builder = functools.partial(build_from_file, name) if is_spec_path(name) else get_builder(name)
    try:
        return builder(**kwargs)
    except TypeError as error:
        raise ModelError(f"model '{name}' cannot be built with arguments {kwargs}: {error}") from None
