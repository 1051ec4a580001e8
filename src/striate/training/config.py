"""Typed, flat configuration: one dataclass per section, a comment per field.

A recipe (YAML) and CLI flags both map onto :class:`Config`. Unknown keys are
errors that name the nearest valid key.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from striate.errors import ConfigError, did_you_mean, short
from striate.recipes import find_recipe
from striate.training.validation import RANGES, check_value, validate


@dataclass
class ModelConfig:
    name: str = "lenet5"  # a registered model (see 'striate models') or a network spec file (net.yaml)
    args: dict = field(default_factory=dict)  # extra keyword arguments for the model's builder
    init: str = "default"  # weight init: default | xavier_uniform | xavier_normal | he_uniform | he_normal | naive
    weights: str | None = None  # start from these weights: a shipped network (striate models --pretrained), a run, a file


@dataclass
class DataConfig:
    source: str = "mnist5k"  # mnist5k | digits | idx | folder | cifar | npz | csv | mnist | fashion-mnist | cifar10 | cifar100
    path: str | None = None  # folder for sources read from disk; '--data DIR' sets it
    input_size: int = 32  # images are brought to input_size x input_size
    fit: str = "pad"  # pad (zero-pad, centred) | resize (bilinear)
    val_fraction: float = 0.1  # share of the training data held out for validation
    val_is_test: bool = False  # evaluate the test split after every epoch in place of a validation split (learning curves of speed runs; the last epoch is kept, none chosen by it); with val_fraction 0
    test_fraction: float = 0.1  # share held out for testing when the source has no test split
    split_seed: int = 0  # seed of the stratified splits (kept fixed across runs)
    augment: list = field(default_factory=lambda: ["translate"])  # augmentations by name, e.g. [translate, {crop: {padding: 4}}]
    normalize: str = "channel"  # channel | mean_image | pca_white | zca_white | none (fitted on the training split)
    whiten_epsilon: float = 0.1  # epsilon added to the eigenvalues for PCA/ZCA whitening (0..1 pixel units)
    skip_bad: bool = False  # skip (and count) unreadable image files instead of stopping before training
    max_per_class: int = 0  # reading cap: read at most this many images per class of each split the data holds, in file order (0: all)
    train_per_class: int = 0  # labelled budget: keep this many training images per class, seeded, after the splits (0: all)
    folds: int = 0  # k-fold cross-validation with this many folds (0: off); 'striate train --folds 5'
    fold: int = 0  # which fold is the validation split (set by the cross-validation driver)
    loader: str = "device"  # device (all images in memory on the device) | streaming (image folders, decoded by workers)
    workers: int = 2  # decoding processes: the streaming loader's, and an image folder's first (uncached) read
    cache: bool = True  # keep an image folder's decoded images in ~/.cache/striate/folders ($STRIATE_CACHE) for the next run
    sampler: str = "shuffle"  # training batches: shuffle (each image once an epoch) | balanced (classification: classes drawn equally often, as many draws)
    classes: list = field(default_factory=list)  # keep only these classes (names or indices), relabelled 0..k-1 in order; [] keeps all
    task: str = "classification"  # classification | keypoints | segmentation | autoencoder (docs/beyond-classification.md)
    ignore_index: int = 255  # segmentation: mask value of unlabelled pixels, left out of the loss and the figures


@dataclass
class OptimConfig:
    optimizer: str = "sgd"  # sgd | momentum | nesterov | adagrad | rmsprop | adam | adamw
    lr: float = 0.02  # initial (peak, for onecycle) learning rate
    momentum: float = 0.9  # heavy-ball momentum of sgd, momentum and nesterov (0 for plain SGD)
    nesterov: bool = False  # Nesterov momentum (the same as optimizer: nesterov)
    betas: list = field(default_factory=lambda: [0.9, 0.999])  # Adam/AdamW moment decay rates
    eps: float = 1e-8  # Adam/AdamW/RMSProp/Adagrad denominator guard
    rms_decay: float = 0.99  # RMSProp's moving-average decay of squared gradients (torch's alpha)
    weight_decay: float = 5e-4  # L2 penalty (decoupled for adamw)
    no_decay_bias_norm: bool = True  # no weight decay / L1 on biases and normalisation parameters
    lr_mult: dict = field(default_factory=dict)  # learning-rate multiplier by parameter-name prefix (Caffe lr_mult)
    freeze: list = field(default_factory=list)  # parameter-name prefixes that are not trained
    freeze_to: int = 0  # freeze the first N layers that have parameters (fastai freeze_to)
    schedule: str = "cosine"  # constant | step | multistep | exponential | inverse_time | plateau | cosine | onecycle
    warmup_epochs: float = 0.0  # linear warm-up from 0 to lr, in front of the schedule
    step_size: int = 10  # step: multiply by gamma every step_size epochs
    milestones: list = field(default_factory=list)  # multistep: epochs at which lr is multiplied by gamma
    gamma: float = 0.1  # step / multistep / plateau factor
    decay_rate: float = 0.1  # exponential: lr * exp(-decay_rate * t), t in epochs
    kappa: float = 1.0  # inverse_time: lr / (t + kappa), t in epochs
    plateau_patience: int = 2  # plateau: epochs without improvement of optim.watch before lr *= gamma
    onecycle_start: float = 0.3  # onecycle: share of the run spent rising to lr
    loss: str = "cross_entropy"  # cross_entropy | mse | hinge | squared_hinge | bce
    class_balance: str = "none"  # per-class loss weights from the training split: none | inverse_frequency | effective_number (classification) | median_frequency (segmentation)
    class_balance_beta: float = 0.999  # effective_number's beta (Cui et al. 2019): 0 weighs every class alike, near 1 as inverse_frequency
    class_weights: list = field(default_factory=list)  # classification: the loss weight of each class, e.g. [1.0, 3.0] ([]: none; instead of class_balance)
    l1: float = 0.0  # L1 penalty on weights (with weight_decay: elastic net)
    label_smoothing: float = 0.0  # cross_entropy target smoothing
    clip_grad_norm: float = 0.0  # clip the global gradient norm to this (0: off)
    aux_loss_weight: float = 0.3  # auxiliary classifiers' losses (GoogLeNet) join the objective with this weight
    dropout_rate: float | None = None  # set the rate of every dropout layer of the model (None: as built)
    early_stop_patience: int = 0  # stop after this many epochs without improvement of optim.watch (0: off)
    watch: str = "val_accuracy"  # the figure best.safetensors, early stopping, plateau and compare watch (a task's default: its own, e.g. val_miou)
    batch_size: int = 64  # mini-batch size (the global batch under DDP)
    epochs: int = 20  # passes over the training split


@dataclass
class RunConfig:
    name: str | None = None  # run directory name under out_dir (default: recipe name + time)
    out_dir: str = "runs"  # where run directories are created
    seed: int = 0  # seeds weights init and batch order
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # CPU threads of torch (0: its default, one a core, or OMP_NUM_THREADS); 1 on a busy machine
    progress: str = "auto"  # auto (bar on a terminal, lines otherwise) | bar | lines | off
    precision: str = "fp32"  # fp32 | bf16 (autocast, CPU and GPU) | fp16 (autocast + loss scaling, GPU)
    channels_last: bool | str = "auto"  # NHWC memory format for the model and its inputs: true, false, or auto (where measured faster: conv nets on a CPU unless batch norm has under 16 channels, bf16/fp16 conv nets on a GPU)
    compile: bool = False  # torch.compile the model
    checkpoint_every: int = 0  # also write the checkpoint every N steps (0: only after each epoch)
    tensorboard: bool = False  # TensorBoard event files in RUN/tensorboard: train/validation overlaid, hparams, images, histograms (striate[tensorboard])
    mlflow: bool = False  # log params, figures and the run's files to MLflow: <out_dir>/mlruns or $MLFLOW_TRACKING_URI (striate[mlflow])
    monitor: bool = False  # per-layer statistics each epoch in metrics.jsonl (see docs/diagnose.md)
    monitor_every: int = 10  # with monitor on, measure one training step in this many
    eval_train: bool = False  # also evaluate the best weights on the training split (eval mode, no augmentation)
    report: bool = False  # write the HTML run report (report.html) at the end; '--report' sets it


@dataclass
class Config:
    """The whole configuration of a run, one section each; its defaults are the default recipe
    (recipes/lenet5-mnist.yaml: LeNet-5 on the built-in MNIST subset).

    >>> config = Config(); config.optim.lr = 0.05; config.model.name
    'lenet5'
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Config)}
# the field a bare section flag sets: '--data DIR' sets data.path, '--model NAME' sets model.name
SECTION_SHORTHAND = {"data": "path", "model": "name"}
# a bare key found in several sections: the section it means ('--name X' names the run)
BARE_KEY_OWNER = {"name": "run"}


def _section_fields(section: str) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(SECTIONS[section])}


def all_keys() -> list[str]:
    """Every valid dotted key, e.g. 'optim.lr'."""
    return [f"{section}.{name}" for section in SECTIONS for name in _section_fields(section)]


def _coerce(key: str, value, annotation):
    """Check ``value`` against the field's type; int -> float and None for optionals are allowed."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if value is None and type(None) in options:
        return None
    if isinstance(value, Path) and str in options:  # a path from Python: kept as text in config.yaml
        return str(value)
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if origin is bool and isinstance(value, bool):
            return value
        if origin in (int, str, list, dict) and isinstance(value, origin) and not isinstance(value, bool):
            return value
        if origin is list and isinstance(value, str):
            return [item for item in value.split(",") if item]
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    hint = "; give true or false" if bool in options else ""
    raise ConfigError(f"{key}: expected {names}, got {short(value)} ({type(value).__name__}){hint}")


def resolve_key(key: str) -> tuple[str, str, list[str]]:
    """'optim.lr' or a unique bare 'lr' -> ('optim', 'lr', []); 'model.args.width' -> ('model', 'args', ['width'])."""
    parts = key.split(".")
    if parts[0] in SECTIONS:
        if len(parts) == 1:
            if parts[0] not in SECTION_SHORTHAND:
                raise ConfigError(f"'{key}' is a section; give one of its keys, e.g. {key}.{next(iter(_section_fields(key)))}")
            return parts[0], SECTION_SHORTHAND[parts[0]], []
        section, name, rest = parts[0], parts[1], parts[2:]
    else:
        owners = [section for section in SECTIONS if parts[0] in _section_fields(section)]
        if parts[0] in BARE_KEY_OWNER:
            owners = [BARE_KEY_OWNER[parts[0]]]
        if len(owners) > 1:
            raise ConfigError(f"'{key}' is ambiguous: use one of " + ", ".join(f"{s}.{parts[0]}" for s in owners))
        if not owners:
            raise ConfigError(f"unknown key '{key}'{did_you_mean(key, all_keys() + [k.split('.')[1] for k in all_keys()])}")
        section, name, rest = owners[0], parts[0], parts[1:]
    fields = _section_fields(section)
    if name not in fields:
        raise ConfigError(f"unknown key '{key}'{did_you_mean(f'{section}.{name}', all_keys())}")
    if rest and fields[name].type is not dict:
        raise ConfigError(f"'{section}.{name}' has no sub-keys (got '{key}')")
    return section, name, rest


def _as_number(item):
    """Numeric text as a number ('--optim.betas 0.9,0.999' gives ['0.9', '0.999']); anything else unchanged."""
    for kind in (int, float):
        try:
            return kind(item) if isinstance(item, str) else item
        except ValueError:
            pass
    return item


def set_value(config: Config, key: str, value) -> None:
    """Set one dotted (or unique bare) key, checking its type.

    >>> config = Config(); set_value(config, "lr", 0.1); config.optim.lr
    0.1
    """
    section, name, rest = resolve_key(key)
    target = getattr(config, section)
    if rest:
        mapping = getattr(target, name)
        for part in rest[:-1]:
            mapping = mapping.setdefault(part, {})
            if not isinstance(mapping, dict):
                raise ConfigError(f"'{key}': {section}.{name}.{part} is {short(mapping)}, not a mapping of sub-keys")
        mapping[rest[-1]] = value
        check_value(f"{section}.{name}", getattr(target, name), _section_fields(section)[name].type)
        return
    value = _coerce(f"{section}.{name}", value, _section_fields(section)[name].type)
    if f"{section}.{name}" in RANGES and isinstance(value, list):
        value = [_as_number(item) for item in value]
    check_value(f"{section}.{name}", value, _section_fields(section)[name].type)
    setattr(target, name, value)


def config_from_dict(mapping: dict, origin: str = "recipe") -> Config:
    """Build a Config from a nested mapping such as a parsed recipe, checked by :func:`validate`."""
    config = Config()
    if not isinstance(mapping, dict):
        raise ConfigError(f"{origin}: expected a mapping of sections ({', '.join(SECTIONS)}), got {type(mapping).__name__}")
    for section, values in mapping.items():
        if section not in SECTIONS:
            raise ConfigError(f"{origin}: unknown section '{section}'{did_you_mean(section, SECTIONS)}; expected {list(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: section '{section}' must be a mapping of keys to values")
        for name, value in values.items():
            try:
                set_value(config, f"{section}.{name}", value)
            except ConfigError as error:
                raise ConfigError(f"{origin}: {error}") from None
    try:
        return validate(config)
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error}") from None


def load_recipe(path: str | Path) -> Config:
    """Read a YAML recipe into a Config, checked by :func:`validate`.

    >>> load_recipe("recipes/lenet5-mnist.yaml").optim.epochs   # doctest: +SKIP
    20
    """
    path = find_recipe(path) or Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe not found: {path}; give a YAML file, or the name of a shipped recipe such as "
                          "mnist-fast ('striate recipes' lists them)")
    try:
        mapping = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where} ({getattr(error, 'problem', error)}); fix the recipe's syntax") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; a recipe is a YAML text file") from None
    if mapping is None:  # an empty file, or only comments: running the defaults instead would hide the mistake
        raise ConfigError(f"recipe {path} is empty; write its sections (model, data, optim, run), e.g. "
                          f"'optim: {{lr: 0.05}}', or leave the recipe out to use the default one")
    return config_from_dict(mapping, str(path))


def config_to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)


def parse_override(key: str, text: str):
    """A flag's value for ``key``: text for string fields ('off' stays 'off'), else YAML:
    '0.1' -> 0.1, 'true' -> True, '[a, b]' -> ['a', 'b']."""
    section, name, rest = resolve_key(key)
    annotation = _section_fields(section)[name].type
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if not rest and bool in options and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if not rest and str in options and text not in ("null", "~"):
        return text
    if not rest and bool in options:  # YAML 1.1 would read yes/no/on/off as booleans
        if text.lower() not in ("true", "false"):
            raise ConfigError(f"{section}.{name} is {short(text)}; expected true or false (yes, no, on, off and "
                              f"1 are not read as booleans); give --{key} true, --{key} false, or --{key} alone")
        return text.lower() == "true"
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and not rest and float in options:
        try:
            return float(value)  # YAML 1.1 reads '1e-3' (no dot) as text
        except ValueError:
            pass
    return value
