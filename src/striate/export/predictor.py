"""The Predictor: a trained run as a function from images to top-k classes and probabilities.

It applies the run's recorded preprocessing (``striate.data.images``), batches the work, and
serialises its calls with a lock, so one Predictor can serve many threads (each call still uses
every core through torch's own intra-op threads). Decoding sits inside the lock too: first-time
lazy imports and source parsing in torch and Pillow are not safe to race on CPython 3.11
(concurrent ``ast.parse`` can fail with "AST constructor recursion depth mismatch").
``striate predict`` and ``striate serve`` both go through it, so they give the same answers.

>>> predictor = Predictor.from_run("runs/lenet5-mnist")          # doctest: +SKIP
>>> predictor.predict(["digit.png"], top_k=2)                     # doctest: +SKIP
[[{'class': '7', 'probability': 0.98}, {'class': '1', 'probability': 0.01}]]
"""

import threading
from pathlib import Path

import torch
from torch import nn

from striate.data.images import as_image, to_network_input
from striate.errors import ConfigError, ModelError, RunError, did_you_mean
from striate.session import load_run_model
from striate.tasks import ClassificationTask, task_kind

# Leaves that show nothing new when drawn: reshapes and train-time-only noise.
_SILENT_LAYERS = (nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout2d, nn.Identity)


class Predictor:
    """Top-k classification of images with a trained model and its preprocessing.

    ``meta`` is the run's model.json (class names and the ``preprocess`` record).
    """

    def __init__(self, model: nn.Module, meta: dict, batch_size: int = 64, device: str | torch.device = "cpu"):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        if task_kind(meta.get("task", ClassificationTask.name)) is not ClassificationTask:
            raise RunError(f"this is a {meta['task']} run; the Predictor (and 'striate serve') gives classes. Use "
                           "'striate predict RUN IMAGE... --out DIR' for its masks, keypoints or reconstructions")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.meta = meta
        self.preprocess = meta["preprocess"]
        self.class_names = list(meta["class_names"])
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @classmethod
    def from_run(cls, run_dir: str | Path, weights: str = "best", batch_size: int = 64,
                 device: str | torch.device = "cpu") -> "Predictor":
        """Load the run's model (``best`` or ``last`` weights) and preprocessing."""
        model, meta = load_run_model(run_dir, weights, device)
        return cls(model, meta, batch_size, device)

    @property
    def channels(self) -> int:
        return int(self.preprocess["channels"])

    def prepare(self, images: list) -> torch.Tensor:
        """Images (paths, arrays, tensors, PIL images, bytes) -> the normalised network input batch."""
        decoded = [as_image(image, self.channels) for image in images]  # all decoded before any work
        return to_network_input(decoded, self.preprocess)

    @torch.no_grad()
    def probabilities(self, images: list) -> torch.Tensor:
        """``N x num_classes`` class probabilities (softmax of the logits), computed in batches."""
        images, rows = list(images), []
        with self._lock:
            inputs = self.prepare(images)
            for start in range(0, len(inputs), self.batch_size):
                batch = inputs[start:start + self.batch_size].to(self.device)
                rows.append(torch.softmax(self.model(batch), dim=1).cpu())
        return torch.cat(rows) if rows else torch.zeros(0, len(self.class_names))

    def predict(self, images: list, top_k: int = 3) -> list[list[dict]]:
        """For each image, the ``top_k`` classes as ``{"class": name, "probability": p}``, most likely first."""
        return self.top_classes(self.probabilities(images), top_k)

    def top_classes(self, probabilities: torch.Tensor, top_k: int) -> list[list[dict]]:
        k = max(1, min(int(top_k), probabilities.shape[1]))
        values, indices = probabilities.topk(k, dim=1)
        return [[{"class": self.class_names[i], "probability": float(p)} for p, i in zip(row_p, row_i)]
                for row_p, row_i in zip(values.tolist(), indices.tolist())]

    def layer_names(self) -> list[str]:
        """The layers worth drawing, in forward order: every leaf module except reshapes and dropout."""
        return [name for name, module in self.model.named_modules()
                if name and not list(module.children()) and not isinstance(module, _SILENT_LAYERS)]

    @torch.no_grad()
    def explain(self, image, top_k: int = 3, layers: list[str] | None = None) -> dict:
        """One image through the network: its top classes, the network input and the outputs of
        ``layers`` (default: every layer of :meth:`layer_names`).

        Returns ``{"top": [...], "input": C x H x W, "layers": [(name, output without the batch axis), ...]}``.
        """
        names = self.layer_names() if layers is None else list(layers)
        modules = dict(self.model.named_modules())
        unknown = [name for name in names if name not in modules]
        if unknown:
            raise ModelError(f"no layer named '{unknown[0]}'{did_you_mean(unknown[0], modules)}")
        outputs: dict[str, torch.Tensor] = {}
        with self._lock:  # hooks change the shared model, so they live and die inside the lock
            inputs = self.prepare([image]).to(self.device)
            handles = [modules[name].register_forward_hook(
                lambda _m, _i, out, name=name: outputs.__setitem__(name, out.detach().cpu()[0]))
                for name in names]
            try:
                logits = self.model(inputs)
            finally:
                for handle in handles:
                    handle.remove()
        probabilities = torch.softmax(logits, dim=1).cpu()
        layers = [(name, outputs[name]) for name in names if name in outputs]
        return {"top": self.top_classes(probabilities, top_k)[0], "input": inputs[0].cpu(), "layers": layers}
