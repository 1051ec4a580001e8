"""Layer monitors during training (``run.monitor``; the thresholds are shared with striate check): activation mean/std, dead ReLUs, gradient norms, update/weight ratios.

Opt-in (``run.monitor: true``). The monitor attaches forward hooks to the model's layers and
step hooks to the optimizer, so the training loop itself is unchanged. Every ``every``-th step
is measured (the others cost one flag test per layer); figures stay on the device until the
epoch ends, then :meth:`LayerMonitor.epoch_figures` averages them, resets, and lists warnings.

The update/weight ratio is ||w_after - w_before|| / ||w_before|| for one step: about 1e-3 is
healthy (CS231n, "Ratio of weights:updates"); much lower means the learning rate is too low,
much higher that it is too high.

>>> monitor = LayerMonitor(model, optimizer, every=10)   # doctest: +SKIP
>>> train_epoch(model, optimizer, loader)                 # doctest: +SKIP
>>> figures = monitor.epoch_figures()                     # doctest: +SKIP
>>> figures["monitor_warnings"]                            # doctest: +SKIP
['features.act2: 64% of ReLU channels dead']
>>> monitor.close()                                        # doctest: +SKIP
"""

from collections import defaultdict

import torch
from torch import nn

RELUS = (nn.ReLU, nn.ReLU6)
SKIPPED = (nn.Dropout, nn.Dropout2d, nn.Flatten, nn.Identity)
STD_WARN, STD_FAIL = (1e-3, 1e2), (1e-6, 1e4)  # healthy activation std lies inside the warn band
DEAD_WARN, DEAD_FAIL = 0.25, 0.5  # fraction of dead ReLU channels (some dead units at init are common)
GRAD_WARN, GRAD_FAIL = (1e-5, 1e1), (1e-9, 1e3)  # gradient norm of one parameter tensor


def watched_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The leaf modules whose outputs are worth watching (not dropout, flatten or identity)."""
    return {name: module for name, module in model.named_modules()
            if name and not any(True for _ in module.children()) and not isinstance(module, SKIPPED)}


def dead_share(output: torch.Tensor) -> torch.Tensor:
    """Share of channels (dim 1) that are zero for every sample and position, as a 0-d tensor (no device sync)."""
    alive = (output > 0).transpose(0, 1).reshape(output.shape[1], -1).any(dim=1)
    return 1.0 - alive.float().mean()


UPDATE_RATIO_BAND = (1e-5, 1e-1)  # warned outside; about 1e-3 is healthy


def _activation_figures(output: torch.Tensor, is_relu: bool) -> dict[str, torch.Tensor]:
    output = output.detach().float()
    figures = {"mean": output.mean(), "std": output.std(correction=0)}
    if is_relu:
        figures["dead_fraction"] = dead_share(output)
    return figures


class LayerMonitor:
    """Per-layer statistics of a model being trained by ``optimizer``; :meth:`close` removes every hook."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, every: int = 10):
        self.every = max(1, int(every))
        self.steps = 0
        self.armed = True  # measure the next training step
        self.parameters = {name: p for name, p in model.named_parameters() if p.requires_grad}
        self.before: dict[str, torch.Tensor] = {}
        self.sums: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.handles = [module.register_forward_hook(self._forward_hook(name, isinstance(module, RELUS)))
                        for name, module in watched_layers(model).items()]
        self.handles.append(optimizer.register_step_pre_hook(self._before_step))
        self.handles.append(optimizer.register_step_post_hook(self._after_step))

    def _forward_hook(self, name: str, is_relu: bool):
        def hook(module, _inputs, output):
            if self.armed and module.training and torch.is_tensor(output):
                for key, value in _activation_figures(output, is_relu).items():
                    self.sums[name][key].append(value)
        return hook

    def _before_step(self, _optimizer, _args, _kwargs) -> None:
        if not self.armed:
            return
        for name, parameter in self.parameters.items():
            if parameter.grad is not None:
                self.sums[name]["grad_norm"].append(parameter.grad.detach().norm())
                self.before[name] = parameter.detach().clone()

    def _after_step(self, _optimizer, _args, _kwargs) -> None:
        if self.armed:
            for name, old in self.before.items():
                ratio = (self.parameters[name].detach() - old).norm() / old.norm().clamp_min(1e-12)
                self.sums[name]["update_ratio"].append(ratio)
            self.before = {}
        self.steps += 1
        self.armed = self.steps % self.every == 0

    def epoch_figures(self) -> dict:
        """{'monitor': {layer or tensor: {figure: mean over the measured steps}}, 'monitor_warnings': [...]}; resets."""
        figures = {name: {key: float(torch.stack(values).float().mean()) for key, values in entries.items()}
                   for name, entries in self.sums.items()}
        self.sums.clear()
        return {"monitor": figures, "monitor_warnings": warnings_for(figures)}

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def warnings_for(figures: dict[str, dict[str, float]]) -> list[str]:
    """One line per figure out of its healthy range."""
    lines = []
    for name, values in figures.items():
        if "dead_fraction" in values and values["dead_fraction"] > DEAD_FAIL:
            lines.append(f"{name}: {100 * values['dead_fraction']:.0f}% of ReLU channels dead (lower the learning "
                         "rate, check the initialisation)")
        if "std" in values and not STD_FAIL[0] <= values["std"] <= STD_FAIL[1]:
            lines.append(f"{name}: activation std {values['std']:.2g} (vanishing or exploding activations)")
        if "grad_norm" in values and not GRAD_FAIL[0] <= values["grad_norm"] <= GRAD_FAIL[1]:
            lines.append(f"{name}: gradient norm {values['grad_norm']:.2g} (vanishing or exploding gradients)")
        ratio = values.get("update_ratio")
        if ratio is not None and name.endswith("weight") and not UPDATE_RATIO_BAND[0] <= ratio <= UPDATE_RATIO_BAND[1]:
            lines.append(f"{name}: update/weight ratio {ratio:.1e} (about 1e-3 is healthy: the learning rate is "
                         f"{'too low' if ratio < UPDATE_RATIO_BAND[0] else 'too high'})")
    return lines
