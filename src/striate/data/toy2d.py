"""Two-class toy problems on the plane, for the playground (striate.serve.playground): circles, XOR,
two spiral arms and two Gaussian blobs, drawn with numpy from a seed, and the input features a small
network may be given (x, y, x², y², xy, sin x, sin y).

The shapes and their noise follow the TensorFlow playground (Smilkov and Carter 2016,
playground.tensorflow.org, dataset.ts): points live in about [-6, 6]², class 1 (the playground's blue)
is the inner disc, the quadrants where x·y > 0, the arm starting at angle 0 and the blob at (2, 2).
``noise`` runs from 0 (clean) to 0.5: it moves the labelling point for circles and XOR (so labels near
the boundary flip), jitters the spiral points and widens the blobs.

>>> points, labels = make_toy("xor", count=200, noise=0.0, seed=0)
>>> points.shape, labels.shape, sorted(set(labels.tolist()))
((200, 2), (200,), [0, 1])
>>> bool(((points[:, 0] * points[:, 1] > 0) == (labels == 1)).all())   # noise 0: labels are the quadrants
True
"""

import numpy as np

from striate.errors import ConfigError, did_you_mean

EXTENT = 6.0  # the plane shown and sampled: [-EXTENT, EXTENT] on both axes
MAX_NOISE = 0.5


def circles(count: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half the points in a disc of radius 2.5 (class 1), half in a ring from 3.5 to 5 (class 0); each
    label is read at the point moved by up to ``noise`` * 5 on each axis."""
    radius, inner = 5.0, count // 2
    distances = np.concatenate([rng.uniform(0, radius * 0.5, inner), rng.uniform(radius * 0.7, radius, count - inner)])
    angles = rng.uniform(0, 2 * np.pi, count)
    points = np.stack([distances * np.sin(angles), distances * np.cos(angles)], axis=1)
    moved = points + rng.uniform(-radius, radius, (count, 2)) * noise
    labels = np.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5
    return points, labels


def xor(count: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-5, 5]², pushed 0.3 away from the axes; class 1 where x·y > 0 at the point moved
    by up to ``noise`` * 5 on each axis."""
    points = rng.uniform(-5, 5, (count, 2))
    points += np.where(points > 0, 0.3, -0.3)  # a gap along both axes
    moved = points + rng.uniform(-5, 5, (count, 2)) * noise
    return points, moved[:, 0] * moved[:, 1] > 0


def spirals(count: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two arms of 1.75 turns from the centre out to radius 5, the second turned by pi; every point moved
    by up to ``noise`` on each axis. Class 1 is the arm that starts at angle 0."""
    halves = []
    for arm, size in enumerate((count // 2, count - count // 2)):
        share = np.arange(size) / size
        angle = 1.75 * share * 2 * np.pi + arm * np.pi
        arm_points = np.stack([5 * share * np.sin(angle), 5 * share * np.cos(angle)], axis=1)
        halves.append(arm_points + rng.uniform(-1, 1, (size, 2)) * noise)
    labels = np.arange(count) < count // 2
    return np.concatenate(halves), labels


def blobs(count: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs at (2, 2) (class 1) and (-2, -2) (class 0); their variance grows from 0.5 at
    noise 0 to 4 at noise 0.5. The rare point beyond the plane is clipped to its edge, so that every point
    is drawn."""
    variance = 0.5 + (4 - 0.5) * noise / MAX_NOISE
    labels = np.arange(count) < count // 2
    centres = np.where(labels[:, None], 2.0, -2.0)
    return np.clip(centres + rng.normal(0, np.sqrt(variance), (count, 2)), -EXTENT, EXTENT), labels


TOYS = {"circles": circles, "xor": xor, "spirals": spirals, "blobs": blobs}


def make_toy(name: str, count: int = 500, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points (float32, N x 2) of the toy problem ``name`` and their labels (int64, 0 or 1),
    in a shuffled order fixed by ``seed``."""
    if name not in TOYS:
        raise ConfigError(f"unknown toy data set '{name}'{did_you_mean(name, TOYS)}; expected one of {sorted(TOYS)}")
    if not 0 <= noise <= MAX_NOISE:
        raise ConfigError(f"noise must be in [0, {MAX_NOISE}], got {noise}")
    if count < 2:
        raise ConfigError(f"a toy data set needs at least 2 points, got {count}")
    rng = np.random.default_rng(seed)
    points, labels = TOYS[name](count, noise, rng)
    order = rng.permutation(count)
    return points[order].astype(np.float32), labels[order].astype(np.int64)


def split_toy(points: np.ndarray, labels: np.ndarray, train_fraction: float) -> tuple[tuple, tuple]:
    """``(train_points, train_labels), (test_points, test_labels)``: the first ``train_fraction`` of the
    (already shuffled) points train, the rest test; each side keeps at least one point."""
    if not 0 < train_fraction < 1:
        raise ConfigError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    cut = min(max(int(round(len(points) * train_fraction)), 1), len(points) - 1)
    return (points[:cut], labels[:cut]), (points[cut:], labels[cut:])


FEATURES = {  # the TensorFlow playground's inputs, each a function of the N x 2 points
    "x": lambda p: p[:, 0],
    "y": lambda p: p[:, 1],
    "x2": lambda p: p[:, 0] ** 2,
    "y2": lambda p: p[:, 1] ** 2,
    "xy": lambda p: p[:, 0] * p[:, 1],
    "sinx": lambda p: np.sin(p[:, 0]),
    "siny": lambda p: np.sin(p[:, 1]),
}


def toy_features(points: np.ndarray, names: list[str]) -> np.ndarray:
    """The N x len(names) float32 inputs ``names`` (keys of FEATURES) of ``points``.

    >>> toy_features(np.array([[2.0, 3.0]]), ["x", "xy", "y2"]).tolist()
    [[2.0, 6.0, 9.0]]
    """
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown input feature '{unknown[0]}'{did_you_mean(unknown[0], FEATURES)}; "
                          f"expected some of {list(FEATURES)}")
    if not names:
        raise ConfigError(f"choose at least one input feature of {list(FEATURES)}")
    return np.stack([FEATURES[name](points) for name in names], axis=1).astype(np.float32)


def plane_grid(size: int, extent: float = EXTENT) -> np.ndarray:
    """The centres of a ``size`` x ``size`` grid of cells over [-extent, extent]², row by row from the top
    (y = +extent) down, as (size², 2) points: the pixels of a picture of the plane.

    >>> plane_grid(2, extent=1.0).tolist()
    [[-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]]
    """
    centres = (np.arange(size) + 0.5) / size * 2 * extent - extent
    xs, ys = np.meshgrid(centres, centres[::-1])
    return np.stack([xs.ravel(), ys.ravel()], axis=1)
