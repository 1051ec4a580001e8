"""The watched figure: the one validation (or training) figure that picks the best weights, stops early,
drives the plateau schedule and marks compare's targets, with the direction in which it is better.

A task says which figures it has and which way each is better (striate.tasks); the name in a recipe
(``optim.watch: val_miou``) becomes a :class:`Watch` where the config is read, never a guess from its spelling.

>>> watch = Watch("val_accuracy", higher_is_better=True)
>>> watch.better(0.91, 0.90), watch.better(0.89, 0.90), watch.mode
(True, False, 'max')
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Watch:
    name: str  # a key of each epoch's figures, e.g. val_accuracy, val_loss, val_miou, train_loss
    higher_is_better: bool
    last_because: str = ""  # why the figure cannot choose an epoch (too few validation images): the last is best

    @property
    def mode(self) -> str:
        """'max' or 'min', as torch's ReduceLROnPlateau spells the direction."""
        return "max" if self.higher_is_better else "min"

    def better(self, value: float | None, best: float | None) -> bool:
        """Whether ``value`` beats ``best``. No figure (None) or NaN: the latest weights count as the best,
        so a run without a validation figure still keeps its last epoch as best; so does a watch that keeps
        the last epoch (early stopping never fires then)."""
        if self.last_because or value is None or math.isnan(value) or best is None or math.isnan(best):
            return True
        return value > best if self.higher_is_better else value < best

    def reached(self, value: float | None, target: float) -> bool:
        """Whether ``value`` is at ``target`` or beyond it in the better direction (None: not reached)."""
        if value is None or math.isnan(value):
            return False
        return value >= target if self.higher_is_better else value <= target
