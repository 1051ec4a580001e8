"""One augmentation draw moves images with their masks or keypoints, through the tasks' loader."""

import numpy as np
import pytest
import torch

from striate.data.augment import build_augment
from striate.tasks.data import TargetSet, read_keypoints, swap_map
from striate.tasks.loader import TaskLoader
from striate.tasks.synthetic import draw_dots, make_keypoint_dots
from striate.tasks import KeypointTask, SegmentationTask

NAN = float("nan")


def test_swap_map_pairs_left_and_right_names():
    names = [f"{p}_{a}" for p in ("left_eye_center", "right_eye_center", "nose_tip", "mouth_left_corner",
                                   "mouth_right_corner") for a in "xy"]
    assert swap_map(names) == [1, 0, 2, 4, 3]


def _blob_masks(count=6, size=16, seed=0):
    """Images whose bright pixels are exactly the pixels of class 1 (4x4-pixel blocks)."""
    generator = torch.Generator().manual_seed(seed)
    masks = (torch.rand(count, 1, size // 4, size // 4, generator=generator) > 0.6).to(torch.uint8)
    masks = masks.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)
    return TargetSet(masks * 200, masks, ["background", "blob"])


def test_masks_move_with_their_images():
    data = _blob_masks()
    task = SegmentationTask(num_classes=2)
    augment = build_augment(["hflip", {"translate": {"max_shift": 3}}, {"rotate": {"degrees": 30}}])
    loader = TaskLoader(data, task, batch_size=6, normalize=lambda x: x, shuffle=True, seed=1, augment=augment)
    images, masks = next(iter(loader))
    assert masks.shape == (6, 16, 16) and masks.dtype == torch.long
    assert not torch.equal(masks, data.targets[:, 0].long())  # something moved
    bright = images[:, 0] > 0.5  # nearest-neighbour mask vs bilinear image: compare away from the blob edges
    assert (bright == (masks == 1)).float().mean() > 0.9
    flip_only = TaskLoader(data, task, 6, lambda x: x, augment=build_augment([{"hflip": {"p": 1.0}}]))
    images, masks = next(iter(flip_only))
    assert torch.equal((images[:, 0] > 0.5), masks == 1)
    assert torch.equal(masks, data.targets[:, 0].long().flip(-1))


def _dots_set(size=24):
    points = np.array([[[17.0, 6.0], [5.0, 7.0], [12.0, 18.0]]])  # left eye (image right), right eye, nose
    image = draw_dots(points[0], size, np.random.default_rng(0))
    targets = torch.tensor(points.reshape(1, -1), dtype=torch.float32)
    targets[0, 4:] = NAN  # the nose's target is missing
    return TargetSet(torch.from_numpy(image)[None, None], targets / ((size - 1) / 2) - 1, []), image


def test_flip_mirrors_points_and_swaps_left_and_right():
    data, image = _dots_set()
    task = KeypointTask(24, swap=[1, 0, 2])
    loader = TaskLoader(data, task, 1, lambda x: x, augment=build_augment([{"hflip": {"p": 1.0}}]))
    images, targets = next(iter(loader))
    points = (targets.view(-1, 2) + 1) * 23 / 2
    flipped = np.fliplr(image)
    # the left eye is still on the image's right, at the mirrored right eye's place, where a dot is
    assert points[0].tolist() == pytest.approx([23 - 5.0, 7.0]) and points[1].tolist() == pytest.approx([23 - 17.0, 6.0])
    for x, y in points[:2].round().long().tolist():
        assert flipped[y, x] > 120 and images[0, 0, y, x] * 255 > 120
    assert torch.isnan(points[2]).all()  # missing stays missing


def test_keypoint_targets_follow_the_dots_under_shifts(tmp_path):
    data = read_keypoints(make_keypoint_dots(tmp_path / "dots.csv", count=8, size=24, missing_rate=0.0))
    task = KeypointTask(24, swap_map(data.names))
    loader = TaskLoader(data, task, 8, lambda x: x, shuffle=True, seed=3,
                        augment=build_augment(["hflip", {"translate": {"max_shift": 2}}]))
    images, targets = next(iter(loader))
    points = ((targets.view(8, -1, 2) + 1) * 23 / 2).round().long()
    inside = ((points >= 0) & (points < 24)).all(dim=2)
    values = torch.stack([images[n, 0, y, x] for n in range(8) for (x, y) in points[n].tolist()
                          if 0 <= x < 24 and 0 <= y < 24])
    assert inside.float().mean() > 0.9 and (values > 100 / 255).all()  # every kept point sits on a dot
