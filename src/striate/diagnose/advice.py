"""Bias/variance advice from a run's curves (metrics.jsonl), with the course's remedies.

Following the usual reading of learning curves (Ng, "Machine Learning Yearning", ch. 20-23):
avoidable bias = training error - target error (the error a good model can reach),
variance = validation error - training error. Either above ``tolerance`` is "high".
Before that, a run whose loss became infinite or grew is "diverged", and one with high bias
whose training loss is still falling fast is "not converged" (train longer before judging).

The training error is the one measured like the validation error: the epoch's final weights in eval
mode on a fixed sample of the training split (``train_eval_accuracy``). The running figure of the epoch
(``train_accuracy``: weights changing under it, dropout and augmentation on) overstates the training error,
early in a run by several points, and reads as high bias with a negative variance; it is used only for runs
logged before the eval-mode figure existed, and the advice says so.

With an evaluation's per-class figures (``classes``: the test figures of summary.json, or any evaluation
with ``per_class_accuracy`` and ``confusion`` or ``per_class_count``), a class whose recall lags far behind
the others' is flagged too (see :func:`weak_classes`), with what to try.

>>> history = [{"train_loss": 0.02, "train_eval_accuracy": 1.0, "val_loss": 0.9, "val_accuracy": 0.82}]
>>> advise_history(history).verdict
'high variance'
"""

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from striate.errors import RunError
from striate.session import RunPaths, read_meta, read_summary
from striate.session import read_history as read_run_history

DIVERGED, NOT_CONVERGED, BOTH = "diverged", "not converged", "high bias and high variance"
HIGH_BIAS, HIGH_VARIANCE, HEALTHY = "high bias", "high variance", "healthy"
WEAK_CLASS = "weak class"  # healthy on the whole, but a class's recall lags far behind the others'

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
MINORITY_REMEDIES = ["class weights in the loss (optim.class_balance inverse_frequency)",
                     "balanced sampling (data.sampler balanced; see docs/training.md)"]

# A weak class: its recall below RECALL_RATIO x the median recall of the other classes and at least RECALL_GAP
# below it (both: 0.75 x 0.99 alone would flag 74% against 99%, and 10 points alone 30% against 40%), on at least
# MIN_CLASS_IMAGES images (with fewer, one or two images swing the recall by 10 points or more).
RECALL_RATIO, RECALL_GAP, MIN_CLASS_IMAGES = 0.75, 0.10, 10


@dataclass
class Advice:
    verdict: str  # one of diverged, not converged, high bias, high variance, both, weak class, healthy
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
    eval_mode = "train_eval_accuracy" in last
    train_error = 1.0 - last["train_eval_accuracy" if eval_mode else "train_accuracy"]
    val_error = 1.0 - last["val_accuracy"] if "val_accuracy" in last else float("nan")
    losses = [entry["train_loss"] for entry in history]
    figures = {"epochs": len(history), "train_error": train_error,
               "train_error_measured": "eval mode, fixed training sample" if eval_mode else "running, over the epoch",
               "val_error": val_error, "target_error": target_error, "avoidable_bias": train_error - target_error,
               "variance": val_error - train_error, "first_train_loss": losses[0], "last_train_loss": losses[-1],
               "best_train_loss": min(losses), "loss_fall_per_epoch": _improvement_per_epoch(losses)}
    if eval_mode and "train_accuracy" in last:
        figures["running_train_error"] = 1.0 - last["train_accuracy"]
    return figures


def _diverged(figures: dict, history: list[dict]) -> str | None:
    values = [entry.get(key) for entry in history for key in ("train_loss", "val_loss") if key in entry]
    if any(value is None or not math.isfinite(value) for value in values):
        return "a loss became NaN or infinite"
    if len(history) > 1 and figures["last_train_loss"] > figures["first_train_loss"]:
        return f"the training loss grew from {figures['first_train_loss']:.3g} to {figures['last_train_loss']:.3g}"
    if figures["last_train_loss"] > 2 * figures["best_train_loss"] + 0.1:
        return f"the training loss rose to {figures['last_train_loss']:.3g} after reaching {figures['best_train_loss']:.3g}"
    return None


def _variance_reason(figures: dict) -> str:
    """The validation line; a validation error below the training error is explained, never a bare negative."""
    val, gap = figures["val_error"], figures["variance"]
    if not gap < 0:  # also NaN: no validation curve
        return f"validation error {100 * val:.1f}% (variance {100 * gap:.1f} points)"
    if figures["train_error_measured"].startswith("running"):
        why = ("the training figure is the running average over the epoch, taken while the weights still changed "
               "and with dropout and augmentation on, so it overstates the training error (this run has no "
               "eval-mode training figure, train_eval_accuracy: a run trained with this version has one)")
    else:
        why = ("the training sample and the validation split differ by chance (the smaller they are, the more), "
               "or the validation images are easier than the training images (augmentation does not apply: both "
               "are measured in eval mode)")
    figures["variance_note"] = f"validation error below training error: {why}"
    return (f"validation error {100 * val:.1f}% is {100 * -gap:.1f} points below the training error, so no "
            f"variance: {why}")


def weak_classes(classes: dict, names: list[str] | None = None) -> list[dict]:
    """The classes whose recall lags far behind the others' in an evaluation's figures (``per_class_accuracy``,
    the recall of each class, with ``per_class_count`` or the ``confusion`` counts for the images of each).

    A class is weak when its recall is below RECALL_RATIO (0.75) x the median recall of the other classes and
    at least RECALL_GAP (10 points) below it, and it has at least MIN_CLASS_IMAGES (10) images; classes absent
    from the evaluation are left out. Each weak class comes with its images, the other classes' median count
    and recall, and the class it is most often mistaken for (with the confusion counts).
    """
    recall = classes.get("per_class_recall") or classes.get("per_class_accuracy") or []
    confusion = classes.get("confusion") or []
    counts = classes.get("per_class_count") or [sum(row) for row in confusion] or [None] * len(recall)
    names = names if names is not None and len(names) == len(recall) else [str(index) for index in range(len(recall))]
    present = [index for index, count in enumerate(counts) if count is None or count > 0]
    weak = []
    for index in present:
        others = [other for other in present if other != index]
        if not others or (counts[index] is not None and counts[index] < MIN_CLASS_IMAGES):
            continue
        median = statistics.median(recall[other] for other in others)
        if recall[index] < RECALL_RATIO * median and median - recall[index] >= RECALL_GAP:
            known = [counts[other] for other in others if counts[other] is not None]
            entry = {"class": names[index], "recall": recall[index], "others_median_recall": median,
                     "images": counts[index], "others_median_images": statistics.median(known) if known else None}
            if confusion:
                row = [count if column != index else -1 for column, count in enumerate(confusion[index])]
                entry["mistaken_for"] = names[max(range(len(row)), key=row.__getitem__)]
            weak.append(entry)
    return weak


def _weak_class_advice(weak: list[dict]) -> tuple[list[str], list[str]]:
    """The reasons and remedies for the weak classes."""
    reasons, remedies, minority = [], [], False
    for entry in weak:
        size = ""
        if entry["images"] is not None and entry["others_median_images"]:
            small = entry["images"] < entry["others_median_images"]
            minority |= small
            size = (f", {'a minority: ' if small else ''}{entry['images']} images against a median of "
                    f"{entry['others_median_images']:g}")
        mistaken = f"; mostly mistaken for '{entry['mistaken_for']}'" if "mistaken_for" in entry else ""
        reasons.append(f"class '{entry['class']}' recall {100 * entry['recall']:.1f}% against a median of "
                       f"{100 * entry['others_median_recall']:.1f}% for the other classes{size}{mistaken}")
    unknown = any(entry["images"] is None for entry in weak)
    if minority or unknown:
        remedies += MINORITY_REMEDIES
    names = ", ".join(f"'{entry['class']}'" for entry in weak)
    remedies.append(f"more (or more varied) images of {names}; check their labels")
    return reasons, remedies


def advise_history(history: list[dict], target_error: float = 0.02, tolerance: float = 0.03,
                   classes: dict | None = None, names: list[str] | None = None) -> Advice:
    """The verdict on a run's curves; ``target_error`` is the error a good model reaches (e.g. human level).
    ``classes`` (an evaluation's figures with per-class recall) and ``names`` (the class names) add the check
    for a class left behind."""
    figures = _figures(history, target_error)
    reason = _diverged(figures, history)
    if reason:
        return Advice(DIVERGED, figures, [reason], REMEDIES[DIVERGED])
    bias = figures["avoidable_bias"] > tolerance
    variance = figures["variance"] > tolerance  # NaN (no validation curve) compares False
    still_falling = figures["loss_fall_per_epoch"] > 0.02
    measured = "" if figures["train_error_measured"].startswith("eval") else ", the running figure of the epoch"
    reasons = [f"training error {100 * figures['train_error']:.1f}%{measured} vs target {100 * target_error:.1f}% "
               f"(avoidable bias {100 * figures['avoidable_bias']:.1f} points)", _variance_reason(figures)]
    if still_falling:
        reasons.append(f"the training loss still falls {100 * figures['loss_fall_per_epoch']:.1f}% per epoch")
    if bias and still_falling and not variance:
        verdict = NOT_CONVERGED
    else:
        verdict = BOTH if bias and variance else HIGH_BIAS if bias else HIGH_VARIANCE if variance else HEALTHY
    remedies = list(REMEDIES[verdict])
    weak = weak_classes(classes, names) if classes else []
    if weak:
        figures["weak_classes"] = weak
        more_reasons, more_remedies = _weak_class_advice(weak)
        reasons += more_reasons
        if verdict == HEALTHY:
            verdict, remedies = WEAK_CLASS, []
        remedies += more_remedies
    return Advice(verdict, figures, reasons, remedies)


def advise_run(run_dir: str | Path, target_error: float = 0.02, tolerance: float = 0.03) -> Advice:
    """The advice on a run directory: its curves, and the per-class figures of its test split (summary.json)."""
    paths = RunPaths(Path(run_dir))
    history = read_history(run_dir)
    classes = read_summary(paths).get("test") or None
    names = read_meta(run_dir).get("class_names") if classes and paths.meta.is_file() else None
    return advise_history(history, target_error, tolerance, classes, names)


def format_advice(advice: Advice) -> str:
    """A few lines for people: the verdict, the figures behind it, what to try."""
    lines = [f"diagnosis: {advice.verdict}"]
    lines += [f"  {reason}" for reason in advice.reasons]
    if advice.remedies:
        lines.append("what to try: " + "; ".join(advice.remedies))
    return "\n".join(lines)
