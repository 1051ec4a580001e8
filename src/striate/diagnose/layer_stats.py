"""Per-layer statistics: activation mean/std, dead-ReLU fraction, gradient norms.

Used both by the checks at initialisation and by the monitors during training.
A ReLU channel (or unit, after a fully connected layer) is dead on a batch when it
outputs zero for every sample and every position: no gradient flows through it.

>>> rows = activation_rows(model, images)   # doctest: +SKIP
>>> rows[0]["layer"], rows[0]["std"]        # doctest: +SKIP
('features.conv1', 0.41)
"""

import torch
import torch.nn.functional as F
from torch import nn

from striate.diagnose.report import FAIL, PASS, WARN, CheckResult, worst
from striate.models.base import run_with_hooks
from striate.training.layer_monitor import (DEAD_FAIL, DEAD_WARN, GRAD_FAIL, GRAD_WARN, RELUS, SKIPPED, STD_FAIL, STD_WARN,
                                        dead_share, watched_layers)

def dead_fraction(output: torch.Tensor) -> float:
    return float(dead_share(output))


def summarize(output: torch.Tensor, is_relu: bool) -> dict:
    output = output.detach().float()
    return {"mean": float(output.mean()), "std": float(output.std(correction=0)),
            "dead_fraction": dead_fraction(output) if is_relu else None}


def record_activations(model: nn.Module, images: torch.Tensor) -> dict[str, dict]:
    """One forward pass (no gradient) with hooks on the watched layers; returns their statistics."""
    stats: dict[str, dict] = {}

    def hook(name, is_relu):
        return lambda _m, _i, out: stats.__setitem__(name, summarize(out, is_relu)) if torch.is_tensor(out) else None

    handles = [module.register_forward_hook(hook(name, isinstance(module, RELUS)))
               for name, module in watched_layers(model).items()]
    run_with_hooks(model, images, handles)
    return stats


def _band(value: float, warn_band: tuple, fail_band: tuple) -> str:
    if not fail_band[0] <= value <= fail_band[1]:  # NaN fails too
        return FAIL
    return PASS if warn_band[0] <= value <= warn_band[1] else WARN


def activation_verdict(stats: dict) -> str:
    verdicts = [_band(stats["std"], STD_WARN, STD_FAIL)]
    if stats["dead_fraction"] is not None:
        dead = stats["dead_fraction"]
        verdicts.append(FAIL if dead > DEAD_FAIL else WARN if dead > DEAD_WARN else PASS)
    return worst(verdicts)


def activation_check(model: nn.Module, images: torch.Tensor) -> CheckResult:
    """Activation mean/std and dead-ReLU fraction of every layer on one batch (training mode, as in training)."""
    was_training = model.training
    model.train()
    try:
        stats = record_activations(model, images)
    finally:
        model.train(was_training)
    rows = [{"layer": name, **values, "verdict": activation_verdict(values)} for name, values in stats.items()]
    verdict = worst(row["verdict"] for row in rows)
    stds = [row["std"] for row in rows]
    deads = [(row["dead_fraction"], row["layer"]) for row in rows if row["dead_fraction"] is not None]
    measured = f"std {min(stds):.2g}..{max(stds):.2g}"
    if deads:
        dead, layer = max(deads)
        measured += f", dead ReLUs up to {100 * dead:.0f}% ({layer})"
    advice = "" if verdict == PASS else (
        "activations vanish, explode or ReLUs are dead: use He/Kaiming initialisation (or Xavier for tanh), "
        "normalise the input, add batch normalisation, check that biases are not large and negative")
    return CheckResult("activations at init", verdict, measured,
                       f"std in [{STD_WARN[0]:g}, {STD_WARN[1]:g}], dead ReLUs <= {100 * DEAD_WARN:.0f}%", advice, rows)


def gradient_rows(model: nn.Module) -> list[dict]:
    """Gradient norm, weight norm and their ratio for every parameter tensor that has a gradient."""
    rows = []
    for name, parameter in model.named_parameters():
        if parameter.grad is None:
            continue
        grad_norm, weight_norm = float(parameter.grad.norm()), float(parameter.detach().norm())
        rows.append({"tensor": name, "grad_norm": grad_norm, "weight_norm": weight_norm,
                     "verdict": _band(grad_norm, GRAD_WARN, GRAD_FAIL)})
    return rows


def gradient_norm_check(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> CheckResult:
    """Per-tensor gradient norms of the cross-entropy on one batch: vanishing or exploding ones are flagged."""
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), labels).backward()
    rows = gradient_rows(model)
    model.zero_grad(set_to_none=True)
    norms = [row["grad_norm"] for row in rows]
    verdict = worst(row["verdict"] for row in rows) if rows else FAIL
    smallest = min(rows, key=lambda row: row["grad_norm"])["tensor"] if rows else "-"
    measured = f"{min(norms):.1e} ({smallest})..{max(norms):.1e}" if rows else "no parameter received a gradient"
    advice = "" if verdict == PASS else (
        "gradients vanish or explode: check the initialisation scale (He/Kaiming for ReLU), dead ReLUs, "
        "the input normalisation; add batch normalisation or residual connections for deep networks")
    return CheckResult("gradient norms at init", verdict, measured,
                       f"every tensor in [{GRAD_WARN[0]:g}, {GRAD_WARN[1]:g}]", advice, rows)
