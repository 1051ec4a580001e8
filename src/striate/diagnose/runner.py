"""Run every check for a recipe: the data, a fresh model, and the table's rows in order.

>>> from striate.train.config import load_recipe
>>> results = check_config(load_recipe("recipes/lenet5-mnist.yaml"))   # doctest: +SKIP
"""

from collections.abc import Callable

import torch

from striate.diagnose.checks import CheckSetup, learns_signal, loss_at_init, overfit_tiny, regularisation_increases_loss
from striate.diagnose.data_checks import data_checks
from striate.diagnose.gradcheck import gradient_check
from striate.diagnose.layer_stats import activation_check, gradient_norm_check
from striate.diagnose.report import CheckResult

GRADCHECK_BATCH = 4  # finite differences cost two forward passes per entry: keep the batch small
STATS_BATCH = 128
SUBSET = 500


def _first(part, preprocess: dict, config, device, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` images of a split (in a seeded random order), normalised, with their labels."""
    from striate.pipeline import make_loader

    order = torch.randperm(len(part), generator=torch.Generator().manual_seed(config.run.seed))[:count]
    loader = make_loader(part.subset(order), preprocess, config, device, train=False)
    return loader.normalize(loader.data.images), loader.data.labels


def build_setup(config, device=None) -> tuple[CheckSetup, object]:
    """A :class:`CheckSetup` from a configuration, plus the prepared data (for the data checks)."""
    from striate.models import create_model
    from striate.pipeline import model_arguments, prepare_data, resolve_device

    device = device or resolve_device(config.run.device)
    prepared = prepare_data(config)
    splits, preprocess = prepared.splits, prepared.preprocess
    num_classes = len(splits["train"].class_names)
    arguments = model_arguments(config, num_classes, preprocess)
    train_images, train_labels = _first(splits["train"], preprocess, config, device, SUBSET)
    val_images, val_labels = _first(splits["val"], preprocess, config, device, SUBSET)
    setup = CheckSetup(lambda: create_model(config.model.name, **arguments).to(device), train_images, train_labels,
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
    for step in steps:
        results.append(step())
        if on_result is not None:
            on_result(results[-1])
    return results


def check_config(config, on_result: Callable | None = None) -> list[CheckResult]:
    """The data checks on the recipe's splits, then the model checks; ``on_result`` sees each as it ends."""
    from striate.pipeline import make_loader, resolve_device

    device = resolve_device(config.run.device)
    setup, prepared = build_setup(config, device)
    splits, preprocess = prepared.splits, prepared.preprocess
    results = data_checks(make_loader(splits["train"], preprocess, config, device, train=False),
                          make_loader(splits["test"], preprocess, config, device, train=False),
                          setup.num_classes, splits["train"].class_names)
    if on_result is not None:
        for result in results:
            on_result(result)
    return results + model_checks(setup, on_result)
