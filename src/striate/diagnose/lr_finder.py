"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3).

The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over ``num_steps`` mini-batches
while the loss is recorded; the test stops early once the smoothed loss exceeds 4x its minimum.
The suggestion is a tenth of the rate at the minimum of the smoothed loss: the loss still falls
fast there and is far from the edge where training blows up. The model, the optimizer, the
gradients and the random number generators are restored afterwards: the test has no side effects.

>>> result = find_lr(model, optimizer, train_loader)   # doctest: +SKIP
>>> result.suggested_lr                                # doctest: +SKIP
0.0316
"""

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from striate.console import get_logger
from striate.errors import ConfigError

_log = get_logger(__name__)
PROGRESS_LINES = 4  # progress lines over a sweep


@dataclass
class LRFinderResult:
    lrs: list[float]  # the learning rate of each step
    losses: list[float]  # the mini-batch loss at each step
    smoothed: list[float]  # exponentially smoothed, bias-corrected loss
    suggested_lr: float  # a tenth of the rate at the smoothed minimum
    min_loss_lr: float  # the rate at the smoothed minimum
    steepest_lr: float  # the rate where the smoothed loss falls fastest (per log10 of the rate)
    stopped_early: bool  # the loss blew up before end_lr


def ensure_single_process(world_size: int, rank: int, rank_zero_only: bool, distributed_model: bool) -> None:
    """Refuse to run inside a multi-process job unless asked to run on rank 0 alone, with a plain model."""
    if world_size <= 1:
        return
    if not rank_zero_only:
        raise ConfigError(
            f"the LR finder runs in one process, but torch.distributed is initialised with {world_size} processes; "
            "run 'striate lr-find' without torchrun, or call find_lr on rank 0 only with rank_zero_only=True")
    if rank != 0:
        raise ConfigError(f"find_lr was called on rank {rank} with rank_zero_only=True; call it on rank 0 only")
    if distributed_model:
        raise ConfigError("the model is wrapped in DistributedDataParallel, whose backward waits for every rank; "
                          "pass the unwrapped model (model.module) when running on rank 0 only")


def _check_processes(model: nn.Module, rank_zero_only: bool) -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        wrapped = isinstance(model, nn.parallel.DistributedDataParallel)
        ensure_single_process(dist.get_world_size(), dist.get_rank(), rank_zero_only, wrapped)


def _smooth(losses: list[float], beta: float) -> list[float]:
    average, smoothed = 0.0, []
    for step, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta**step))  # bias correction, as in Adam
    return smoothed


def _sweep(model, optimizer, batches, loss_fn, lrs: list[float], beta: float) -> tuple[list[float], bool]:
    model.train()
    losses: list[float] = []
    best = math.inf
    for lr, (images, labels) in zip(lrs, batches):
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        smoothed = _smooth(losses, beta)[-1]
        best = min(best, smoothed)
        if len(losses) % max(1, len(lrs) // PROGRESS_LINES) == 0:
            _log.info(f"lr-find: step {len(losses)}/{len(lrs)}, lr {lr:.2g}, smoothed loss {smoothed:.4g}")
        if not math.isfinite(smoothed) or smoothed > 4 * best:
            _log.info(f"lr-find: stopped at step {len(losses)}, lr {lr:.2g}: the loss blew up (over 4x its minimum)")
            return losses, True
    return losses, False


def _repeat(loader):
    """Mini-batches from ``loader`` for as long as needed (epoch after epoch)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ConfigError("the LR finder got no mini-batches: the training split is empty")


def find_lr(model: nn.Module, optimizer: torch.optim.Optimizer, loader, start_lr: float = 1e-7,
            end_lr: float = 10.0, num_steps: int = 200, loss_fn=F.cross_entropy, smoothing: float = 0.98,
            rank_zero_only: bool = False) -> LRFinderResult:
    """Sweep the learning rate exponentially over ``num_steps`` mini-batches; restore everything afterwards."""
    if not 0 < start_lr < end_lr or num_steps < 2:
        raise ConfigError(f"the LR range needs 0 < start_lr < end_lr and at least 2 steps, got {start_lr}, {end_lr}, "
                          f"{num_steps}")
    _check_processes(model, rank_zero_only)
    lrs = [start_lr * (end_lr / start_lr) ** (step / (num_steps - 1)) for step in range(num_steps)]
    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    saved_grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    was_training = model.training
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices):
            losses, stopped = _sweep(model, optimizer, _repeat(loader), loss_fn, lrs, smoothing)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        for parameter, grad in zip(model.parameters(), saved_grads):
            parameter.grad = grad
        model.train(was_training)
    return summarize_sweep(lrs[: len(losses)], losses, smoothing, stopped)


def summarize_sweep(lrs: list[float], losses: list[float], smoothing: float, stopped: bool) -> LRFinderResult:
    smoothed = _smooth(losses, smoothing)
    finite = [i for i, value in enumerate(smoothed) if math.isfinite(value)]
    if not finite:
        raise ConfigError("every loss of the LR range test was NaN or infinite: check the data and the model "
                          "('striate check'), or lower --start-lr")
    lowest = min(finite, key=smoothed.__getitem__)
    skip = max(1, len(smoothed) // 10)  # the first steps are noisy while the average warms up
    slopes = [(smoothed[i + 1] - smoothed[i]) / math.log10(lrs[i + 1] / lrs[i])
              for i in range(skip, lowest) if math.isfinite(smoothed[i + 1])]
    steepest = lrs[skip + min(range(len(slopes)), key=slopes.__getitem__)] if slopes else lrs[lowest]
    return LRFinderResult(lrs, losses, smoothed, lrs[lowest] / 10, lrs[lowest], steepest, stopped)


def plot_lr_finder(result: LRFinderResult, path=None):
    """The smoothed loss against the learning rate (log scale), marking the suggestion: written to
    ``path`` as a PNG (its path returned), or without a path the matplotlib Figure (for a notebook)."""
    from striate.tasks.pictures import blank_figure, finish_figure

    figure = blank_figure(6, 4, dpi=100)
    axes = figure.add_subplot()
    axes.plot(result.lrs, result.losses, color="0.8", linewidth=0.8, label="mini-batch loss")
    axes.plot(result.lrs, result.smoothed, color="C0", label="smoothed loss")
    axes.axvline(result.suggested_lr, color="C2", linestyle="--", label=f"suggested lr {result.suggested_lr:.2g}")
    axes.axvline(result.min_loss_lr, color="C3", linestyle=":", label=f"minimum at {result.min_loss_lr:.2g}")
    axes.set_xscale("log")
    finite = [value for value in result.smoothed if math.isfinite(value)]
    axes.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.1)
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss")
    axes.set_title("learning-rate range test")
    axes.legend()
    figure.tight_layout()
    return finish_figure(figure, path, dpi=100, bbox_inches=None)
