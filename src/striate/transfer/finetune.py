"""Fine-tuning: a source network with a new head for the new classes, the bottom frozen, the body
optionally on a smaller learning rate than the head, everything optionally un-frozen later.

Yosinski et al. 2014 ("How transferable are features in deep neural networks?") measure exactly
these choices: how many bottom layers to copy, and whether to freeze them or fine-tune them.

>>> plan = FineTunePlan(freeze_stages=2, body_lr_scale=0.1, unfreeze_at=5)     # doctest: +SKIP
>>> result = finetune_run("runs/lenet5-mnist", config, plan)                   # doctest: +SKIP
"""

import time
from dataclasses import dataclass

import torch
from torch import nn

from striate.transfer.freeze import (build_transfer_optimizer, freeze_layers, freeze_stages, trainable_parameters,
                                     unfreeze)


@dataclass
class FineTunePlan:
    freeze: str | None = None  # body layers to freeze: 'conv1..conv3', 'conv2' (bottom up to it), 'conv1,conv3'
    freeze_stages: int = 0  # or: freeze the bottom N stages
    body_lr_scale: float = 1.0  # the body's learning rate is optim.lr times this (the head's is optim.lr)
    unfreeze_at: int = 0  # from this epoch on everything trains (0: the frozen layers stay frozen)


def apply_plan(model: nn.Module, plan: FineTunePlan) -> list[str]:
    """Freeze what ``plan`` says (nothing when it un-freezes from the first epoch); the frozen parameter names."""
    if plan.unfreeze_at == 1:
        return []
    frozen = freeze_layers(model, plan.freeze) if plan.freeze else []
    return frozen + (freeze_stages(model, plan.freeze_stages) if plan.freeze_stages else [])


def check_plan(model: nn.Module, plan: FineTunePlan) -> None:
    """Raise ConfigError for a plan that does not fit ``model``, before anything is written."""
    from striate.errors import ConfigError
    from striate.transfer.freeze import body_stages, layer_range

    if plan.freeze:
        layer_range(model, plan.freeze)
    if not 0 <= plan.freeze_stages <= len(body_stages(model)):
        raise ConfigError(f"--freeze-stages {plan.freeze_stages}: the body has {len(body_stages(model))} stages")
    if plan.unfreeze_at < 0 or plan.body_lr_scale < 0:
        raise ConfigError("--unfreeze-at and --body-lr-scale must be zero or positive")


def train_model(model: nn.Module, prepared, config, device, plan: FineTunePlan | None = None,
                on_epoch=None) -> dict:
    """Train ``model`` on ``prepared`` (a pipeline.PreparedData) with ``config.optim`` under ``plan``;
    returns the history, the test figures of the final weights, seconds and trainable parameters."""
    from striate.pipeline import make_loader
    from striate.train.loop import evaluate, fit
    from striate.train.distributed import World
    from striate.train.runner import step_options
    from striate.train.schedules import build_schedule

    plan = plan or FineTunePlan()
    model.to(device).train()
    frozen = apply_plan(model, plan)
    trainable = trainable_parameters(model)
    optimizer = build_transfer_optimizer(model, config.optim, plan.body_lr_scale)
    splits, num_classes = prepared.splits, len(prepared.splits["train"].class_names)
    train_loader = make_loader(splits["train"], prepared.preprocess, config, device, train=True)
    val_loader = make_loader(splits["val"], prepared.preprocess, config, device, train=False)
    schedule = build_schedule(optimizer, config.optim, len(train_loader))

    def epoch_done(figures: dict) -> None:
        figures["trainable_parameters"] = trainable_parameters(model)
        if plan.unfreeze_at and figures["epoch"] == plan.unfreeze_at - 1:
            unfreeze(model)  # the next epoch trains everything
        schedule.observe(figures.get(config.optim.watch))
        if on_epoch is not None:
            on_epoch(figures)

    started = time.perf_counter()
    options = step_options(config, optimizer, torch.device(device), World())  # loss, precision, clipping, L1
    history = fit(model, optimizer, train_loader, val_loader, config.optim.epochs, schedule, num_classes,
                  on_epoch=epoch_done, options=options)
    seconds = time.perf_counter() - started
    test = evaluate(model, make_loader(splits["test"], prepared.preprocess, config, device, train=False), num_classes,
                    options.loss_fn, options)
    return {"history": history, "test": test, "seconds": seconds, "trainable_parameters": trainable,
            "frozen": frozen}


def new_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace the classifier for ``num_classes`` classes (the body keeps its weights)."""
    device = next(model.parameters()).device
    model.reset_classifier(num_classes)
    model.head.to(device)
    return model


def finetune_run(source: str, config, plan: FineTunePlan, model_name: str | None = None,
                 recipe_name: str = "finetune") -> dict:
    """Fine-tune ``source`` (a run or a weights file) on ``config``'s data and write a run directory
    that 'striate predict' and 'striate evaluate' read like any other."""
    from striate.pipeline import model_arguments, prepare_data, resolve_device, seed_everything
    from striate.transfer.source import load_source_model

    device = resolve_device(config.run.device)
    seed_everything(config.run.seed)
    prepared = prepare_data(config)
    class_names = prepared.splits["train"].class_names
    shapes = {"in_channels": prepared.preprocess["channels"], "input_size": prepared.preprocess["input_size"]}
    model, meta = load_source_model(source, model_name or config.model.name, {**shapes, **config.model.args}, device)
    new_head(model, len(class_names))
    check_plan(model, plan)
    if meta is not None:
        config.model.name, config.model.args = meta["model"]["name"], dict(meta["model"]["args"])
        model_args = {**meta["model"]["args"], "num_classes": len(class_names)}
    else:
        config.model.name = model_name or config.model.name
        model_args = model_arguments(config, len(class_names), prepared.preprocess)
    return _write_run(model, model_args, prepared, config, device, plan, recipe_name, str(source))


def _write_run(model, model_args, prepared, config, device, plan, recipe_name, source) -> dict:
    """The run directory of a fine-tuning, in the layout of striate.runs (best weights by validation)."""
    import json

    import striate
    from striate.data.preprocess import ARRAYS_FILE, split_arrays
    from striate.pipeline import _finish, write_run_files
    from striate.runs import RunPaths, new_run_dir
    from striate.train.checkpoint import atomic_write_bytes, save_weights
    from striate.train.runner import _better
    from striate.train.schedules import monitor_mode

    paths = RunPaths(new_run_dir(config.run.out_dir, config.run.name, recipe_name))
    preprocess = prepared.preprocess
    figures, arrays = split_arrays(preprocess)
    if arrays is not None:
        atomic_write_bytes(paths.root / ARRAYS_FILE, arrays)
    meta = {"striate_version": striate.__version__, "model": {"name": config.model.name, "args": model_args},
            "class_names": prepared.splits["train"].class_names,
            "input_shape": [preprocess["channels"], preprocess["input_size"], preprocess["input_size"]],
            "preprocess": figures, "data": {"source": config.data.source, "path": config.data.path},
            "transfer": {"source": source, "plan": vars(plan)}}
    write_run_files(paths, config, meta)
    best = {"value": None, "epoch": 0}
    mode = monitor_mode(config.optim.watch)

    def on_epoch(figures: dict) -> None:
        with paths.metrics.open("a") as file:
            file.write(json.dumps(figures) + "\n")
        save_weights(paths.weights("last"), model.state_dict())
        if _better(figures.get(config.optim.watch), best["value"], mode):
            best.update(value=figures.get(config.optim.watch), epoch=figures["epoch"])
            save_weights(paths.weights("best"), model.state_dict())

    result = train_model(model, prepared, config, device, plan, on_epoch)
    finished = _finish(paths, model, prepared.splits, preprocess, config, device, best)
    return {**finished, "trainable_parameters": result["trainable_parameters"], "frozen": result["frozen"]}
