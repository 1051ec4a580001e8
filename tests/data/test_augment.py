"""Augmentations: named in recipes, seeded draws, one draw for images, masks and keypoints."""

import pytest
import torch

from striate.data.augment import AUGMENTATIONS, build_augment
from striate.errors import ConfigError


def test_every_augmentation_keeps_shape_and_is_reproducible():
    images = torch.rand(6, 3, 16, 16)
    for name in AUGMENTATIONS:
        augmenter = build_augment([name])
        first = augmenter(images.clone(), torch.Generator().manual_seed(3))
        again = augmenter(images.clone(), torch.Generator().manual_seed(3))
        other = augmenter(images.clone(), torch.Generator().manual_seed(4))
        assert first.shape == images.shape, name
        assert torch.equal(first, again), name
        assert not torch.equal(first, other), name  # the draw depends on the seed
        assert not torch.equal(first, images), name  # and changes something


def test_recipe_entries_with_parameters_and_errors():
    augmenter = build_augment(["translate", {"crop": {"padding": 2, "mode": "reflect"}}, {"hflip": None}])
    assert [type(step).__name__ for step in augmenter.steps] == ["Translate", "Crop", "HorizontalFlip"]
    assert augmenter.steps[1].padding == 2
    assert build_augment([]) is None
    with pytest.raises(ConfigError, match="did you mean 'rotate'"):
        build_augment(["rotat"])
    with pytest.raises(ConfigError, match="bad parameters"):
        build_augment([{"rotate": {"angle": 3}}])
    with pytest.raises(ConfigError, match="each entry"):
        build_augment([["hflip"]])


def test_hflip_draw_fixed_by_the_test():
    augmenter = build_augment([{"hflip": {"p": 1.0}}])
    image = torch.arange(4.0).view(1, 1, 2, 2)
    draws = augmenter.draw(image.shape, torch.Generator().manual_seed(0))
    assert augmenter.apply(image, draws)[0][0, 0].tolist() == [[1.0, 0.0], [3.0, 2.0]]


@pytest.mark.parametrize("entries", [["hflip", "vflip"], [{"translate": {"max_shift": 3}}], [{"crop": {"padding": 3}}],
                                     [{"rotate": {"degrees": 180}}], [{"scale": {"low": 0.8, "high": 1.25}}]])
def test_one_draw_moves_images_masks_and_keypoints_together(entries):
    size, count = 15, 16
    generator = torch.Generator().manual_seed(1)
    xs = torch.randint(4, 11, (count,))
    ys = torch.randint(4, 11, (count,))
    images = torch.zeros(count, 1, size, size)
    images[torch.arange(count), 0, ys, xs] = 1.0
    masks = images.long()
    points = torch.stack([xs, ys], dim=-1).float().unsqueeze(1)
    augmenter = build_augment(entries)
    out_images, out_masks, out_points = augmenter.apply(images, augmenter.draw(images.shape, generator), masks, points)
    grid_y, grid_x = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    for index in range(count):
        weights = out_images[index, 0]
        if weights.sum() < 0.5:  # the dot left the picture
            continue
        centroid = torch.stack([(weights * grid_x).sum(), (weights * grid_y).sum()]) / weights.sum()
        assert torch.allclose(centroid, out_points[index, 0], atol=0.75), (index, centroid, out_points[index, 0])
        mask_pixels = torch.nonzero(out_masks[index, 0]).float()
        if len(mask_pixels):  # the mask's pixel (nearest sampling) sits on the keypoint too
            assert (mask_pixels.flip(-1) - out_points[index, 0]).abs().max() <= 1.0
    assert out_masks.dtype == torch.long


def test_keypoint_swap_map_on_flip():
    augmenter = build_augment([{"hflip": {"p": 1.0}}])
    points = torch.tensor([[[2.0, 5.0], [6.0, 5.0]]])  # (left, right) in an 8-wide image
    draws = augmenter.draw((1, 1, 8, 8), torch.Generator().manual_seed(0))
    _, _, moved = augmenter.apply(torch.zeros(1, 1, 8, 8), draws, keypoints=points, swap=[1, 0])
    assert moved.tolist() == [[[1.0, 5.0], [5.0, 5.0]]]  # left point is now the mirrored right one


def test_lighting_uses_the_fitted_eigen_decomposition():
    stats = {"rgb_eigenvalues": [1.0, 0.0, 0.0], "rgb_eigenvectors": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}
    augmenter = build_augment(["lighting"], stats)
    out = augmenter(torch.zeros(4, 3, 2, 2), torch.Generator().manual_seed(0))
    assert out[:, 1:].abs().max() == 0 and out[:, 0].abs().max() > 0  # only the red axis moves


def test_uint8_batches_give_the_float_result():
    images = torch.randint(0, 256, (8, 3, 12, 12), dtype=torch.uint8)
    augmenter = build_augment(["hflip", {"crop": {"padding": 3, "mode": "reflect"}}, "translate", "rotate", "noise"])
    from_uint8 = augmenter(images, torch.Generator().manual_seed(5))
    from_float = augmenter(images.float().div(255), torch.Generator().manual_seed(5))
    assert from_uint8.dtype == torch.float32 and torch.allclose(from_uint8, from_float, atol=1e-6)
    only_exact = build_augment(["vflip"])(images, torch.Generator().manual_seed(0))
    assert only_exact.dtype == torch.float32 and only_exact.max() <= 1.0
