"""The training loop you can read: ``train_step``, ``evaluate``, ``train_epoch`` and ``fit``, each
returning figures. Two hook points: ``on_step(figures)`` and ``on_epoch(figures)`` (which may return
True to stop, as early stopping does).

>>> history = fit(model, optimizer, train_loader, val_loader, epochs=5)   # doctest: +SKIP
>>> history[-1]["val_accuracy"]                                          # doctest: +SKIP
0.981
"""

import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import TrainingDivergedError
from striate.train.metrics import ClassificationMeter
from striate.train.regularize import l1_penalty

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class StepOptions:
    """How a step is taken beyond forward, backward, update."""

    loss_fn: Callable = F.cross_entropy  # (outputs, targets, reduction="mean") -> loss
    l1: float = 0.0  # L1 penalty weight, on l1_parameters
    l1_parameters: list = field(default_factory=list)
    clip_grad_norm: float = 0.0  # 0: no clipping
    autocast_dtype: torch.dtype | None = None  # torch.bfloat16 / torch.float16, or None for fp32
    scaler: torch.amp.GradScaler | None = None  # fp16 loss scaling
    channels_last: bool = False  # convert 4-D inputs to NHWC
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None  # sums a tensor over DDP ranks
    loss_weight: Callable[[int], float] | None = None  # batch size -> loss multiplier (DDP's uneven last batch)
    task: object = None  # a striate.tasks Task (keypoints, segmentation, autoencoder): its loss and meter
    aux_weight: float = 0.0  # weight of auxiliary classifiers' losses (GoogLeNet's model.aux_logits; paper: 0.3)


def auxiliary_logits(model: nn.Module) -> list[torch.Tensor]:
    """The logits of a model's auxiliary classifiers from its last training forward pass (GoogLeNet
    keeps them in ``aux_logits``), looking through DistributedDataParallel and torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return list(getattr(model, "aux_logits", None) or [])
        model = inner


def _autocast(images: torch.Tensor, options: StepOptions):
    if options.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(images.device.type, dtype=options.autocast_dtype)


def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer,
               options: StepOptions | None = None) -> dict:
    """One step of mini-batch gradient descent; returns the batch's loss and correct count (tensors)."""
    options = options or StepOptions()
    if options.channels_last and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    with _autocast(images, options):
        outputs = model(images)
        loss = (options.task.loss if options.task is not None else options.loss_fn)(outputs, labels)
        aux = auxiliary_logits(model) if options.aux_weight and options.task is None else []
        aux_loss = sum(options.loss_fn(logits, labels) for logits in aux) if aux else None
    objective = loss.float() if aux_loss is None else loss.float() + options.aux_weight * aux_loss.float()
    if options.loss_weight is not None:
        objective = objective * options.loss_weight(len(labels))
    if options.l1:
        objective = objective + options.l1 * l1_penalty(options.l1_parameters)
    optimizer.zero_grad(set_to_none=True)
    if options.scaler is not None:
        options.scaler.scale(objective).backward()
        options.scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
    else:
        objective.backward()
    if options.clip_grad_norm:
        nn.utils.clip_grad_norm_(model.parameters(), options.clip_grad_norm)
    if options.scaler is not None:
        options.scaler.step(optimizer)  # skips the step when the gradients overflowed
        options.scaler.update()
    else:
        optimizer.step()
    if options.task is not None:  # the task's meter reads the outputs
        return {"loss": loss.detach(), "outputs": outputs.detach().float(), "count": len(labels)}
    correct = (outputs.detach().argmax(dim=1) == labels).sum()
    return {"loss": loss.detach(), "correct": correct, "count": len(labels)}


@torch.no_grad()
def evaluate(model: nn.Module, batches: Batches, num_classes: int, loss_fn=F.cross_entropy,
             options: StepOptions | None = None) -> dict:
    """Loss, accuracy, top-5 error, per-class accuracy and confusion counts (rows: true class, columns:
    predicted), accumulated batch by batch and summed over DDP ranks when ``options.reduce`` is set; with
    ``options.task``, the figures of the task's meter (mean IoU, keypoint RMSE, ...)."""
    options = options or StepOptions()
    was_training = model.training
    model.eval()
    task = options.task
    meter = task.meter() if task is not None else ClassificationMeter(num_classes)
    loss_fn = task.loss if task is not None else loss_fn
    for images, labels in batches:
        if options.channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        with _autocast(images, options):
            outputs = model(images)
        outputs = outputs.float()
        meter.update(outputs, labels, float(loss_fn(outputs, labels, reduction="sum")))
    model.train(was_training)
    if options.reduce is not None and task is None:
        meter.load_totals(options.reduce(meter.totals()))
    return meter.result()


@dataclass
class LoopState:
    """Where a run is: enough to resume mid-epoch exactly (stored in the checkpoint)."""

    epoch: int = 1  # the epoch in progress (1-based)
    step: int = 0  # optimizer steps done in all
    batch: int = 0  # batches done in the current epoch
    loss_sum: float = 0.0  # current epoch's running sums (for its mean train loss and accuracy)
    correct: int = 0
    count: int = 0
    seconds: float = 0.0


def train_epoch(model, optimizer, batches: Batches, schedule=None, options: StepOptions | None = None,
                state: LoopState | None = None, on_step: Callable | None = None) -> dict:
    """One pass over ``batches`` from ``state.batch`` on (earlier batches are drawn and skipped, so the
    random stream is the same as in an uninterrupted pass); stops with TrainingDivergedError on a NaN or
    infinite loss."""
    state = state if state is not None else LoopState()
    task = options.task if options is not None else None
    meter = task.meter() if task is not None else None  # a task's figures over the epoch
    model.train()
    started = time.perf_counter() - state.seconds
    for index, (images, labels) in enumerate(batches):
        if index < state.batch:
            continue
        lr = optimizer.param_groups[0]["lr"]  # the rate this step uses
        figures = train_step(model, images, labels, optimizer, options)
        loss = float(figures["loss"])
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"the loss became {loss} at step {state.step + 1} (epoch {state.epoch}); likely causes: a learning rate "
                "too high (try a 10x smaller optim.lr or a warm-up), missing input normalisation, or bad data"
            )
        if schedule is not None:
            schedule.step()
        state.step += 1
        state.batch += 1
        state.loss_sum += loss * figures["count"]
        if meter is not None:
            meter.update(figures["outputs"], labels, loss * figures["count"])
        else:
            state.correct += int(figures["correct"])
        state.count += figures["count"]
        state.seconds = time.perf_counter() - started
        if on_step is not None:
            on_step({"step": state.step, "loss": loss, "images": state.count, "seconds": state.seconds, "lr": lr,
                     **({"accuracy": state.correct / state.count} if meter is None else {})})
    totals = _epoch_totals(state, options)
    totals["quality"] = task_figures(meter.result()) if meter is not None else {"accuracy": totals["accuracy"]}
    return totals


def task_figures(result: dict) -> dict:
    """The single-number figures of a task meter's result (mean IoU, RMSE, ...), without counts and loss."""
    return {name: value for name, value in result.items() if isinstance(value, float) and name != "loss"}


def _epoch_totals(state: LoopState, options: StepOptions | None) -> dict:
    totals = torch.tensor([state.loss_sum, state.correct, state.count], dtype=torch.float64)
    if options is not None and options.reduce is not None:
        totals = options.reduce(totals)
    loss_sum, correct, count = totals.tolist()
    count = max(count, 1)
    return {"loss": loss_sum / count, "accuracy": correct / count, "steps": state.step, "seconds": state.seconds,
            "images_per_second": count / max(state.seconds, 1e-9)}


def fit(model, optimizer, train_loader, val_loader=None, epochs: int = 1, schedule=None, num_classes: int = 0,
        on_step: Callable | None = None, on_epoch: Callable | None = None, options: StepOptions | None = None,
        state: LoopState | None = None, loss_fn=None) -> list[dict]:
    """Train until epoch ``epochs`` (from ``state``, to resume); after each epoch, evaluate on ``val_loader``
    and call ``on_epoch(figures)``, which may return True to stop early.

    Returns one dict of figures per epoch trained here (train and validation loss and accuracy, the
    learning rate at the epoch's start, time and throughput).
    """
    state = state if state is not None else LoopState()
    options = options or StepOptions()
    history: list[dict] = []
    while state.epoch <= epochs:
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(state.epoch)
        lr = optimizer.param_groups[0]["lr"]
        train = train_epoch(model, optimizer, train_loader, schedule, options, state, on_step)
        figures = {"epoch": state.epoch, "step": state.step, "lr": lr, "train_loss": train["loss"],
                   **{f"train_{name}": value for name, value in train["quality"].items()}, "seconds": train["seconds"],
                   "images_per_second": train["images_per_second"]}
        if val_loader is not None and options.task is not None:
            val = evaluate(model, val_loader, 0, options=options)
            figures.update(val_loss=val["loss"], **{f"val_{name}": value for name, value in task_figures(val).items()})
        elif val_loader is not None:
            val = evaluate(model, val_loader, num_classes or int(model.num_classes), loss_fn or options.loss_fn, options)
            figures.update(val_loss=val["loss"], val_accuracy=val["accuracy"], val_top5_error=val["top5_error"])
        history.append(figures)
        state.epoch, state.batch, state.loss_sum, state.correct, state.count, state.seconds = state.epoch + 1, 0, 0.0, 0, 0, 0.0
        if on_epoch is not None and on_epoch(figures):
            break
    return history
