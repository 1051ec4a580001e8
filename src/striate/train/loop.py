"""The training loop you can read: ``train_step``, ``evaluate`` and ``fit``, each returning figures.

>>> history = fit(model, optimizer, train_loader, val_loader, epochs=5)   # doctest: +SKIP
>>> history[-1]["val_accuracy"]                                          # doctest: +SKIP
0.981
"""

import math
import time
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from striate.errors import TrainingDivergedError

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn=F.cross_entropy, task=None) -> dict:
    """One step of mini-batch gradient descent; returns the batch's loss and correct count (tensors).

    With a ``task`` (see striate.tasks: keypoints, segmentation, autoencoder) the loss is the task's and
    the detached outputs are returned instead of the correct count, for the task's meter."""
    logits = model(images)
    loss = (task.loss if task is not None else loss_fn)(logits, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if task is not None:
        return {"loss": loss.detach(), "outputs": logits.detach(), "count": len(labels)}
    return {"loss": loss.detach(), "correct": (logits.detach().argmax(dim=1) == labels).sum(), "count": len(labels)}


@torch.no_grad()
def evaluate(model: nn.Module, batches: Batches, num_classes: int, loss_fn=F.cross_entropy, task=None) -> dict:
    """Loss, accuracy, per-class accuracy and confusion counts (rows: true class, columns: predicted);
    with a ``task``, the figures of its meter (e.g. mean IoU, keypoint RMSE).

    Counts are accumulated batch by batch: all the logits are never held in memory.
    """
    if task is not None:
        return _evaluate_task(model, batches, task)
    was_training = model.training
    model.eval()
    total_loss, confusion = 0.0, None
    for images, labels in batches:
        logits = model(images)
        total_loss += float(loss_fn(logits, labels, reduction="sum"))
        pairs = labels * num_classes + logits.argmax(dim=1)
        counts = torch.bincount(pairs, minlength=num_classes * num_classes).view(num_classes, num_classes)
        confusion = counts if confusion is None else confusion + counts
    model.train(was_training)
    if confusion is None:
        return {"loss": float("nan"), "accuracy": float("nan"), "count": 0, "per_class_accuracy": [], "confusion": []}
    confusion = confusion.cpu()
    count = int(confusion.sum())
    per_class = (confusion.diag().double() / confusion.sum(dim=1).clamp_min(1)).tolist()
    return {
        "loss": total_loss / count,
        "accuracy": float(confusion.diag().sum()) / count,
        "count": count,
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }


def _evaluate_task(model: nn.Module, batches: Batches, task) -> dict:
    was_training = model.training
    model.eval()
    meter = task.meter()
    for images, targets in batches:
        outputs = model(images)
        meter.update(outputs, targets, float(task.loss(outputs, targets, reduction="sum")))
    model.train(was_training)
    return meter.result()


def train_epoch(model, optimizer, batches: Batches, schedule=None, on_step: Callable | None = None,
                first_step: int = 0, task=None) -> dict:
    """One pass over ``batches``; stops with TrainingDivergedError on a NaN or infinite loss."""
    model.train()
    total_loss, correct, count, step = 0.0, 0, 0, first_step
    meter = task.meter() if task is not None else None
    started = time.perf_counter()
    for images, labels in batches:
        figures = train_step(model, images, labels, optimizer, task=task)
        loss = float(figures["loss"])
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"the loss became {loss} at step {step}; likely causes: a learning rate too high "
                "(try a 10x smaller optim.lr), missing input normalisation, or bad data"
            )
        if schedule is not None:
            schedule.step()
        step += 1
        total_loss += loss * figures["count"]
        count += figures["count"]
        if meter is not None:
            meter.update(figures["outputs"], labels, loss * figures["count"])
        else:
            correct += int(figures["correct"])
        if on_step is not None:
            on_step({"step": step, "loss": loss, "images": count, "seconds": time.perf_counter() - started,
                     **({"accuracy": correct / count} if meter is None else {})})
    seconds = time.perf_counter() - started
    quality = {"accuracy": correct / max(count, 1)} if meter is None else task_figures(meter.result())
    return {"loss": total_loss / max(count, 1), **quality, "quality": quality, "steps": step,
            "seconds": seconds, "images_per_second": count / max(seconds, 1e-9)}


def task_figures(result: dict) -> dict:
    """The single-number figures of a task meter's result (mean IoU, RMSE, ...), without the counts and loss."""
    return {name: value for name, value in result.items()
            if isinstance(value, float) and name != "loss"}


def fit(model, optimizer, train_loader, val_loader=None, epochs: int = 1, schedule=None, num_classes: int = 0,
        on_step: Callable | None = None, on_epoch: Callable | None = None, task=None) -> list[dict]:
    """Train for ``epochs`` epochs; after each, evaluate on ``val_loader`` and call ``on_epoch(figures)``.

    Returns one dict of figures per epoch (train and validation loss and accuracy, the learning rate,
    time and throughput); with a ``task``, its figures (train_miou, val_rmse, ...) instead of accuracy.
    """
    history: list[dict] = []
    step = 0
    for epoch in range(1, epochs + 1):
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(epoch)
        lr = optimizer.param_groups[0]["lr"]
        train = train_epoch(model, optimizer, train_loader, schedule, on_step, first_step=step, task=task)
        step = train["steps"]
        figures = {"epoch": epoch, "step": step, "lr": lr, "train_loss": train["loss"],
                   **{f"train_{name}": value for name, value in train["quality"].items()},
                   "seconds": train["seconds"], "images_per_second": train["images_per_second"]}
        if val_loader is not None:
            val = evaluate(model, val_loader, num_classes if task is not None else num_classes or _infer_classes(model),
                           task=task)
            quality = task_figures(val) if task is not None else {"accuracy": val["accuracy"]}
            figures.update(val_loss=val["loss"], **{f"val_{name}": value for name, value in quality.items()})
        history.append(figures)
        if on_epoch is not None:
            on_epoch(figures)
    return history


def _infer_classes(model: nn.Module) -> int:
    return int(getattr(model, "num_classes"))
