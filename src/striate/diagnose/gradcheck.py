"""Gradient check: analytic gradients against central finite differences, in float64.

For a handful of entries of every parameter tensor (and of the input), the derivative of the
loss is estimated as (L(w + eps) - L(w - eps)) / (2 eps) and compared with autograd's. The
relative error ||analytic - numeric|| / (||analytic|| + ||numeric||) is about 1e-7 or less for a
correct backward in float64 and near 1 for a wrong one (CS231n, "Gradient checks").

A gradient that is zero (a bias that feeds batch normalisation: the batch mean cancels it) comes
out of the central difference as rounding noise, and noise over zero is a relative error of 1. So
the denominator has a floor, derived from the rounding error of the loss (see :func:`resolution`):
gradients that agree to within rounding pass, whatever their size, and such zeros get a note.
A step that crosses a kink (a ReLU input changing sign, a max pooling changing its winner; see
:mod:`striate.diagnose.kinks`) is taken again 10 and 100 times smaller, and left out if it still does.

Layers that are not part of torch.nn (custom layers) are also checked on their own, with the
input they received in the model, so a wrong backward is pinned to the layer that has it.

>>> result = gradient_check(model, images, labels)   # doctest: +SKIP
>>> result.verdict                                    # doctest: +SKIP
'pass'
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from striate.diagnose.kinks import KinkWatch, same_side
from striate.diagnose.report import PASS, CheckResult, grade, worst
from striate.models.base import run_with_hooks

WARN_ERROR, FAIL_ERROR = 1e-5, 1e-3
EPSILON = 1e-6
STEPS = (EPSILON, EPSILON / 10, EPSILON / 100)  # the step, and the smaller ones tried when it crosses a kink
UNIT_ROUNDOFF = torch.finfo(torch.float64).eps / 2  # u = 2^-53: float64 rounds to within u of the exact value
# How many units of rounding one evaluation of the loss may carry, relative to the loss's scale (the sum of
# the magnitudes of the terms it adds up). Measured on LeNet-5 with batch norm, 1 and 3 channels: at most 6.
ROUNDING_STEPS = 16
ZERO = "zero on both sides"


def resolution(loss_scale: float, step: float = EPSILON) -> float:
    """The absolute error that rounding alone puts into one central difference.

    Each of L(w + eps) and L(w - eps) is off by up to ROUNDING_STEPS * u * scale, so their difference divided
    by 2 eps is off by up to ROUNDING_STEPS * u * scale / eps: about 4e-9 for a cross-entropy near ln(10) with
    eps 1e-6 (the truncation error, eps^2 / 6 times the third derivative, is far smaller). A true gradient smaller than
    this cannot be told from zero by finite differences.
    """
    return ROUNDING_STEPS * UNIT_ROUNDOFF * max(abs(loss_scale), 1e-30) / step


def error_floor(loss_scale: float, step: float = EPSILON) -> float:
    """The smallest denominator of the relative error: the resolution divided by WARN_ERROR.

    With it, two gradients that differ by no more than rounding grade pass even when both are zero (a bias
    before batch norm: analytic about 1e-16, numeric about 1e-10, a plain relative error of 1), while a
    difference a hundred times the rounding (FAIL_ERROR / WARN_ERROR) still fails: a wrong backward of any
    gradient above about 1e-7 is caught. Above the floor the error is the usual relative one.
    """
    return resolution(loss_scale, step) / WARN_ERROR


def _sample_indices(count: int, per_tensor: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randperm(count, generator=generator)[: min(count, per_tensor)]


def relative_error(analytic: torch.Tensor, numeric: torch.Tensor, floor: float = 0.0) -> float:
    """||a - n|| / max(||a|| + ||n||, floor); 0 when both are zero and there is no floor.

    ``floor`` is the norm of the entries' floors (see :func:`error_floor`): rounding noise adds up like a norm.
    """
    scale = max(float(analytic.norm() + numeric.norm()), floor)
    return float((analytic - numeric).norm()) / scale if scale > 1e-12 else 0.0


def _central_difference(loss_of, flat: torch.Tensor, index: int, step: float, watch: KinkWatch) -> tuple[float, bool]:
    """(L(w + step) - L(w - step)) / (2 step) for one flat entry, and whether both points lie on the same pieces."""
    original = float(flat[index])
    flat[index] = original + step
    plus, above = loss_of(), watch.take()
    flat[index] = original - step
    minus, below = loss_of(), watch.take()
    flat[index] = original
    return (plus - minus) / (2 * step), same_side(above, below)


def _numeric_gradient(loss_of, tensor: torch.Tensor, indices: torch.Tensor, watch: KinkWatch):
    """Central differences of ``loss_of()`` with respect to the chosen flat entries of ``tensor``, and the step
    each used: the first of STEPS that crosses no kink (NaN: every step crossed one; the entry is left out)."""
    flat = tensor.data.view(-1)
    numeric = torch.empty(len(indices), dtype=torch.float64)
    steps = torch.full((len(indices),), float("nan"), dtype=torch.float64)
    for position, index in enumerate(indices.tolist()):
        for step in STEPS:
            numeric[position], smooth = _central_difference(loss_of, flat, index, step, watch)
            if smooth:
                steps[position] = step
                break
    return numeric, steps


def _kink_note(steps: torch.Tensor) -> str:
    smaller, left_out = int((steps < EPSILON).sum()), int(steps.isnan().sum())
    parts = ([f"{smaller} retaken with a smaller step"] if smaller else []) + ([f"{left_out} left out"] if left_out else [])
    return f"kinks: {', '.join(parts)}" if parts else ""


def _compare(loss_of, tensors: dict[str, torch.Tensor], per_tensor: int, seed: int, watch: KinkWatch,
             loss_scale=None) -> list[dict]:
    """One row per tensor: its relative error over ``per_tensor`` sampled entries, and a note when both gradients
    are zero (within rounding) or steps crossed kinks. ``loss_scale(loss)`` is the scale of the loss's rounding
    (default: |loss|)."""
    for tensor in tensors.values():
        tensor.grad = None
    loss = loss_of(track=True)
    loss.backward()
    watch.take()
    with torch.no_grad():
        scale = float(loss_scale(loss) if loss_scale is not None else loss.detach().abs())
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for name, tensor in tensors.items():
        if tensor.grad is None:
            continue  # not used by the forward pass
        indices = _sample_indices(tensor.numel(), per_tensor, generator)
        numeric, steps = _numeric_gradient(loss_of, tensor, indices, watch)
        kinks, kept = _kink_note(steps), ~steps.isnan()
        analytic, numeric, steps = tensor.grad.reshape(-1)[indices].double().cpu()[kept], numeric[kept], steps[kept]
        noise = float(torch.tensor([resolution(scale, step) for step in steps.tolist()]).norm())
        error = relative_error(analytic, numeric, noise / WARN_ERROR)  # the entries' error_floor, as a norm
        zero = len(steps) > 0 and bool(analytic.norm() <= noise and numeric.norm() <= noise)
        note = "; ".join(part for part in (ZERO if zero else "", kinks) if part)
        rows.append({"tensor": name, "relative_error": error, "verdict": grade(error, WARN_ERROR, FAIL_ERROR),
                     "custom_layer": False, "note": note})
    return rows


def _loss_function(forward, seed: int):
    """A deterministic loss: the same dropout masks at every call (the RNG is re-seeded each time)."""

    def loss_of(track: bool = False):
        with torch.random.fork_rng(devices=[torch.cuda.current_device()] if torch.cuda.is_available() else []):
            torch.manual_seed(seed)
            with torch.set_grad_enabled(track):
                loss = forward()
        return loss if track else float(loss)

    return loss_of


def is_custom_layer(module: nn.Module) -> bool:
    """A module defined outside torch that computes something itself (a leaf, or one with its own parameters)."""
    if type(module).__module__.startswith("torch."):
        return False
    own_parameters = any(True for _ in module.parameters(recurse=False))
    return own_parameters or not any(True for _ in module.children())


def _capture_inputs(model: nn.Module, images: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    modules = dict(model.named_modules())
    captured: dict[str, torch.Tensor] = {}
    def hook(name):
        def keep(_module, args):
            if args and torch.is_tensor(args[0]) and args[0].is_floating_point():
                captured.setdefault(name, args[0].detach().clone())
        return keep

    handles = [modules[name].register_forward_pre_hook(hook(name)) for name in names]
    run_with_hooks(model, images, handles)
    return captured


def _custom_layer_rows(model, images, per_tensor: int, seed: int, watch: KinkWatch) -> list[dict]:
    """Check each custom layer alone: loss = sum(layer(x) * r) for a fixed random r."""
    names = [name for name, module in model.named_modules() if name and is_custom_layer(module)]
    inputs = _capture_inputs(model, images, names)
    modules, rows = dict(model.named_modules()), []
    for name, layer_input in inputs.items():
        layer = modules[name]
        layer_input.requires_grad_(True)
        with torch.no_grad():
            weights = torch.randn(layer(layer_input).shape, dtype=torch.float64,
                                  generator=torch.Generator().manual_seed(seed)).to(layer_input.device)
        loss_of = _loss_function(lambda layer=layer, x=layer_input, r=weights: (layer(x) * r).sum(), seed)
        tensors = {"input": layer_input, **dict(layer.named_parameters())}
        # a sum of terms of both signs rounds relative to the sum of their magnitudes, not to its own size
        scale = lambda _loss, layer=layer, x=layer_input, r=weights: float((layer(x) * r).abs().sum())  # noqa: E731
        for row in _compare(loss_of, tensors, per_tensor, seed, watch, scale):
            rows.append(row | {"tensor": f"{name} ({type(layer).__name__}, custom): {row['tensor']}", "custom_layer": True})
    return rows


def _batch_norm_inputs(model: nn.Module, images: torch.Tensor) -> dict[str, str]:
    """For each module whose output goes straight into a batch norm: its name -> the batch norm's name."""
    modules = {name: module for name, module in model.named_modules() if name}
    outputs: list[tuple[str, torch.Tensor]] = []
    fed: dict[str, str] = {}

    def keep(name):
        def hook(_module, _args, output):
            if torch.is_tensor(output):
                outputs.append((name, output))
        return hook

    def match(name):
        def hook(_module, args):
            source = next((source for source, output in outputs if args and output is args[0]), None)
            if source is not None:
                fed[source] = name
        return hook

    handles = [module.register_forward_pre_hook(match(name)) if isinstance(module, nn.modules.batchnorm._BatchNorm)
               else module.register_forward_hook(keep(name)) for name, module in modules.items()]
    run_with_hooks(model, images, handles)
    return fed


def _note(rows: list[dict], fed: dict[str, str]) -> str:
    """Explain the tensors whose gradient is zero on both sides (a pass: autograd and the differences agree),
    and those whose steps crossed kinks."""
    before_norm, other = [], []
    for row in rows:
        if not row["note"].startswith(ZERO):
            continue
        module, _, parameter = row["tensor"].rpartition(".")
        if parameter == "bias" and module in fed:
            row["note"] = row["note"].replace(ZERO, f"{ZERO}: feeds {fed[module]} (batch norm)", 1)
            before_norm.append(row["tensor"])
        else:
            other.append(row["tensor"])
    notes = []
    if before_norm:
        notes.append(f"{', '.join(before_norm)}: no gradient, as expected: each bias feeds a batch norm, which "
                     "subtracts the per-channel batch mean, so a constant added before it cancels (Ioffe and Szegedy "
                     "2015, section 3.2); such a bias is never trained and could be left out (bias=False)")
    if other:
        notes.append(f"{', '.join(other)}: no gradient on either side at this input (the sampled entries do not "
                     "reach the loss here: units that never fire, entries a stride skips); autograd and the "
                     "differences agree")
    kinked = [row["tensor"] for row in rows if "kinks" in row["note"]]
    if kinked:
        notes.append(f"steps that crossed a kink (a ReLU input changing sign or a max pooling changing its winner "
                     f"between w - eps and w + eps) were taken again {STEPS[0] / STEPS[1]:g} and {STEPS[0] / STEPS[2]:g} "
                     f"times smaller, or left out if they still crossed one: {', '.join(kinked)}")
    return "; ".join(notes)


def gradient_check(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, per_tensor: int = 8,
                   seed: int = 0) -> CheckResult:
    """Compare autograd with central differences for every parameter tensor, the input and each custom layer.

    The model is copied and converted to float64; the original is left untouched.
    """
    checked = copy.deepcopy(model).double().train()
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    # a little noise breaks exact ties (max pooling over flat background): the gradient is checked at a
    # generic point, where the network is differentiable
    inputs = (images.detach().cpu().double() + 1e-2 * noise).to(images.device).requires_grad_(True)
    loss_of = _loss_function(lambda: F.cross_entropy(checked(inputs), labels), seed)
    tensors = {"input": inputs, **{name: p for name, p in checked.named_parameters() if p.requires_grad}}
    watch = KinkWatch(checked)
    try:
        rows = _compare(loss_of, tensors, per_tensor, seed, watch)
        rows += _custom_layer_rows(checked, inputs.detach(), per_tensor, seed, watch)
    finally:
        watch.close()
    note = _note(rows, _batch_norm_inputs(checked, inputs.detach()))
    # a failing custom layer is the likeliest culprit: tensors below it inherit its error
    custom_failures = [row for row in rows if row["custom_layer"] and row["verdict"] != PASS]
    nonzero = [row for row in rows if not row["note"].startswith(ZERO)]  # zeros agree to within rounding
    worst_row = max(custom_failures or nonzero or rows, key=lambda row: row["relative_error"])
    verdict = worst(row["verdict"] for row in rows)
    advice = ""
    if verdict != PASS:
        advice = (f"the backward of '{worst_row['tensor']}' disagrees with its forward: fix that layer's gradient "
                  "(a custom autograd.Function's backward), or look for non-differentiable steps (argmax, rounding)")
    measured = f"max relative error {worst_row['relative_error']:.1e} ({worst_row['tensor']})"
    zeros = sum(row["note"].startswith(ZERO) for row in rows)
    if zeros:
        measured += f"; {zeros} zero on both sides (see the note)"
    return CheckResult("gradient check", verdict, measured, f"< {WARN_ERROR:.0e} in float64", advice, rows, note)
