"""The playground's 2-D toy problems: each shape's rule holds at noise 0, noise flips labels near the
boundary, a seed fixes the draw, the split and the features are what they say."""

import numpy as np
import pytest

from striate.data.toy2d import EXTENT, TOYS, make_toy, plane_grid, split_toy, toy_features
from striate.errors import ConfigError


@pytest.mark.parametrize("name", sorted(TOYS))
def test_every_toy_is_balanced_inside_the_plane_and_fixed_by_its_seed(name):
    points, labels = make_toy(name, count=301, noise=0.2, seed=3)
    assert points.shape == (301, 2) and points.dtype == np.float32 and labels.dtype == np.int64
    assert set(labels.tolist()) == {0, 1} and abs(int(labels.sum()) - 150) <= 30  # about half each
    assert np.abs(points).max() <= EXTENT
    again, again_labels = make_toy(name, count=301, noise=0.2, seed=3)
    other, _ = make_toy(name, count=301, noise=0.2, seed=4)
    assert np.array_equal(points, again) and np.array_equal(labels, again_labels)
    assert not np.array_equal(points, other)


def test_at_noise_zero_each_shape_follows_its_rule():
    points, labels = make_toy("circles", 400, 0.0, 0)
    assert np.array_equal(np.hypot(points[:, 0], points[:, 1]) < 2.5, labels == 1)
    points, labels = make_toy("xor", 400, 0.0, 0)
    assert np.array_equal(points[:, 0] * points[:, 1] > 0, labels == 1) and np.abs(points).min() >= 0.3
    points, labels = make_toy("blobs", 400, 0.0, 0)
    assert np.array_equal(points.sum(axis=1) > 0, labels == 1)  # variance 0.5: no point crosses x + y = 0
    points, labels = make_toy("spirals", 400, 0.0, 0)
    first_arm = points[labels == 1]
    radius = np.hypot(first_arm[:, 0], first_arm[:, 1])
    angle = 1.75 * 2 * np.pi * radius / 5  # the arm turns 1.75 times on its way out to radius 5
    assert np.allclose(first_arm, np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1), atol=1e-4)
    assert not np.allclose(points[labels == 0][1:], first_arm[1:], atol=0.1)  # the other arm is elsewhere


def test_noise_flips_labels_near_the_boundary_and_widens_the_blobs():
    points, labels = make_toy("xor", 1000, 0.5, 0)
    disagree = (points[:, 0] * points[:, 1] > 0) != (labels == 1)
    assert 0.05 < disagree.mean() < 0.5
    tight, _ = make_toy("blobs", 1000, 0.0, 0)
    wide, _ = make_toy("blobs", 1000, 0.5, 0)
    assert wide.std() > tight.std() * 1.2


def test_split_features_and_grid():
    points, labels = make_toy("circles", 200, 0.0, 0)
    (train_points, train_labels), (test_points, test_labels) = split_toy(points, labels, 0.7)
    assert len(train_points) == len(train_labels) == 140 and len(test_points) == len(test_labels) == 60
    features = toy_features(points, ["x", "y", "x2", "y2", "xy", "sinx", "siny"])
    x, y = points[:, 0], points[:, 1]
    assert np.allclose(features, np.stack([x, y, x * x, y * y, x * y, np.sin(x), np.sin(y)], axis=1), atol=1e-5)
    grid = plane_grid(4)
    assert grid[0].tolist() == [-4.5, 4.5] and grid[-1].tolist() == [4.5, -4.5]  # top left first, bottom right last


@pytest.mark.parametrize("call, words", [
    (lambda: make_toy("moons"), "unknown toy data set 'moons'"),
    (lambda: make_toy("xor", noise=0.9), "noise must be in [0, 0.5]"),
    (lambda: toy_features(np.zeros((2, 2)), ["x", "cosx"]), "unknown input feature 'cosx'"),
    (lambda: split_toy(np.zeros((4, 2)), np.zeros(4), 1.0), "train_fraction must be between 0 and 1"),
])
def test_bad_arguments_say_what_is_wrong(call, words):
    with pytest.raises(ConfigError) as caught:
        call()
    assert words in str(caught.value)
