"""Metrics accumulated batch by batch (all the outputs are never held in memory): accuracy, top-5 error,
per-class accuracy, precision, recall and F1, balanced accuracy, macro F1, ROC AUC (two classes), confusion
counts; MSE and RMSE for regression.

>>> meter = ClassificationMeter(num_classes=3)
>>> meter.update(torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]]), torch.tensor([0, 1]))
>>> meter.result()["accuracy"]
0.5
"""

import math

import torch


def classification_figures(confusion: torch.Tensor) -> dict:
    """The figures of a confusion matrix (rows: true class, columns: predicted), as scikit-learn computes them
    with ``zero_division=0``: a ratio of 0/0 (the precision of a class never predicted, the recall of a class
    absent from the truth) counts as 0.

    per_class_precision  TP / (TP + FP)            per_class_recall  TP / (TP + FN) (= per_class_accuracy)
    per_class_f1         2 TP / (2 TP + FP + FN)   balanced_accuracy the mean recall of the classes present in the truth
    macro_f1             the mean F1 of the classes present in the truth or the predictions

    >>> figures = classification_figures(torch.tensor([[3, 1], [2, 0]]))
    >>> figures["per_class_precision"], figures["balanced_accuracy"], figures["macro_f1"]
    ([0.6, 0.0], 0.375, 0.3333333333333333)
    """
    confusion = confusion.double()
    hits, truth, predicted = confusion.diag(), confusion.sum(dim=1), confusion.sum(dim=0)

    def ratio(numerator, denominator):
        return torch.where(denominator > 0, numerator / denominator.clamp_min(1e-300), torch.zeros_like(numerator))

    recall, f1 = ratio(hits, truth), ratio(2 * hits, truth + predicted)
    present, occurring = truth > 0, (truth + predicted) > 0
    return {"per_class_precision": ratio(hits, predicted).tolist(), "per_class_recall": recall.tolist(),
            "per_class_f1": f1.tolist(),
            "balanced_accuracy": float(recall[present].mean()) if present.any() else math.nan,
            "macro_f1": float(f1[occurring].mean()) if occurring.any() else math.nan}


def roc_auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """The area under the ROC curve, exactly: the probability that a random positive scores above a random
    negative (ties count a half), by the rank-sum (Mann-Whitney U) formula with tied scores given their average
    rank. NaN when either side is empty.

    >>> roc_auc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([False, False, True, True]))
    0.75
    """
    scores, positive = scores.double().flatten(), positive.bool().flatten()
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    _, group, sizes = torch.unique(scores, sorted=True, return_inverse=True, return_counts=True)
    last = sizes.cumsum(0).double()  # the 1-based rank of the last score of each group of equal scores
    ranks = (last - (sizes.double() - 1) / 2)[group]  # each score's average rank within its group
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


class ClassificationMeter:
    """Confusion counts (rows: true class, columns: predicted), top-k hits and a loss sum; with two classes also
    each image's score of class 1 against class 0 (the logit difference, which ranks images as the softmax
    probability does without its rounding to 1.0) and its label, for the exact ROC AUC (memory: two numbers
    an image of the evaluated split)."""

    def __init__(self, num_classes: int, top_k: int = 5):
        self.num_classes = num_classes
        self.top_k = min(top_k, num_classes)
        self.confusion: torch.Tensor | None = None
        self.top_k_hits = 0
        self.loss_sum = 0.0
        self.scores: list[torch.Tensor] | None = [] if num_classes == 2 else None  # N x 2: score, label

    def update(self, logits: torch.Tensor, labels: torch.Tensor, loss_sum: float = 0.0) -> None:
        classes = self.num_classes
        pairs = labels * classes + logits.argmax(dim=1)
        counts = torch.bincount(pairs, minlength=classes * classes).view(classes, classes)
        self.confusion = counts if self.confusion is None else self.confusion + counts
        top = logits.topk(self.top_k, dim=1).indices
        self.top_k_hits += int((top == labels.unsqueeze(1)).any(dim=1).sum())
        self.loss_sum += loss_sum
        if self.scores is not None:
            score = logits[:, 1].double() - logits[:, 0].double()
            self.scores.append(torch.stack([score, labels.double()], dim=1).cpu())

    def totals(self) -> torch.Tensor:
        """The counts as one float64 tensor of a fixed length (summed across DDP ranks): confusion, top-k hits,
        loss sum. The scores of the ROC AUC stay with the meter."""
        confusion = self.confusion if self.confusion is not None else torch.zeros(self.num_classes, self.num_classes)
        return torch.cat([confusion.flatten().double().cpu(), torch.tensor([self.top_k_hits, self.loss_sum], dtype=torch.float64)])

    def load_totals(self, totals: torch.Tensor) -> None:
        """Take the counts of ``totals``; scores that no longer cover every counted image (totals summed over DDP
        ranks) are dropped, and the ROC AUC is then NaN rather than that of one rank's share."""
        classes = self.num_classes
        self.confusion = totals[: classes * classes].round().long().view(classes, classes)
        self.top_k_hits, self.loss_sum = int(totals[-2]), float(totals[-1])
        if self.scores and sum(len(part) for part in self.scores) != int(self.confusion.sum()):
            self.scores = None

    def result(self) -> dict:
        figures = {"per_class_precision": [], "per_class_recall": [], "per_class_f1": [],
                   "balanced_accuracy": math.nan, "macro_f1": math.nan}
        two_classes = {"roc_auc": math.nan} if self.num_classes == 2 else {}
        if self.confusion is None or int(self.confusion.sum()) == 0:
            return {"loss": math.nan, "accuracy": math.nan, "top5_error": math.nan, "count": 0,
                    "per_class_accuracy": [], **figures, **two_classes, "confusion": []}
        confusion = self.confusion.cpu()
        count = int(confusion.sum())
        figures = classification_figures(confusion)
        if self.num_classes == 2 and self.scores:
            scored = torch.cat(self.scores)
            two_classes["roc_auc"] = roc_auc(scored[:, 0], scored[:, 1] == 1)
        return {
            "loss": self.loss_sum / count,
            "accuracy": float(confusion.diag().sum()) / count,
            "top5_error": 1 - self.top_k_hits / count,  # top-min(5, classes)
            "count": count,
            "per_class_accuracy": figures["per_class_recall"],  # the recall of each class
            **figures,
            **two_classes,
            "confusion": confusion.tolist(),
        }


class RegressionMeter:
    """MSE and RMSE over the present targets (NaN targets are missing)."""

    def __init__(self):
        self.squared_error = 0.0
        self.count = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        present = ~torch.isnan(targets)
        self.squared_error += float((outputs[present] - targets[present]).double().square().sum())
        self.count += int(present.sum())

    def result(self) -> dict:
        mse = self.squared_error / self.count if self.count else math.nan
        return {"mse": mse, "rmse": math.sqrt(mse), "count": self.count}


class AccuracyMeter:
    """The training epoch's running accuracy: correct predictions and the loss sum counted on the device (no
    host sync per step), with ``totals``/``load_totals`` for DDP sums and exact mid-epoch resume."""

    def __init__(self):
        self.correct: torch.Tensor | int = 0
        self.count = 0
        self.loss_sum: torch.Tensor | float = 0.0

    def update(self, logits: torch.Tensor, labels: torch.Tensor, loss_sum: torch.Tensor | float = 0.0) -> None:
        self.correct = self.correct + (logits.argmax(dim=1) == labels).sum()
        self.count += len(labels)
        self.loss_sum = self.loss_sum + loss_sum

    def totals(self) -> torch.Tensor:
        return torch.tensor([float(self.correct), self.count, float(self.loss_sum)], dtype=torch.float64)

    def load_totals(self, totals: torch.Tensor) -> None:
        correct, count, self.loss_sum = totals.tolist()
        self.correct, self.count = int(round(correct)), int(round(count))

    def running(self) -> dict:
        """The figure a progress display shows after each step: a 0-d tensor on the device while training (reading
        it waits for the device)."""
        return {"accuracy": self.correct / max(self.count, 1)}

    def result(self) -> dict:
        count = max(self.count, 1)
        return {"loss": float(self.loss_sum) / count, "count": self.count, "accuracy": float(self.correct) / count}
