"""The training engine around :func:`fit`: optimizer, schedule and step options from the config, the
per-step and per-epoch hooks (logs, best weights, checkpoints, plateau, early stopping), and exact resume.
Every run reaches it through the run session (striate.session.train); a fine-tune brings its own
optimizer and freezing as a *plan* (see :class:`TrainingPlan`).

The checkpoint (RUN/checkpoint.safetensors) holds the weights, optimizer, schedule and loss-scaler states,
the loop position, the best figure, early stopping and every random generator's state; it is written
after each epoch (and every ``run.checkpoint_every`` steps), atomically.
"""

import errno
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from striate.console import get_logger
from striate.errors import ConfigError, RunError, TrainingDivergedError
from striate.files import write_error
from striate.training.checkpoint import load_checkpoint, save_checkpoint, save_weights
from striate.training.distributed import World, sum_over_ranks, wrap_model
from striate.training.logs import RunLog, check_trackers, truncate_logs
from striate.training.loop import LoopState, StepOptions, fit
from striate.training.losses import build_loss
from striate.training.optim import freeze_parameters
from striate.training.plan import TrainingPlan
from striate.training.progress import make_progress
from striate.training.regularize import EarlyStopping, decayed_parameters, set_dropout_rate
from striate.training.schedules import build_schedule
from striate.training.validation import CHOICES
from striate.training.watch import Watch

WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG)
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_log = get_logger(__name__)
CLASS_BALANCE = CHOICES["optim.class_balance"]  # the weights themselves are worked out by the task (striate.tasks)


def prepare_model(model: nn.Module, config, device: torch.device) -> nn.Module:
    """Dropout rate, frozen layers and memory format, as the config says."""
    optim, run = config.optim, config.run
    if optim.dropout_rate is not None:
        set_dropout_rate(model, optim.dropout_rate)
    if optim.freeze or optim.freeze_to:
        freeze_parameters(model, optim.freeze, optim.freeze_to)
    if uses_channels_last(config, model, device):
        model = model.to(memory_format=torch.channels_last)
    return model.to(device)


NHWC_NORM_CHANNELS = 16  # batch norm on fewer channels is slow in NHWC on a CPU (its kernel vectorises over channels)


def channels_last_pays(model: nn.Module, device: torch.device, precision: str = "fp32") -> bool:
    """Whether NHWC (channels_last) trains ``model`` faster than NCHW on ``device``: ``run.channels_last: auto``.

    On a CPU, oneDNN's convolutions and pooling are faster in NHWC (bench/pool_layout.py, docs/benchmarks.md: max
    pooling 2-5x, whole steps 1.1-2.1x for convnet4, LeNet-5 and ResNet-20), except where batch norm normalises
    fewer than 16 channels (one AVX-512 vector of fp32): LeNet-5 with batch norm on C1's 6 channels trained at 7k
    images/s in NHWC against 12k in NCHW on 2 threads (recipes/mnist-fast.yaml). On a CUDA GPU, NHWC serves the
    tensor cores of bf16/fp16 autocast; fp32 stays NCHW (not measured). A network without 2-D convolutions
    stays NCHW."""
    modules = list(model.modules())
    if not any(isinstance(module, nn.Conv2d) for module in modules):
        return False
    if device.type == "cuda":
        return precision in ("bf16", "fp16")
    return device.type == "cpu" and all(module.num_features >= NHWC_NORM_CHANNELS for module in modules
                                        if isinstance(module, nn.BatchNorm2d))


def uses_channels_last(config, model: nn.Module, device: torch.device) -> bool:
    """``run.channels_last`` for this model and device: true, false, or auto (:func:`channels_last_pays`)."""
    setting = config.run.channels_last
    return channels_last_pays(model, device, config.run.precision) if setting == "auto" else setting is True


def check_training(config, model: nn.Module, steps_per_epoch: int, device: torch.device,
                   plan: TrainingPlan = TrainingPlan()) -> None:
    """Raise ConfigError for any bad training setting, before the run directory is made (the watched
    figure and the task's own settings are checked where the task is chosen)."""
    run, optim = config.run, config.optim
    if run.precision not in PRECISIONS:
        raise ConfigError(f"unknown run.precision '{run.precision}'; expected one of {list(PRECISIONS)}")
    if run.precision == "fp16" and device.type != "cuda":
        raise ConfigError("run.precision fp16 needs a CUDA GPU (loss scaling); on a CPU use bf16 or fp32")
    if optim.class_balance not in CLASS_BALANCE:
        raise ConfigError(f"unknown optim.class_balance '{optim.class_balance}'; expected one of {list(CLASS_BALANCE)}")
    build_loss(optim.loss, optim.label_smoothing)
    check_trackers(run)
    build_schedule(plan.optimizer(model, optim), optim, steps_per_epoch)


def slow_precision_note(precision: str, device: torch.device) -> str | None:
    """A line when bf16 autocast runs on a CPU without native bf16 arithmetic (AVX-512 bf16 or AMX, as oneDNN
    reports it): there it is emulated and slower than fp32, not faster; else None."""
    if precision != "bf16" or device.type != "cpu":
        return None
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    if torch.backends.mkldnn.is_available() and supported is not None and supported():
        return None
    return ("run.precision bf16 on a CPU without native bf16 arithmetic (AVX-512 bf16 or AMX): it is emulated "
            "and slower than fp32 here; set --run.precision fp32")


def step_options(config, optimizer: torch.optim.Optimizer, device: torch.device, world: World) -> StepOptions:
    run, optim = config.run, config.optim
    return StepOptions(
        l1=optim.l1,
        l1_parameters=decayed_parameters(optimizer) if optim.no_decay_bias_norm else
        [p for group in optimizer.param_groups for p in group["params"]],
        clip_grad_norm=optim.clip_grad_norm, autocast_dtype=PRECISIONS[run.precision],
        scaler=torch.amp.GradScaler("cuda") if run.precision == "fp16" else None,
        reduce=sum_over_ranks if world.enabled else None,
        aux_weight=optim.aux_loss_weight)


def rng_states() -> dict:
    python = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": [python[0], list(python[1]), python[2]],
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(tuple(states["numpy"]))
    random.setstate((states["python"][0], tuple(states["python"][1]), states["python"][2]))
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def run_training(model: nn.Module, train_loader, val_loader, task, watch: Watch, config, paths,
                 world: World = World(), stream=None, resume: bool = False, make_monitor: Callable | None = None,
                 plan: TrainingPlan = TrainingPlan(), train_sample=None) -> tuple[list[dict], dict]:
    """Train ``model`` (already prepared and on its device) on ``task`` as ``config`` says, keeping the best
    weights by ``watch``, writing logs, weights and checkpoints into ``paths`` (a RunPaths); with ``resume``,
    continue from its checkpoint. ``make_monitor(model, optimizer)`` may return a layer monitor
    (``epoch_figures()``, ``close()``) whose figures join each epoch's; ``train_sample``, batches of a fixed
    sample of the training split, is measured in eval mode after each epoch (``train_eval_*``, see :func:`fit`).
    Returns the history of the epochs trained here and the best figure."""
    optim = config.optim
    optimizer = plan.optimizer(model, optim)
    schedule = build_schedule(optimizer, optim, len(train_loader), watch)
    device = next(model.parameters()).device
    options = step_options(config, optimizer, device, world)
    options.channels_last = uses_channels_last(config, model, device)  # as prepare_model laid the model out
    slow = slow_precision_note(config.run.precision, device)
    if slow and world.is_main and not resume:
        _log.info(f"note: {slow}")
    options.loss_weight = getattr(train_loader, "loss_weight", None)  # ShardedLoader under DDP
    if not hasattr(model, "aux_logits"):  # only GoogLeNet-style models have auxiliary classifiers
        options.aux_weight = 0.0
    early = EarlyStopping(optim.early_stop_patience, watch)
    state, best = LoopState(), {"value": None, "epoch": 0}
    if resume:
        state, best = _restore(load_checkpoint(paths.checkpoint), model, optimizer, schedule, options, early)
        if world.is_main:
            truncate_logs(paths.root, state.epoch - 1, state.step)
            _log.info(f"note: resuming {paths.root} at step {state.step} (epoch {state.epoch}, batch {state.batch})")
    trained = torch.compile(model) if config.run.compile else model
    trained = wrap_model(trained, world, device)
    log = RunLog(paths.root, config, model, train_loader, state.step if resume else None) if world.is_main else None
    monitor = make_monitor(model, optimizer) if make_monitor is not None else None
    progress = make_progress(config.run.progress if world.is_main else "off", optim.epochs, len(train_loader), stream)

    def save_state() -> None:
        state.read()  # every rank reads its losses here: a NaN stops the run before anything is written
        if world.is_main:
            log.flush_steps()
            save_checkpoint(paths.checkpoint, _checkpoint(model, optimizer, schedule, options, early, state, best))

    def on_step(figures: dict) -> None:
        if log is not None:
            log.step(figures["step"], state.epoch, figures["lr"], figures["loss"])
        progress.on_step(figures)
        if config.run.checkpoint_every and figures["step"] % config.run.checkpoint_every == 0:
            save_state()

    def on_epoch(figures: dict) -> bool:
        figures.update(plan.epoch_figures(model))
        value = figures.get(watch.name)
        if monitor is not None:
            _record_monitor(monitor, figures, world)
        if world.is_main:
            log.epoch(figures)
            save_weights(paths.weights("last"), model.state_dict())
        if watch.better(value, best["value"]):
            best.update(value=value, epoch=figures["epoch"])
            if world.is_main:
                save_weights(paths.weights("best"), model.state_dict())
        schedule.observe(value)
        stop = early.update(value)
        save_state()
        progress.on_epoch(figures)
        if stop and world.is_main:
            _log.info(f"note: early stopping after epoch {figures['epoch']}: {early.reason(best['epoch'])}")
        return stop

    try:
        history = fit(trained, optimizer, train_loader, val_loader, task, optim.epochs, schedule, on_step=on_step,
                      on_epoch=on_epoch, options=options, state=state,
                      before_epoch=lambda epoch: plan.before_epoch(model, epoch), train_sample=train_sample)
    except TrainingDivergedError as error:
        raise TrainingDivergedError(f"{error}. {last_good(paths)}") from None
    except OSError as error:  # a log line that could not be appended: a full disk, no permission
        if error.errno not in WRITE_ERRORS:
            raise
        raise write_error(Path(error.filename or paths.root), error) from None
    finally:
        progress.close()
        if log is not None:
            log.close(failed=sys.exc_info()[0] is not None)
        if monitor is not None:
            monitor.close()
    return history, best


def _record_monitor(monitor, figures: dict, world: World) -> None:
    """Add the epoch's layer statistics to its figures and warn (on stderr) about those out of range."""


    figures.update(monitor.epoch_figures())
    for line in figures.get("monitor_warnings", []) if world.is_main else []:
        _log.warning(f"epoch {figures['epoch']}: {line}")


def _checkpoint(model, optimizer, schedule, options: StepOptions, early, state: LoopState, best: dict) -> dict:
    """Everything an exact resume needs (see :func:`_restore`)."""
    return {"format": 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(), "scaler": options.scaler.state_dict() if options.scaler else None,
            "early_stop": early.state_dict(), "loop": state.to_checkpoint(), "best": best, "rng": rng_states()}


def last_good(paths) -> str:
    """Where a stopped run can go on from: its last checkpoint, or nothing to resume."""
    if not paths.checkpoint.exists():
        return "No checkpoint was written yet: nothing to resume; fix the cause and train again"
    saved = load_checkpoint(paths.checkpoint)["loop"]
    return (f"The last good checkpoint, {paths.checkpoint} (epoch {saved['epoch'] - (saved['batch'] == 0)}, "
            f"step {saved['step']}), is untouched: fix the cause and resume with 'striate train --resume {paths.root}'")


def _restore(checkpoint: dict, model, optimizer, schedule, options: StepOptions, early) -> tuple[LoopState, dict]:
    try:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["schedule"])
        if options.scaler is not None and checkpoint["scaler"]:
            options.scaler.load_state_dict(checkpoint["scaler"])
        early.load_state_dict(checkpoint["early_stop"])
        set_rng_states(checkpoint["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
        message = " ".join(str(error).split())[:200]
        raise RunError(f"the checkpoint does not fit this run's model and settings ({message}); the run directory is "
                       "damaged or its config.yaml was changed: restore it or train again") from None
    return LoopState.from_checkpoint(checkpoint["loop"]), dict(checkpoint["best"])
