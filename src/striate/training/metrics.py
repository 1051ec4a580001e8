"""Metrics accumulated batch by batch (all the outputs are never held in memory): accuracy, top-5 error,
per-class accuracy, confusion counts; MSE and RMSE for regression.

>>> meter = ClassificationMeter(num_classes=3)
>>> meter.update(torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]]), torch.tensor([0, 1]))
>>> meter.result()["accuracy"]
0.5
"""

import math

import torch


class ClassificationMeter:
    """Confusion counts (rows: true class, columns: predicted), top-k hits and a loss sum."""

    def __init__(self, num_classes: int, top_k: int = 5):
        self.num_classes = num_classes
        self.top_k = min(top_k, num_classes)
        self.confusion: torch.Tensor | None = None
        self.top_k_hits = 0
        self.loss_sum = 0.0

    def update(self, logits: torch.Tensor, labels: torch.Tensor, loss_sum: float = 0.0) -> None:
        classes = self.num_classes
        pairs = labels * classes + logits.argmax(dim=1)
        counts = torch.bincount(pairs, minlength=classes * classes).view(classes, classes)
        self.confusion = counts if self.confusion is None else self.confusion + counts
        top = logits.topk(self.top_k, dim=1).indices
        self.top_k_hits += int((top == labels.unsqueeze(1)).any(dim=1).sum())
        self.loss_sum += loss_sum

    def totals(self) -> torch.Tensor:
        """Everything as one float64 tensor (for summing across DDP ranks): confusion, top-k hits, loss sum."""
        confusion = self.confusion if self.confusion is not None else torch.zeros(self.num_classes, self.num_classes)
        return torch.cat([confusion.flatten().double().cpu(), torch.tensor([self.top_k_hits, self.loss_sum], dtype=torch.float64)])

    def load_totals(self, totals: torch.Tensor) -> None:
        classes = self.num_classes
        self.confusion = totals[: classes * classes].round().long().view(classes, classes)
        self.top_k_hits, self.loss_sum = int(totals[-2]), float(totals[-1])

    def result(self) -> dict:
        if self.confusion is None or int(self.confusion.sum()) == 0:
            return {"loss": math.nan, "accuracy": math.nan, "top5_error": math.nan, "count": 0,
                    "per_class_accuracy": [], "confusion": []}
        confusion = self.confusion.cpu()
        count = int(confusion.sum())
        per_class = (confusion.diag().double() / confusion.sum(dim=1).clamp_min(1)).tolist()
        return {
            "loss": self.loss_sum / count,
            "accuracy": float(confusion.diag().sum()) / count,
            "top5_error": 1 - self.top_k_hits / count,  # top-min(5, classes)
            "count": count,
            "per_class_accuracy": per_class,
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
    """The training epoch's running accuracy: correct predictions counted on the device (no host sync per
    step), with ``totals``/``load_totals`` for DDP sums and exact mid-epoch resume."""

    def __init__(self):
        self.correct: torch.Tensor | int = 0
        self.count = 0
        self.loss_sum = 0.0

    def update(self, logits: torch.Tensor, labels: torch.Tensor, loss_sum: float = 0.0) -> None:
        self.correct = self.correct + (logits.argmax(dim=1) == labels).sum()
        self.count += len(labels)
        self.loss_sum += loss_sum

    def totals(self) -> torch.Tensor:
        return torch.tensor([float(self.correct), self.count, self.loss_sum], dtype=torch.float64)

    def load_totals(self, totals: torch.Tensor) -> None:
        correct, count, self.loss_sum = totals.tolist()
        self.correct, self.count = int(round(correct)), int(round(count))

    def running(self) -> dict:
        """The figure a progress display shows after each step."""
        return {"accuracy": float(self.correct) / max(self.count, 1)}

    def result(self) -> dict:
        count = max(self.count, 1)
        return {"loss": self.loss_sum / count, "count": self.count, "accuracy": float(self.correct) / count}
