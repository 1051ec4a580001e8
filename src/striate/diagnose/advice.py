"""Bias/variance advice from a run's curves (metrics.jsonl), with the course's remedies.

Following the usual reading of learning curves (Ng, "Machine Learning Yearning", ch. 20-23):
avoidable bias = training error - target error (the error a good model can reach),
variance = validation error - training error. Either above ``tolerance`` is "high".
Before that, a run whose loss became infinite or grew is "diverged", and one with high bias
whose training loss is still falling fast is "not converged" (train longer before judging).

>>> history = [{"train_loss": 0.02, "train_accuracy": 1.0, "val_loss": 0.9, "val_accuracy": 0.82}]
>>> advise_history(history).verdict
'high variance'
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

from striate.errors import RunError
from striate.session import RunPaths
from striate.session import read_history as read_run_history

DIVERGED, NOT_CONVERGED, BOTH = "diverged", "not converged", "high bias and high variance"
HIGH_BIAS, HIGH_VARIANCE, HEALTHY = "high bias", "high variance", "healthy"

REMEDIES = {
    DIVERGED: ["lower the learning rate (try 10x smaller, or 'striate lr-find')", "check the input normalisation",
               "check the initialisation ('striate check')"],
    NOT_CONVERGED: ["train longer (more optim.epochs)", "raise the learning rate a little (see 'striate lr-find')"],
    HIGH_BIAS: ["a bigger or deeper model", "train longer", "less regularisation (smaller weight decay, less dropout)"],
    HIGH_VARIANCE: ["more data and data augmentation", "stronger regularisation (larger optim.weight_decay)",
                    "more dropout", "a smaller model"],
    HEALTHY: ["nothing pressing: compare with a stronger model or more data if the target is not reached"],
}
REMEDIES[BOTH] = REMEDIES[HIGH_BIAS][:2] + REMEDIES[HIGH_VARIANCE][:2]


@dataclass
class Advice:
    verdict: str  # one of diverged, not converged, high bias, high variance, both, healthy
    figures: dict  # the figures behind the verdict
    reasons: list[str] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)


def read_history(run_dir: str | Path) -> list[dict]:
    """The per-epoch figures of a run (metrics.jsonl, through the session's one reader)."""
    paths = RunPaths(Path(run_dir))
    if not paths.metrics.is_file():
        raise RunError(f"{run_dir} has no metrics.jsonl: give a run directory made by 'striate train'")
    history = read_run_history(paths)
    if not history:
        raise RunError(f"{paths.metrics} is empty: the run stopped before its first epoch ended")
    return history


def _improvement_per_epoch(losses: list[float], window: int = 3) -> float:
    """Relative fall of the training loss per epoch over the last ``window`` epochs (0 with one epoch)."""
    recent = losses[-window:]
    if len(recent) < 2 or recent[0] <= 0:
        return 0.0
    return (recent[0] - recent[-1]) / ((len(recent) - 1) * recent[0])


def _figures(history: list[dict], target_error: float) -> dict:
    last = history[-1]
    train_error = 1.0 - last["train_accuracy"]
    val_error = 1.0 - last["val_accuracy"] if "val_accuracy" in last else float("nan")
    losses = [entry["train_loss"] for entry in history]
    return {"epochs": len(history), "train_error": train_error, "val_error": val_error,
            "target_error": target_error, "avoidable_bias": train_error - target_error,
            "variance": val_error - train_error, "first_train_loss": losses[0], "last_train_loss": losses[-1],
            "best_train_loss": min(losses), "loss_fall_per_epoch": _improvement_per_epoch(losses)}


def _diverged(figures: dict, history: list[dict]) -> str | None:
    values = [entry.get(key) for entry in history for key in ("train_loss", "val_loss") if key in entry]
    if any(value is None or not math.isfinite(value) for value in values):
        return "a loss became NaN or infinite"
    if len(history) > 1 and figures["last_train_loss"] > figures["first_train_loss"]:
        return f"the training loss grew from {figures['first_train_loss']:.3g} to {figures['last_train_loss']:.3g}"
    if figures["last_train_loss"] > 2 * figures["best_train_loss"] + 0.1:
        return f"the training loss rose to {figures['last_train_loss']:.3g} after reaching {figures['best_train_loss']:.3g}"
    return None


def advise_history(history: list[dict], target_error: float = 0.02, tolerance: float = 0.03) -> Advice:
    """The verdict on a run's curves; ``target_error`` is the error a good model reaches (e.g. human level)."""
    figures = _figures(history, target_error)
    reason = _diverged(figures, history)
    if reason:
        return Advice(DIVERGED, figures, [reason], REMEDIES[DIVERGED])
    bias = figures["avoidable_bias"] > tolerance
    variance = figures["variance"] > tolerance  # NaN (no validation curve) compares False
    still_falling = figures["loss_fall_per_epoch"] > 0.02
    reasons = [f"training error {100 * figures['train_error']:.1f}% vs target {100 * target_error:.1f}% "
               f"(avoidable bias {100 * figures['avoidable_bias']:.1f} points)",
               f"validation error {100 * figures['val_error']:.1f}% (variance {100 * figures['variance']:.1f} points)"]
    if still_falling:
        reasons.append(f"the training loss still falls {100 * figures['loss_fall_per_epoch']:.1f}% per epoch")
    if bias and still_falling and not variance:
        verdict = NOT_CONVERGED
    else:
        verdict = BOTH if bias and variance else HIGH_BIAS if bias else HIGH_VARIANCE if variance else HEALTHY
    return Advice(verdict, figures, reasons, REMEDIES[verdict])


def advise_run(run_dir: str | Path, target_error: float = 0.02, tolerance: float = 0.03) -> Advice:
    return advise_history(read_history(run_dir), target_error, tolerance)


def format_advice(advice: Advice) -> str:
    """A few lines for people: the verdict, the figures behind it, what to try."""
    lines = [f"diagnosis: {advice.verdict}"]
    lines += [f"  {reason}" for reason in advice.reasons]
    if advice.remedies:
        lines.append("what to try: " + "; ".join(advice.remedies))
    return "\n".join(lines)
