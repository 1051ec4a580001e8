"""k-fold cross-validation: one training run per fold, then the mean and spread of the figures.

Each fold is an ordinary run (its own directory, named ``<name>-fold<k>``) whose validation
split is fold ``k`` of a stratified, seeded partition of the training data (see
:func:`striate.data.splits.kfold_split`); the test split is the same in every fold.

>>> from striate.train.config import Config
>>> result = cross_validate(Config(), folds=5)   # doctest: +SKIP
>>> result["val_accuracy"]["mean"], result["val_accuracy"]["std"]   # doctest: +SKIP
(0.981, 0.003)
"""

import copy
import statistics
from pathlib import Path

from striate.errors import ConfigError
from striate.pipeline import train_from_config
from striate.train.checkpoint import atomic_write_json
from striate.train.config import Config

FIGURES = ("best_val_accuracy", "test_accuracy", "final_train_accuracy")


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values), "min": min(values),
            "max": max(values), "values": values}


def cross_validate(config: Config, folds: int, recipe_name: str = "run", stream=None) -> dict:
    """Train ``folds`` runs, fold k as validation in run k; returns per-fold summaries and for each
    figure its mean, standard deviation, min and max. Also writes ``<out_dir>/<name>-crossval.json``."""
    if folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {folds}; e.g. --folds 5")
    base = config.run.name or recipe_name
    summaries = []
    for fold in range(folds):
        fold_config = copy.deepcopy(config)
        fold_config.data.folds, fold_config.data.fold = folds, fold
        fold_config.run.name = f"{base}-fold{fold + 1}" if config.run.name else None
        result = train_from_config(fold_config, f"{recipe_name}-fold{fold + 1}", stream)
        summaries.append(result["summary"])
    report = {"folds": folds, "runs": [s["run"] for s in summaries]}
    report |= {figure.removeprefix("best_"): _spread([float(s[figure]) for s in summaries])
               for figure in FIGURES if all(s.get(figure) is not None for s in summaries)}
    path = Path(config.run.out_dir) / f"{base}-crossval.json"
    atomic_write_json(path, report)
    return report | {"report_file": str(path)}
