"""Data checks: label balance, NaN/Inf, value range and normalisation, train/test overlap.

They read the data as the network sees it: batches of normalised float images and labels
(any iterable of ``(images, labels)``, such as a :class:`~striate.data.DeviceLoader`).
Exact duplicates are found by hashing each image's bytes.

>>> results = data_checks(train_loader, test_loader, num_classes=10)   # doctest: +SKIP
"""

import hashlib
from dataclasses import dataclass, field

import torch

from striate.diagnose.report import FAIL, PASS, WARN, CheckResult, grade


@dataclass
class DataSummary:
    """Running figures over every batch of one split."""

    label_counts: torch.Tensor
    count: int = 0
    nonfinite: int = 0  # NaN or infinite values
    minimum: float = float("inf")
    maximum: float = float("-inf")
    sums: torch.Tensor | None = None  # per channel, float64
    squares: torch.Tensor | None = None
    values_per_channel: int = 0
    hashes: dict = field(default_factory=dict)  # image hash -> label


def summarize_split(batches, num_classes: int) -> DataSummary:
    summary = DataSummary(torch.zeros(num_classes, dtype=torch.int64))
    for images, labels in batches:
        images, labels = images.detach().cpu(), labels.cpu()
        summary.label_counts += torch.bincount(labels, minlength=num_classes)[:num_classes]
        summary.count += len(labels)
        finite = torch.isfinite(images)
        summary.nonfinite += int((~finite).sum())
        values = torch.where(finite, images, torch.zeros_like(images)).double()
        summary.minimum = min(summary.minimum, float(values.min()))
        summary.maximum = max(summary.maximum, float(values.max()))
        per_channel = values.transpose(0, 1).reshape(images.shape[1], -1)
        sums, squares = per_channel.sum(dim=1), (per_channel**2).sum(dim=1)
        summary.sums = sums if summary.sums is None else summary.sums + sums
        summary.squares = squares if summary.squares is None else summary.squares + squares
        summary.values_per_channel += per_channel.shape[1]
        for image, label in zip(images.contiguous().numpy(), labels.tolist()):
            summary.hashes.setdefault(hashlib.blake2b(image.tobytes(), digest_size=16).digest(), label)
    return summary


def label_balance(summary: DataSummary, class_names: list[str] | None = None) -> CheckResult:
    counts = summary.label_counts
    smallest, largest = int(counts.min()), int(counts.max())
    ratio = smallest / max(largest, 1)
    verdict = PASS if ratio >= 0.5 else WARN if ratio >= 0.1 and smallest > 0 else FAIL
    name = (class_names or [str(i) for i in range(len(counts))])[int(counts.argmin())]
    advice = "" if verdict == PASS else (
        "classes are unbalanced: collect more of the rare classes, resample them, or weight the loss by class; "
        "judge the model by per-class accuracy (striate evaluate)")
    return CheckResult("label balance", verdict, f"smallest/largest class {smallest}/{largest} ('{name}' rarest)",
                       "ratio >= 0.5", advice, [{"class": i, "count": int(c)} for i, c in enumerate(counts)])


def finite_values(summaries: dict[str, DataSummary]) -> CheckResult:
    bad = {name: s.nonfinite for name, s in summaries.items() if s.nonfinite}
    measured = ", ".join(f"{count} in {name}" for name, count in bad.items()) or "none"
    advice = "" if not bad else (
        "some inputs are NaN or infinite: find the corrupt images, or a channel with zero spread divided by "
        "its std during normalisation")
    return CheckResult("NaN / Inf in inputs", FAIL if bad else PASS, measured, "none", advice)


def normalisation(summary: DataSummary) -> CheckResult:
    """The training inputs should be centred with unit spread per channel, and not absurdly far out."""
    n = max(summary.values_per_channel, 1)
    means = summary.sums / n
    stds = (summary.squares / n - means**2).clamp_min(0).sqrt()
    off = max(float(means.abs().max()), float((stds - 1).abs().max()))
    verdict = grade(off, 0.1, 0.5)
    if max(abs(summary.minimum), abs(summary.maximum)) > 1e3:
        verdict = FAIL
    advice = "" if verdict == PASS else (
        "inputs are not normalised: subtract the per-channel mean and divide by the per-channel std "
        "measured on the training split (striate does this from the recipe; check custom data pipelines)")
    measured = (f"channel mean {', '.join(f'{m:.2f}' for m in means.tolist())}; std "
                f"{', '.join(f'{s:.2f}' for s in stds.tolist())}; range {summary.minimum:.3g}..{summary.maximum:.3g}")
    return CheckResult("normalisation", verdict, measured, "mean 0 +- 0.1, std 1 +- 0.1", advice)


def train_test_overlap(train: DataSummary, test: DataSummary) -> CheckResult:
    shared = [key for key in test.hashes if key in train.hashes]
    conflicting = sum(train.hashes[key] != test.hashes[key] for key in shared)
    share = len(shared) / max(len(test.hashes), 1)
    verdict = PASS if not shared else FAIL if share > 0.01 else WARN
    advice = "" if verdict == PASS else (
        "test images also appear in the training data, so the test accuracy is optimistic: remove the duplicates "
        "from one side (deduplicate before splitting)")
    measured = f"{len(shared)} of {len(test.hashes)} distinct test images ({100 * share:.1f}%)"
    if conflicting:
        measured += f", {conflicting} with a different label"
    return CheckResult("train/test overlap", verdict, measured, "no exact duplicates", advice)


def data_checks(train_batches, test_batches, num_classes: int, class_names: list[str] | None = None) -> list[CheckResult]:
    """All data checks on a training and a test split."""
    train = summarize_split(train_batches, num_classes)
    test = summarize_split(test_batches, num_classes)
    return [label_balance(train, class_names), finite_values({"train": train, "test": test}), normalisation(train),
            train_test_overlap(train, test)]
