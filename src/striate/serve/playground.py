"""The playground's training sessions: a small MLP learning a 2-D toy problem (striate.data.toy2d) live on
the server, a few steps at a time, and what the page draws after each batch of steps: the step and epoch,
the train and test loss and accuracy, the decision boundary over the plane and every hidden unit's
response over the plane.

The parts are striate's own: the network is the zoo's ``mlp`` (one input per chosen feature, one hidden
layer per width), the optimizer comes from ``training.optim.build_optimizer`` (plain SGD; L2 is its weight
decay), L1 is the loop's penalty on the same decayed parameters, each step is ``training.loop.train_step``
and the losses are ``training.loop.evaluate`` on a two-class ``ClassificationTask``.

Sessions live in memory only, at most MAX_SESSIONS at once (the least recently used one goes first), and
nothing a request sends reaches the disk.

>>> session = PlaygroundSession(PlaygroundSettings(data="xor", hidden=[4, 2]))   # doctest: +SKIP
>>> session.train(100)["step"]                                                   # doctest: +SKIP
100
"""

import base64
import math
import secrets
import threading
from collections import OrderedDict

import numpy as np
import torch

from striate.data.toy2d import EXTENT, FEATURES, make_toy, plane_grid, split_toy, toy_features
from striate.models import create_model, tap_outputs
from striate.serve.playground_settings import ACTIVATIONS, PlaygroundSettings
from striate.tasks import ClassificationTask
from striate.training.config import OptimConfig
from striate.training.loop import StepOptions, evaluate, train_step
from striate.training.optim import build_optimizer
from striate.training.regularize import decayed_parameters

MAX_SESSIONS = 8  # sessions kept at once; a new one past this ends the least recently used
MAX_STEPS = 1000  # steps one request may ask for
BOUNDARY_SIZE = 64  # pixels a side of the decision boundary picture
UNIT_SIZE = 24  # pixels a side of each hidden unit's (and input feature's) picture
_BUILD_LOCK = threading.Lock()  # the weights are drawn from torch's global generator, seeded per session


def plane_picture(values: np.ndarray, size: int, scale: float | None = None) -> dict:
    """A ``size`` x ``size`` picture of ``values`` over the plane (one a grid cell, row by row from the
    top, as toy2d.plane_grid) as base64 bytes: 0 is -scale, 128 is 0, 255 is +scale (clipped), for a
    diverging colour map. ``scale`` defaults to the largest absolute value (1 when all are 0)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if scale is None:
        scale = float(np.abs(values).max()) or 1.0
    levels = np.clip(np.round((values / scale + 1) * 127.5), 0, 255).astype(np.uint8)
    return {"size": size, "scale": scale, "data": base64.b64encode(levels.tobytes()).decode("ascii")}


def _figure(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None  # JSON has no NaN: a diverged loss is null


class PlaygroundSession:
    """One learner's data, network and optimizer; ``train(count)`` takes steps and says where it stands."""

    def __init__(self, settings: PlaygroundSettings):
        self.settings = settings
        points, labels = make_toy(settings.data, settings.points, settings.noise, settings.seed)
        self.train_split, self.test_split = split_toy(points, labels, settings.train_fraction)
        self.train_inputs, self.train_labels = self._tensors(self.train_split)
        self.test_inputs, self.test_labels = self._tensors(self.test_split)
        with _BUILD_LOCK, torch.random.fork_rng(devices=[]):  # the same seed, the same first weights
            torch.manual_seed(settings.seed)
            self.model = create_model("mlp", num_classes=2, in_channels=len(settings.features), input_size=1,
                                      hidden=settings.hidden, activation=ACTIVATIONS[settings.activation])
        decay = settings.regularization_rate if settings.regularization == "l2" else 0.0
        self.optimizer = build_optimizer(self.model, OptimConfig(optimizer="sgd", lr=settings.lr, momentum=0.0,
                                                                 weight_decay=decay))
        l1 = settings.regularization_rate if settings.regularization == "l1" else 0.0
        self.options = StepOptions(l1=l1, l1_parameters=decayed_parameters(self.optimizer))
        self.task = ClassificationTask(num_classes=2)
        self.rng = np.random.default_rng(settings.seed)
        self.order, self.cursor = self.rng.permutation(len(self.train_labels)), 0
        self.step = self.seen = 0
        self.diverged = False
        self.lock = threading.Lock()  # one request at a time trains a session
        self.unit_names = [name for name, _ in self.model.features.named_children() if name.startswith("act")]

    def _tensors(self, split) -> tuple[torch.Tensor, torch.Tensor]:
        points, labels = split
        return torch.from_numpy(toy_features(points, self.settings.features)), torch.from_numpy(labels)

    def _next_batch(self) -> np.ndarray:
        size = min(self.settings.batch_size, len(self.order))
        if self.cursor + size > len(self.order):  # a new epoch: a fresh order (the last partial batch is dropped)
            self.order, self.cursor = self.rng.permutation(len(self.order)), 0
        batch = self.order[self.cursor:self.cursor + size]
        self.cursor += size
        return batch

    def train(self, count: int) -> dict:
        """Take ``count`` more steps (none once the loss has diverged) and return ``state()``."""
        with self.lock:
            self.model.train()
            for _ in range(count if not self.diverged else 0):
                batch = torch.from_numpy(self._next_batch())
                figures = train_step(self.model, self.train_inputs[batch], self.train_labels[batch], self.optimizer,
                                     self.task, self.options)
                self.step += 1
                self.seen += len(batch)
                if not math.isfinite(float(figures["loss"])):
                    self.diverged = True
                    break
            return self.state()

    def state(self) -> dict:
        """The step, the epoch (passes over the training points), the losses and accuracies on both splits,
        the decision boundary and every hidden unit's response over the plane."""
        train = evaluate(self.model, [(self.train_inputs, self.train_labels)], self.task)
        test = evaluate(self.model, [(self.test_inputs, self.test_labels)], self.task)
        return {"step": self.step, "epoch": self.seen // len(self.train_labels), "diverged": self.diverged,
                "train_loss": _figure(train["loss"]), "test_loss": _figure(test["loss"]),
                "train_accuracy": float(train["accuracy"]), "test_accuracy": float(test["accuracy"]),
                **self.pictures()}

    @torch.no_grad()
    def pictures(self) -> dict:
        """``boundary``: P(class 1) over the plane drawn from -1 (class 0) to +1 (class 1); ``layers``: each
        hidden layer's units, every one its output over the plane, scaled by its largest absolute value."""
        self.model.eval()
        grid = torch.from_numpy(toy_features(plane_grid(BOUNDARY_SIZE), self.settings.features))
        probability = torch.softmax(self.model(grid), dim=1)[:, 1].numpy()
        boundary = plane_picture(2 * probability - 1, BOUNDARY_SIZE, scale=1.0)
        grid = torch.from_numpy(toy_features(plane_grid(UNIT_SIZE), self.settings.features))
        taps = tap_outputs(self.model, grid, [f"features.{name}" for name in self.unit_names])
        layers = [[plane_picture(unit, UNIT_SIZE) for unit in taps[f"features.{name}"].T.numpy()]
                  for name in self.unit_names]
        return {"boundary": boundary, "layers": layers}

    def description(self) -> dict:
        """What stays fixed for the session: the plane's extent, the points of both splits (x, y and label
        0 or 1) and every input feature's picture over the plane (``used``: whether the network reads it)."""
        grid = toy_features(plane_grid(UNIT_SIZE), list(FEATURES))
        return {"extent": EXTENT, "train": _points(self.train_split), "test": _points(self.test_split),
                "features": [{"name": name, "used": name in self.settings.features,
                              **plane_picture(grid[:, index], UNIT_SIZE)} for index, name in enumerate(FEATURES)],
                "parameters": sum(p.numel() for p in self.model.parameters())}


def _points(split) -> list[list[float]]:
    points, labels = split
    return [[round(float(x), 3), round(float(y), 3), int(label)] for (x, y), label in zip(points, labels)]


class SessionStore:
    """At most ``capacity`` sessions by id, in memory; making one past that ends the least recently used."""

    def __init__(self, capacity: int = MAX_SESSIONS):
        self.capacity = capacity
        self.sessions: OrderedDict[str, PlaygroundSession] = OrderedDict()
        self.lock = threading.Lock()

    def create(self, settings: PlaygroundSettings) -> tuple[str, PlaygroundSession]:
        session = PlaygroundSession(settings)  # built outside the lock: bad settings never evict anyone
        key = secrets.token_urlsafe(12)
        with self.lock:
            self.sessions[key] = session
            while len(self.sessions) > self.capacity:
                self.sessions.popitem(last=False)
        return key, session

    def get(self, key: str) -> PlaygroundSession | None:
        with self.lock:
            session = self.sessions.get(key)
            if session is not None:
                self.sessions.move_to_end(key)
            return session

    def delete(self, key: str) -> bool:
        with self.lock:
            return self.sessions.pop(key, None) is not None
