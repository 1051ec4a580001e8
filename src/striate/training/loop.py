"""The training loop you can read: ``train_step``, ``evaluate``, ``train_epoch`` and ``fit``, each
returning figures. Two hook points: ``on_step(figures)`` and ``on_epoch(figures)`` (which may return
True to stop, as early stopping does).

No host sync in the step: the loss, its running sum and the training meter's counts stay on the device
(``on_step`` gets the batch's loss and the running figures as 0-d tensors; reading one waits for a GPU).
They are read once every ``StepOptions.read_every`` steps, before a checkpoint and at the epoch's end
(:meth:`LoopState.read`), which is also where a NaN or infinite loss stops the run.

What is learned comes from a *task* (striate.tasks: classification, keypoints, segmentation, autoencoder):
its ``loss(outputs, targets)``, its ``evaluation_loss``, its ``meter()`` for held-out figures and its
``train_meter()`` for a training epoch's; the loop itself never asks which task it runs.

>>> history = fit(model, optimizer, train_loader, val_loader, ClassificationTask(10), epochs=5)   # doctest: +SKIP
>>> history[-1]["val_accuracy"]                                                                 # doctest: +SKIP
0.981
"""

import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

import torch
from torch import nn

from striate.errors import TrainingDivergedError
from striate.training.mixing import mixed_loss
from striate.training.regularize import l1_penalty

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class StepOptions:
    """How a step is taken beyond forward, backward, update."""

    l1: float = 0.0  # L1 penalty weight, on l1_parameters
    l1_parameters: list = field(default_factory=list)
    clip_grad_norm: float = 0.0  # 0: no clipping
    autocast_dtype: torch.dtype | None = None  # torch.bfloat16 / torch.float16, or None for fp32
    scaler: torch.amp.GradScaler | None = None  # fp16 loss scaling
    channels_last: bool = False  # convert 4-D inputs to NHWC
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None  # sums a tensor over DDP ranks
    loss_weight: Callable[[int], float] | None = None  # batch size -> loss multiplier (DDP's uneven last batch)
    aux_weight: float = 0.0  # weight of auxiliary classifiers' losses (GoogLeNet's model.aux_logits; paper: 0.3)
    read_every: int = 100  # steps between reads of the losses on the host (the NaN check): each read waits for a GPU


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


def train_step(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, optimizer: torch.optim.Optimizer,
               task, options: StepOptions | None = None) -> dict:
    """One step of mini-batch gradient descent on ``task``'s loss; returns the batch's loss (a tensor), the
    detached outputs (for the task's meter) and the batch size."""
    options = options or StepOptions()
    if options.channels_last and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    with _autocast(images, options):
        outputs = model(images)
        loss = mixed_loss(task.loss, outputs, targets)  # task.loss(outputs, targets) unless mixup/cutmix mixed them
        aux = auxiliary_logits(model) if options.aux_weight else []
        aux_loss = sum(mixed_loss(task.loss, logits, targets) for logits in aux) if aux else None
    objective = loss.float() if aux_loss is None else loss.float() + options.aux_weight * aux_loss.float()
    if options.loss_weight is not None:
        objective = objective * options.loss_weight(len(targets))
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
    return {"loss": loss.detach(), "outputs": outputs.detach().float(), "count": len(targets)}


@torch.no_grad()
def evaluate(model: nn.Module, batches: Batches, task, options: StepOptions | None = None) -> dict:
    """The figures of ``task``'s meter over ``batches`` (loss, and accuracy, top-5 error, per-class accuracy
    and confusion counts for a classifier; mean IoU, keypoint RMSE, ... for the other tasks), accumulated
    batch by batch and summed over DDP ranks when ``options.reduce`` is set."""
    options = options or StepOptions()
    was_training = model.training
    model.eval()
    meter = task.meter()
    for images, targets in batches:
        if options.channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        with _autocast(images, options):
            outputs = model(images)
        outputs = outputs.float()
        meter.update(outputs, targets, float(task.evaluation_loss(outputs, targets, reduction="sum")))
    model.train(was_training)
    if options.reduce is not None:
        meter.load_totals(options.reduce(meter.totals()))
    return meter.result()


def diverged(loss: float, step: int, epoch: int) -> TrainingDivergedError:
    """The error of a run whose loss became ``loss`` (NaN or infinite) at ``step``."""
    return TrainingDivergedError(
        f"the loss became {loss} at step {step} (epoch {epoch}); likely causes: a learning rate "
        "too high (try a 10x smaller optim.lr or a warm-up), missing input normalisation, or bad data")


@dataclass
class LoopState:
    """Where a run is: enough to resume mid-epoch exactly (stored in the checkpoint)."""

    epoch: int = 1  # the epoch in progress (1-based)
    step: int = 0  # optimizer steps done in all
    batch: int = 0  # batches done in the current epoch
    loss_sum: float | torch.Tensor = 0.0  # current epoch's running loss sum (for its mean train loss), on the device
    count: int = 0  # images of the current epoch so far
    seconds: float = 0.0
    epoch_lr: float | None = None  # the learning rate at the epoch's first step (its logged rate)
    meter: object = None  # the epoch's training meter; in a checkpoint, its totals (a float64 tensor)
    unread: list = field(default_factory=list, repr=False)  # (step, loss tensor) of the steps not yet read

    @classmethod
    def from_checkpoint(cls, saved: dict) -> "LoopState":
        known = {f.name for f in fields(cls)} - {"unread"}
        return cls(**{key: value for key, value in saved.items() if key in known})

    def to_checkpoint(self) -> dict:
        """The counters as numbers, after :meth:`read` (so no checkpoint follows a loss that is not finite)."""
        self.read()
        saved = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "unread"}
        saved["loss_sum"] = float(self.loss_sum)
        saved["meter"] = self.meter.totals() if hasattr(self.meter, "totals") else None
        return saved

    def record(self, loss: torch.Tensor, count: int) -> torch.Tensor:
        """Count one step's loss (a 0-d tensor) on the device, without reading it; returns its sum over the batch."""
        total = loss.detach().to(torch.float32 if loss.device.type == "mps" else torch.float64) * count
        self.loss_sum = self.loss_sum + total
        self.unread.append((self.step + 1, loss.detach()))
        return total

    def read(self) -> list[tuple[int, float]]:
        """The losses of the steps not yet read, as (step, number): one wait for the device for all of them.
        Raises TrainingDivergedError at the first that is NaN or infinite."""
        if not self.unread:
            return []
        steps, losses = zip(*self.unread)
        self.unread = []
        read = list(zip(steps, torch.stack(losses).tolist()))
        for step, loss in read:
            if not math.isfinite(loss):
                raise diverged(loss, step, self.epoch)
        return read

    def next_epoch(self) -> None:
        self.epoch, self.batch, self.loss_sum, self.count, self.seconds = self.epoch + 1, 0, 0.0, 0, 0.0
        self.epoch_lr, self.meter, self.unread = None, None, []


def _epoch_meter(task, state: LoopState):
    """The training meter of the epoch in progress, with the counts it had at a mid-epoch checkpoint."""
    meter = task.train_meter()
    if isinstance(state.meter, torch.Tensor):
        meter.load_totals(state.meter)
    elif state.meter is not None:
        meter = state.meter
    state.meter = meter
    return meter


def train_epoch(model, optimizer, batches: Batches, task, schedule=None, options: StepOptions | None = None,
                state: LoopState | None = None, on_step: Callable | None = None) -> dict:
    """One pass over ``batches`` from ``state.batch`` on (earlier batches are drawn and skipped, so the
    random stream is the same as in an uninterrupted pass); stops with TrainingDivergedError on a NaN or
    infinite loss, found where the losses are read (every ``options.read_every`` steps and at the end).
    Returns the epoch's mean loss, the figures of the task's training meter, and times."""
    state = state if state is not None else LoopState()
    read_every = max(1, options.read_every if options is not None else StepOptions.read_every)
    meter = _epoch_meter(task, state)
    model.train()
    started = time.perf_counter() - state.seconds
    for index, (images, targets) in enumerate(batches):
        if index < state.batch:
            continue
        lr = optimizer.param_groups[0]["lr"]  # the rate this step uses
        if state.epoch_lr is None:
            state.epoch_lr = lr
        figures = train_step(model, images, targets, optimizer, task, options)
        loss_sum = state.record(figures["loss"], figures["count"])  # stays on the device: no host sync
        if schedule is not None:
            schedule.step()
        state.step += 1
        state.batch += 1
        meter.update(figures["outputs"], targets, loss_sum)
        state.count += figures["count"]
        if state.step % read_every == 0:
            state.read()  # the NaN check: one wait for the device every read_every steps
        state.seconds = time.perf_counter() - started
        if on_step is not None:
            running = meter.running() if hasattr(meter, "running") else {}
            on_step({"step": state.step, "loss": figures["loss"], "images": state.count, "seconds": state.seconds,
                     "lr": lr, **running})
    state.read()
    state.seconds = time.perf_counter() - started  # after the read: the device has done the epoch's work
    return _epoch_totals(state, meter, options)


def task_figures(result: dict) -> dict:
    """The single-number figures of a meter's result (accuracy, mean IoU, RMSE, ...), without counts and loss."""
    return {name: value for name, value in result.items() if isinstance(value, float) and name != "loss"}


def _epoch_totals(state: LoopState, meter, options: StepOptions | None) -> dict:
    totals = torch.tensor([float(state.loss_sum), state.count], dtype=torch.float64)
    if options is not None and options.reduce is not None:
        totals = options.reduce(totals)
        meter.load_totals(options.reduce(meter.totals()))
    loss_sum, count = totals.tolist()
    return {"loss": loss_sum / max(count, 1), "quality": task_figures(meter.result()), "steps": state.step,
            "seconds": state.seconds, "images_per_second": count / max(state.seconds, 1e-9)}


def held_out_figures(prefix: str, result: dict) -> dict:
    """An evaluation's loss and single-number figures, named ``<prefix>_loss``, ``<prefix>_accuracy``, ..."""
    return {f"{prefix}_loss": result["loss"], **{f"{prefix}_{name}": value for name, value in task_figures(result).items()}}


def fit(model, optimizer, train_loader, val_loader, task, epochs: int = 1, schedule=None,
        on_step: Callable | None = None, on_epoch: Callable | None = None, options: StepOptions | None = None,
        state: LoopState | None = None, before_epoch: Callable | None = None, train_sample=None) -> list[dict]:
    """Train ``task`` until epoch ``epochs`` (from ``state``, to resume); after each epoch, evaluate on
    ``train_sample`` (a fixed sample of the training split, without augmentation) and on ``val_loader``, and
    call ``on_epoch(figures)``, which may return True to stop early. ``before_epoch(epoch)`` runs before each
    epoch's first batch (a fine-tune un-freezes its layers there).

    Returns one dict of figures per epoch trained here: ``train_loss`` and ``train_<figure>`` (the running
    figures of the epoch: weights changing under them, dropout and augmentation on), ``train_eval_loss`` and
    ``train_eval_<figure>`` (the weights at the epoch's end on ``train_sample`` in eval mode, as validation
    is measured: the training figure to set against validation), ``val_loss`` and ``val_<figure>``, the
    learning rate of the epoch's first step, time and throughput.
    """
    state = state if state is not None else LoopState()
    options = options or StepOptions()
    history: list[dict] = []
    while state.epoch <= epochs:
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(state.epoch)
        if before_epoch is not None:
            before_epoch(state.epoch)
        train = train_epoch(model, optimizer, train_loader, task, schedule, options, state, on_step)
        lr = state.epoch_lr if state.epoch_lr is not None else optimizer.param_groups[0]["lr"]
        figures = {"epoch": state.epoch, "step": state.step, "lr": lr, "train_loss": train["loss"],
                   **{f"train_{name}": value for name, value in train["quality"].items()}, "seconds": train["seconds"],
                   "images_per_second": train["images_per_second"]}
        if train_sample is not None:
            figures.update(held_out_figures("train_eval", evaluate(model, train_sample, task, options)))
        if val_loader is not None:
            figures.update(held_out_figures("val", evaluate(model, val_loader, task, options)))
        history.append(figures)
        state.next_epoch()
        if on_epoch is not None and on_epoch(figures):
            break
    return history
