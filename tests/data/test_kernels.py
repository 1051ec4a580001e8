"""Pure augmentation kernels: exact outputs on small tensors, and keypoints moved with their image."""

import math

import pytest
import torch

from striate.data import kernels

IMAGE = torch.arange(1.0, 10.0).view(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]


def test_hflip_and_vflip_of_a_known_image():
    flags = torch.tensor([True])
    assert kernels.hflip(IMAGE, flags)[0, 0].tolist() == [[3, 2, 1], [6, 5, 4], [9, 8, 7]]
    assert kernels.vflip(IMAGE, flags)[0, 0].tolist() == [[7, 8, 9], [4, 5, 6], [1, 2, 3]]
    assert torch.equal(kernels.hflip(IMAGE, torch.tensor([False])), IMAGE)


def test_flip_applies_per_image():
    batch = torch.cat([IMAGE, IMAGE])
    out = kernels.hflip(batch, torch.tensor([False, True]))
    assert torch.equal(out[0], IMAGE[0]) and out[1, 0, 0].tolist() == [3, 2, 1]


def test_translate_shifts_and_fills_with_zeros():
    out = kernels.translate(IMAGE, torch.tensor([[1, -1]]))  # one down, one left
    assert out[0, 0].tolist() == [[0, 0, 0], [2, 3, 0], [5, 6, 0]]


def test_pad_crop_zero_and_reflect():
    corners = torch.tensor([[0, 0]])  # the window's top-left at the padded corner: content moves right/down
    assert kernels.pad_crop(IMAGE, corners, 1)[0, 0].tolist() == [[0, 0, 0], [0, 1, 2], [0, 4, 5]]
    assert kernels.pad_crop(IMAGE, corners, 1, "reflect")[0, 0].tolist() == [[5, 4, 5], [2, 1, 2], [5, 4, 5]]
    assert torch.equal(kernels.pad_crop(IMAGE, torch.tensor([[1, 1]]), 1), IMAGE)  # centred window


def test_rotation_by_90_degrees_matches_rot90():
    image = torch.rand(2, 3, 6, 6)
    matrices = kernels.rotation_scale_matrices(torch.tensor([90.0, -90.0]), torch.ones(2))
    out = kernels.affine(image, matrices)
    assert torch.allclose(out[0], torch.rot90(image[0], 1, dims=(-2, -1)), atol=1e-5)  # counter-clockwise
    assert torch.allclose(out[1], torch.rot90(image[1], -1, dims=(-2, -1)), atol=1e-5)


def test_identity_affine_and_scaling_about_the_centre():
    image = torch.rand(1, 1, 5, 5)
    identity = kernels.rotation_scale_matrices(torch.zeros(1), torch.ones(1))
    assert torch.allclose(kernels.affine(image, identity), image, atol=1e-6)
    zoomed = kernels.affine(image, kernels.rotation_scale_matrices(torch.zeros(1), torch.tensor([2.0])))
    assert zoomed[0, 0, 2, 2] == pytest.approx(float(image[0, 0, 2, 2]), abs=1e-6)  # the centre stays


def _dot_image(x: int, y: int, size: int = 9) -> torch.Tensor:
    image = torch.zeros(1, 1, size, size)
    image[0, 0, y, x] = 1.0
    return image


def _brightest(image: torch.Tensor) -> tuple[int, int]:
    index = int(image[0, 0].argmax())
    return index % image.shape[-1], index // image.shape[-1]  # (x, y)


@pytest.mark.parametrize("case", ["hflip", "vflip", "translate", "crop", "rot90", "rot180"])
def test_keypoints_move_with_their_image(case):
    x, y = 2, 1
    image, point = _dot_image(x, y), torch.tensor([[[float(x), float(y)]]])
    yes = torch.tensor([True])
    if case in ("hflip", "vflip"):
        axis = 0 if case == "hflip" else 1
        moved_image = (kernels.hflip if axis == 0 else kernels.vflip)(image, yes)
        moved_point = kernels.flip_keypoints(point, yes, 9, axis)
    elif case == "translate":
        shifts = torch.tensor([[2, 3]])
        moved_image, moved_point = kernels.translate(image, shifts), kernels.translate_keypoints(point, shifts)
    elif case == "crop":
        corners = torch.tensor([[0, 3]])
        moved_image, moved_point = kernels.pad_crop(image, corners, 2), kernels.pad_crop_keypoints(point, corners, 2)
    else:
        matrices = kernels.rotation_scale_matrices(torch.tensor([90.0 if case == "rot90" else 180.0]), torch.ones(1))
        moved_image, moved_point = kernels.affine(image, matrices), kernels.affine_keypoints(point, matrices, 9, 9)
    assert _brightest(moved_image) == tuple(round(v) for v in moved_point[0, 0].tolist())


def test_rotation_of_a_keypoint_by_90_degrees_exactly():
    point = torch.tensor([[[8.0, 4.0]]])  # right edge, middle row of a 9x9 image
    matrices = kernels.rotation_scale_matrices(torch.tensor([90.0]), torch.ones(1))
    assert torch.allclose(kernels.affine_keypoints(point, matrices, 9, 9), torch.tensor([[[4.0, 0.0]]]), atol=1e-5)


def test_flip_swaps_left_and_right_keypoints_and_keeps_missing_ones():
    points = torch.tensor([[[1.0, 2.0], [7.0, 2.0], [math.nan, math.nan]]])  # left eye, right eye, missing
    moved = kernels.flip_keypoints(points, torch.tensor([True]), 9, 0, swap=[1, 0, 2])
    assert moved[0, :2].tolist() == [[1.0, 2.0], [7.0, 2.0]]  # mirrored and swapped: same places, roles kept
    assert torch.isnan(moved[0, 2]).all()


def test_displace_with_a_constant_field_is_a_translation():
    image = torch.rand(1, 1, 6, 6)
    field = torch.zeros(1, 2, 6, 6)
    field[:, 0] = -1.0  # each output pixel samples one to its left: content moves right by one
    assert torch.allclose(kernels.displace(image, field), kernels.translate(image, torch.tensor([[0, 1]])), atol=1e-6)
    point = torch.tensor([[[2.0, 3.0]]])
    assert kernels.displace_keypoints(point, field).tolist() == [[[3.0, 3.0]]]


def test_photometric_kernels():
    image = torch.tensor([[[[0.2, 0.6]], [[0.2, 0.6]], [[0.2, 0.6]]]])  # 3 channels, 1 x 2, grey
    assert torch.allclose(kernels.adjust_brightness(image, torch.tensor([2.0])), torch.tensor([0.4, 1.0]).view(1, 1, 1, 2).expand(1, 3, 1, 2))
    assert torch.allclose(kernels.adjust_contrast(image, torch.tensor([0.0])), torch.full_like(image, 0.4))
    assert torch.allclose(kernels.adjust_saturation(image, torch.tensor([0.0])), image, atol=1e-6)  # grey stays grey
    colour = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    grey = kernels.adjust_saturation(colour, torch.tensor([0.0]))
    assert torch.allclose(grey.flatten(), torch.full((3,), 0.299))


def test_lighting_adds_the_principal_components():
    image = torch.zeros(1, 3, 2, 2)
    vectors = torch.eye(3)
    out = kernels.add_lighting(image, torch.tensor([[1.0, 0.0, -2.0]]), torch.tensor([0.5, 0.2, 0.1]), vectors)
    assert out[0, :, 0, 0].tolist() == pytest.approx([0.5, 0.0, -0.2])


def test_noise_and_erase():
    image = torch.full((1, 1, 4, 4), 0.5)
    assert torch.allclose(kernels.add_noise(image, torch.full_like(image, 0.7)), torch.ones_like(image))
    erased = kernels.erase(image, torch.tensor([[1, 2, 2, 1]]), 0.0)
    expected = image.clone()
    expected[0, 0, 1:3, 2:3] = 0
    assert torch.equal(erased, expected)
    assert torch.equal(kernels.erase(image, torch.tensor([[1, 2, 0, 1]])), image)  # height 0: no box


def test_masks_keep_their_labels_under_nearest_warps():
    mask = torch.randint(0, 4, (1, 1, 6, 6))
    matrices = kernels.rotation_scale_matrices(torch.tensor([90.0]), torch.ones(1))
    rotated = kernels.affine(mask, matrices, mode="nearest")
    assert rotated.dtype == mask.dtype and torch.equal(rotated[0], torch.rot90(mask[0], 1, dims=(-2, -1)))
