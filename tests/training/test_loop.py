import math

import pytest
import torch

from striate.data import DeviceLoader, ImageSet
from striate.errors import TrainingDivergedError
from striate.models import create_model
from striate.tasks import ClassificationTask
from striate.training.loop import evaluate, fit, train_step


def _batch(count=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 1, 8, 8), generator=generator, dtype=torch.uint8)
    return ImageSet(images, torch.arange(count) % 4)


def test_tiny_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    data = _batch()
    model = create_model("mlp", num_classes=4, in_channels=1, input_size=8, hidden=[64])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DeviceLoader(data, 16, [0.5], [0.3])
    first = None
    for _ in range(150):
        for images, labels in loader:
            figures = train_step(model, images, labels, optimizer, ClassificationTask(4))
            first = first if first is not None else float(figures["loss"])
    final = evaluate(model, loader, ClassificationTask(4))
    assert first > 1.0 and final["loss"] < 0.05 and final["accuracy"] == 1.0


def test_evaluate_confusion_counts_and_per_class():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([0.0, 5.0, 0.0]))  # always predicts class 1
    labels = torch.tensor([0, 1, 1, 2, 2, 2])
    loader = DeviceLoader(ImageSet(torch.zeros(6, 1, 8, 8, dtype=torch.uint8), labels), 4, [0.0], [1.0])
    figures = evaluate(model, loader, ClassificationTask(3))
    assert figures["confusion"] == [[0, 1, 0], [0, 2, 0], [0, 3, 0]]
    assert figures["per_class_accuracy"] == [0.0, 1.0, 0.0]
    assert figures["accuracy"] == pytest.approx(2 / 6)
    expected_loss = -torch.log_softmax(torch.tensor([0.0, 5.0, 0.0]), 0)
    assert figures["loss"] == pytest.approx(float((expected_loss[0] + 2 * expected_loss[1] + 3 * expected_loss[2]) / 6))


def test_fit_returns_figures_per_epoch_and_calls_hooks():
    torch.manual_seed(0)
    data = _batch(32)
    model = create_model("mlp", num_classes=4, in_channels=1, input_size=8, hidden=[16])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []
    history = fit(model, optimizer, DeviceLoader(data, 8, [0.5], [0.3], shuffle=True),
                  DeviceLoader(data, 8, [0.5], [0.3]), ClassificationTask(4), epochs=3, on_epoch=seen.append)
    assert [f["epoch"] for f in history] == [1, 2, 3] and seen == history
    assert history[-1]["step"] == 12
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_second"} <= set(history[0])


def test_nan_loss_stops_with_the_step():
    data = _batch()
    model = create_model("mlp", num_classes=4, in_channels=1, input_size=8, hidden=[16])
    optimizer = torch.optim.SGD(model.parameters(), lr=1e30)
    with pytest.raises(TrainingDivergedError, match=r"at step \d+.*learning rate too high"):
        fit(model, optimizer, DeviceLoader(data, 4, [0.5], [0.3]), None, ClassificationTask(4), epochs=20)


def test_loader_order_depends_on_seed_and_epoch_only():
    data = _batch(40)
    first = DeviceLoader(data, 10, [0.0], [1.0], shuffle=True, seed=1)
    second = DeviceLoader(data, 10, [0.0], [1.0], shuffle=True, seed=1)
    first.set_epoch(3)
    second.set_epoch(3)
    assert all(torch.equal(a[1], b[1]) and torch.equal(a[0], b[0]) for a, b in zip(first, second))
    second.set_epoch(4)
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(first, second))
    assert len(first) == 4 and math.isclose(sum(len(b[1]) for b in first), 40)


class _WithAuxiliary(torch.nn.Module):
    """A main head and one auxiliary head, kept as GoogLeNet keeps them (model.aux_logits, training only)."""

    def __init__(self):
        super().__init__()
        self.body, self.main, self.side = torch.nn.Linear(4, 6), torch.nn.Linear(6, 3), torch.nn.Linear(6, 3)
        self.aux_logits = []

    def forward(self, x):
        hidden = torch.relu(self.body(x))
        self.aux_logits = [self.side(hidden)] if self.training else []
        return self.main(hidden)


def test_auxiliary_classifier_losses_join_the_objective_with_their_weight():
    import torch.nn.functional as F

    from striate.training.loop import StepOptions, auxiliary_logits, train_step

    torch.manual_seed(0)
    images, labels = torch.randn(8, 4), torch.randint(0, 3, (8,))
    reference = _WithAuxiliary().state_dict()

    def side_gradient(weight):
        model = _WithAuxiliary()
        model.load_state_dict(reference)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: the step leaves the weights alone
        train_step(model, images, labels, optimizer, ClassificationTask(3), StepOptions(aux_weight=weight))
        assert len(auxiliary_logits(model)) == 1
        return model.side.weight.grad

    assert side_gradient(0.0) is None  # weight 0: the auxiliary head is left out of the objective
    by_hand = _WithAuxiliary()
    by_hand.load_state_dict(reference)
    (0.3 * F.cross_entropy(by_hand.side(torch.relu(by_hand.body(images))), labels)).backward()
    assert torch.allclose(side_gradient(0.3), by_hand.side.weight.grad, atol=1e-6)
