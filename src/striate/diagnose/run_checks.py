"""Run every check for a recipe: the data, a fresh model, and the table's rows in order.

>>> from striate.training.config import load_recipe
>>> results = run_checks(load_recipe("recipes/lenet5-mnist.yaml"))   # doctest: +SKIP
"""

import time
from collections.abc import Callable
from dataclasses import replace

import torch

from striate.console import get_logger
from striate.diagnose.checks import CheckSetup, learns_signal, loss_at_init, overfit_tiny, regularisation_increases_loss
from striate.diagnose.data_checks import data_checks
from striate.diagnose.gradcheck import gradient_check
from striate.diagnose.layer_stats import activation_check, gradient_norm_check
from striate.diagnose.report import CheckResult
from striate.diagnose.lr_finder import find_lr
from striate.session import Prepared, make_loader, prepare, resolve_device, seed_everything
from striate.session.prepare import build_model
from striate.training.optim import build_optimizer

GRADCHECK_BATCH = 4  # finite differences cost two forward passes per entry: keep the batch small
STATS_BATCH = 128
SUBSET = 500
# the model checks in order, named for the progress lines (each result names itself)
MODEL_CHECKS = ("loss at init", "regularisation raises the loss", "gradient check", "activations at init",
                "gradient norms at init", "overfit a tiny sample", "learns beyond chance")

_log = get_logger(__name__)


def _first(prepared: Prepared, split: str, config, device, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` images of a split (in a seeded random order), normalised, with their labels."""
    part = prepared.splits[split]
    order = torch.randperm(len(part), generator=torch.Generator().manual_seed(config.run.seed))[:count]
    subset = replace(prepared, splits={split: part.subset(order)})
    images, labels = zip(*make_loader(subset, split, config, device, train=False))
    return torch.cat(images), torch.cat(labels)


def build_setup(config, device=None) -> tuple[CheckSetup, object]:
    """A :class:`CheckSetup` from a configuration, plus the prepared data (for the data checks)."""
    device = device or resolve_device(config.run.device)
    prepared = prepare(config)
    num_classes = len(prepared.names)
    train_images, train_labels = _first(prepared, "train", config, device, SUBSET)
    val_images, val_labels = _first(prepared, "val", config, device, SUBSET)
    setup = CheckSetup(lambda: build_model(config, prepared).to(device), train_images, train_labels,
                       val_images, val_labels, num_classes, config.optim.lr, config.optim.momentum,
                       config.optim.weight_decay, config.run.seed)
    return setup, prepared


def model_checks(setup: CheckSetup, on_result: Callable | None = None) -> list[CheckResult]:
    """Every check that needs a model, each on a freshly initialised one."""
    def fresh():
        torch.manual_seed(setup.seed)
        return setup.make_model()

    images, labels = setup.train_images, setup.train_labels
    steps = [
        lambda: loss_at_init(setup),
        lambda: regularisation_increases_loss(setup),
        lambda: gradient_check(fresh(), images[:GRADCHECK_BATCH], labels[:GRADCHECK_BATCH], seed=setup.seed),
        lambda: activation_check(fresh(), images[:STATS_BATCH]),
        lambda: gradient_norm_check(fresh(), images[:STATS_BATCH], labels[:STATS_BATCH]),
        lambda: overfit_tiny(setup),
        lambda: learns_signal(setup),
    ]
    results = []
    for index, (name, step) in enumerate(zip(MODEL_CHECKS, steps), start=1):
        _log.info(f"check: {name} ({index}/{len(steps)}) ...")
        started = time.perf_counter()
        results.append(step())
        _log.info(f"check: {results[-1].name}: {results[-1].verdict.upper()} in {time.perf_counter() - started:.1f}s")
        if on_result is not None:
            on_result(results[-1])
    return results


def run_checks(config, on_result: Callable | None = None) -> list[CheckResult]:
    """The data checks on the recipe's splits, then the model checks; ``on_result`` sees each as it ends."""
    device = resolve_device(config.run.device)
    _log.info("check: reading the data ...")
    setup, prepared = build_setup(config, device)
    _log.info("check: the data checks (label balance, NaN / Inf, normalisation, train/test overlap) ...")
    results = data_checks(make_loader(prepared, "train", config, device, train=False),
                          make_loader(prepared, "test", config, device, train=False),
                          setup.num_classes, prepared.names)
    for result in results:
        _log.info(f"check: {result.name}: {result.verdict.upper()}")
        if on_result is not None:
            on_result(result)
    return results + model_checks(setup, on_result)


def find_lr_for(config, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100):
    """The learning-rate range test on ``config``'s model and training split (``striate lr-find`` and
    ``striate.lr_find``): a fresh model, the recipe's optimizer, the rate swept from ``start_lr`` to ``end_lr``."""
    device = resolve_device(config.run.device)
    seed_everything(config.run.seed)
    _log.info("lr-find: reading the data ...")
    prepared = prepare(config)
    model = build_model(config, prepared).to(device)
    optimizer = build_optimizer(model, config.optim)
    _log.info(f"lr-find: {config.model.name}, the learning rate from {start_lr:.2g} to {end_lr:.2g} over {steps} "
              "mini-batches ...")
    return find_lr(model, optimizer, make_loader(prepared, "train", config, device, train=True), start_lr, end_lr, steps)
