"""Sanity checks before training, as the course recommends (CS231n "Babysitting the learning process").

Each check builds a fresh model from ``setup.make_model`` and returns a :class:`CheckResult`:

- loss at initialisation close to ln(C) with regularisation off;
- adding L2 regularisation increases the loss;
- a tiny subset (20 images) can be overfitted to 100% training accuracy;
- a short training on a few hundred images beats chance on held-out images (shuffled labels fail this);
- plus the gradient check, the layer statistics and the data checks from their own modules.

>>> results = run_checks(setup)   # doctest: +SKIP
>>> [r.verdict for r in results]  # doctest: +SKIP
['pass', 'pass', ...]
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from striate.diagnose.report import FAIL, PASS, WARN, CheckResult, grade


@dataclass
class CheckSetup:
    make_model: Callable[[], nn.Module]  # a freshly initialised model at each call
    train_images: torch.Tensor  # normalised float N x C x H x W (a few hundred are enough)
    train_labels: torch.Tensor
    val_images: torch.Tensor  # held-out images for the learning check
    val_labels: torch.Tensor
    num_classes: int
    lr: float = 0.05  # learning rate of the short trainings
    momentum: float = 0.9
    weight_decay: float = 5e-4  # the L2 strength used by the regularisation check
    seed: int = 0


def loss_at_init(setup: CheckSetup, count: int = 256) -> CheckResult:
    """With small random weights every class is about equally likely: the loss is near ln(C)."""
    torch.manual_seed(setup.seed)
    model = setup.make_model().eval()
    with torch.no_grad():
        loss = float(F.cross_entropy(model(setup.train_images[:count]), setup.train_labels[:count]))
    expected = math.log(setup.num_classes)
    deviation = abs(loss - expected) / expected
    verdict = grade(deviation, 0.15, 0.5)
    advice = "" if verdict == PASS else (
        "the initial scores are not small and balanced: scale the initial weights down (He/Kaiming or Xavier), "
        "normalise the input, and check the last layer and the loss function")
    return CheckResult("loss at init", verdict, f"loss {loss:.4g}", f"ln({setup.num_classes}) = {expected:.3f} +- 15%", advice)


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """Half the sum of squared weights (biases and 1-d tensors excluded)."""
    return 0.5 * sum((p**2).sum() for p in model.parameters() if p.ndim > 1)


def regularisation_increases_loss(setup: CheckSetup, count: int = 256) -> CheckResult:
    """data loss + strength * ||W||^2 / 2 must be above the data loss alone."""
    torch.manual_seed(setup.seed)
    model = setup.make_model().eval()
    strength = setup.weight_decay or 5e-4
    with torch.no_grad():
        data_loss = float(F.cross_entropy(model(setup.train_images[:count]), setup.train_labels[:count]))
        total = data_loss + strength * float(l2_penalty(model))
    increased = math.isfinite(total) and total > data_loss * (1 + 1e-9)
    advice = "" if increased else (
        "the L2 term adds nothing: the weights are all zero (nothing to learn from) or the loss is not finite; "
        "initialise the weights randomly")
    return CheckResult("regularisation raises the loss", PASS if increased else FAIL,
                       f"{data_loss:.4g} -> {total:.4g} with L2 {strength:g}", "higher with L2 on", advice)


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = (model(images).argmax(dim=1) == labels).float().mean()
    model.train(was_training)
    return float(correct)


def _overfit(setup: CheckSetup, lr: float, count: int, max_steps: int) -> tuple[float, int, float, bool]:
    """Full-batch SGD on the first ``count`` images; returns (training accuracy, steps, last loss, diverged)."""
    torch.manual_seed(setup.seed)
    model = setup.make_model().train()
    images, labels = setup.train_images[:count], setup.train_labels[:count]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=setup.momentum)
    step, loss, first = 0, float("nan"), None
    for step in range(1, max_steps + 1):
        loss_tensor = F.cross_entropy(model(images), labels)
        loss = float(loss_tensor.detach())
        first = first if first is not None else loss
        if not math.isfinite(loss) or loss > 10 * first + 10:
            return 0.0, step, loss, True  # diverged: no point in going on
        optimizer.zero_grad(set_to_none=True)
        loss_tensor.backward()
        optimizer.step()
        if step % 10 == 0 and _accuracy(model, images, labels) == 1.0:
            break
    return _accuracy(model, images, labels), step, loss, False


def overfit_tiny(setup: CheckSetup, count: int = 20, max_steps: int = 300) -> CheckResult:
    """SGD on ``count`` images without regularisation must reach 100% training accuracy.

    Tried at the recipe's learning rate, then at a tenth of it (the same 20 images in every step push
    momentum further than varied mini-batches do, so a rate that trains well can overshoot here).
    """
    expected = f"100% within {max_steps} steps at lr {setup.lr:g} or {setup.lr / 10:g}"
    attempts = []
    for lr in (setup.lr, setup.lr / 10):
        accuracy, step, loss, diverged = _overfit(setup, lr, count, max_steps)
        text = f"diverged: loss {loss:.3g} at step {step}" if diverged else \
            f"{100 * accuracy:.0f}% after {step} steps (loss {loss:.3g})"
        attempts.append(f"lr {lr:g}: {text}")
        if accuracy == 1.0:
            return CheckResult(f"overfit {count} images", PASS, "; ".join(attempts), expected)
    return CheckResult(f"overfit {count} images", FAIL, "; ".join(attempts), expected,
                       f"the network cannot memorise {count} images: if the loss diverged lower optim.lr "
                       "(see 'striate lr-find'); otherwise look for dead ReLUs or a broken layer (gradient check)")


def learns_signal(setup: CheckSetup, count: int = 500, steps: int = 150, batch_size: int = 32) -> CheckResult:
    """A short training on ``count`` images must beat chance on held-out images.

    Memorising 20 images works even with random labels; generalising does not, so labels that
    were shuffled (or do not belong to their images) fail here.
    """
    torch.manual_seed(setup.seed)
    model = setup.make_model().train()
    images, labels = setup.train_images[:count], setup.train_labels[:count]
    optimizer = torch.optim.SGD(model.parameters(), lr=setup.lr, momentum=setup.momentum)
    generator = torch.Generator().manual_seed(setup.seed)
    for _ in range(steps):
        batch = torch.randint(len(images), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    accuracy = _accuracy(model, setup.val_images, setup.val_labels)
    counts = torch.bincount(setup.val_labels, minlength=setup.num_classes)
    chance = float(counts.max()) / max(len(setup.val_labels), 1)  # always guessing the largest class
    margin = accuracy - chance
    # how many standard errors above chance: on a few hundred images luck alone gives a few points
    # (shuffled labels reach 3 standard errors now and then; 5 is well beyond them)
    spread = math.sqrt(max(chance * (1 - chance), 1e-6) / max(len(setup.val_labels), 1))
    significant = margin / spread >= 5
    verdict = PASS if significant and margin >= 0.1 else WARN if significant else FAIL
    advice = "" if verdict == PASS else (
        "the network learns nothing that carries over to held-out images: check that labels belong to their "
        "images (not shuffled or misaligned), and the learning rate (see the LR finder)")
    return CheckResult("learns beyond chance", verdict,
                       f"held-out accuracy {100 * accuracy:.1f}% after {steps} steps on {len(images)} images",
                       f"chance ({100 * chance:.1f}%) + 10 points, and 5 standard errors above it", advice)
