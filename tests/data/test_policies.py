"""RandAugment and TrivialAugment: per-image operations drawn from the seed, applied as batched kernels that
agree with one image at a time, geometric ones moving masks and keypoints with the images; the pixel kernels
they add agree with PIL's ImageOps / ImageEnhance."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from striate.data import kernels
from striate.data.augment import build_augment
from striate.data.policies import GEOMETRIC, OPS, RAND_AUGMENT, TRIVIAL_AUGMENT, draw_operations, operation, per_image
from striate.errors import ConfigError


def test_each_image_draws_its_own_operations_and_the_seed_fixes_them():
    shape = (64, 3, 12, 12)
    first = draw_operations(RAND_AUGMENT, 2, shape, torch.Generator().manual_seed(0), "cpu", level=9)
    again = draw_operations(RAND_AUGMENT, 2, shape, torch.Generator().manual_seed(0), "cpu", level=9)
    other = draw_operations(RAND_AUGMENT, 2, shape, torch.Generator().manual_seed(1), "cpu", level=9)
    assert first["choices"].shape == (2, 64) and len(first["choices"][0].unique()) >= 10  # varies across the batch
    assert torch.equal(first["choices"], again["choices"]) and torch.equal(first["values"], again["values"])
    assert not torch.equal(first["choices"], other["choices"])
    trivial = draw_operations(TRIVIAL_AUGMENT, 1, shape, torch.Generator().manual_seed(0), "cpu")
    rotations = trivial["values"][trivial["choices"] == OPS.index("rotate")].abs()
    assert len(rotations.unique()) > 1 and rotations.max() <= 135  # magnitude drawn per image, within 0..30 of 135
    images = torch.rand(shape)
    augmenter = build_augment([{"randaugment": {"n": 2, "m": 9}}])
    assert torch.equal(augmenter(images, torch.Generator().manual_seed(3)),
                       augmenter(images, torch.Generator().manual_seed(3)))


@pytest.mark.parametrize("space", [RAND_AUGMENT, TRIVIAL_AUGMENT])
def test_grouped_kernels_give_what_one_image_at_a_time_gives(space):
    images = torch.rand(40, 3, 10, 10)
    params = draw_operations(space, 1, images.shape, torch.Generator().manual_seed(2), "cpu", level=20)
    choices, values = params["choices"][0], params["values"][0]
    batched = per_image(images, choices, values)
    for index in range(len(images)):
        alone = operation(OPS[int(choices[index])], images[index : index + 1], values[index : index + 1])
        assert torch.allclose(batched[index], alone[0], atol=1e-6), OPS[int(choices[index])]


def test_geometric_operations_move_masks_and_keypoints_with_the_images():
    size, count = 32, 48
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    blob = (((rows - 15) ** 2 + (cols - 17) ** 2) <= 9).float()  # a disc about (x=17, y=15)
    images = blob.expand(count, 3, size, size).clone()
    masks = blob.long().expand(count, 1, size, size).clone()
    points = torch.tensor([[[17.0, 15.0]]]).expand(count, 1, 2).clone()
    augmenter = build_augment([{"randaugment": {"n": 1, "m": 9}}])
    draws = augmenter.draw(images.shape, torch.Generator().manual_seed(4))
    out_images, out_masks, out_points = augmenter.apply(images, draws, masks, points)
    choices = draws[0]["choices"][0]
    moved = 0
    for index in range(count):
        name = OPS[int(choices[index])]
        if name not in GEOMETRIC:
            assert torch.equal(out_masks[index], masks[index]) and torch.equal(out_points[index], points[index])
            continue
        moved += 1
        weights = out_images[index, 0]
        centre = torch.stack([(weights * cols).sum(), (weights * rows).sum()]) / weights.sum()
        mask_pixels = torch.nonzero(out_masks[index, 0]).float()
        mask_centre = mask_pixels.mean(dim=0).flip(-1)  # (x, y)
        assert torch.allclose(centre, out_points[index, 0], atol=0.6), (name, centre, out_points[index, 0])
        assert torch.allclose(mask_centre, out_points[index, 0], atol=0.6), (name, mask_centre, out_points[index, 0])
    assert moved >= 10 and not torch.equal(out_masks, masks)


def test_grey_images_and_uint8_batches():
    grey = torch.rand(6, 1, 28, 28)
    assert torch.equal(operation("color", grey, torch.full((6,), 0.9)), grey)  # colour: identity on one channel
    for name in ("randaugment", "trivialaugment"):
        out = build_augment([name])(grey, torch.Generator().manual_seed(0))
        assert out.shape == grey.shape and 0 <= out.min() and out.max() <= 1
    stored = torch.randint(0, 256, (8, 3, 12, 12), dtype=torch.uint8)
    augmenter = build_augment(["hflip", "trivialaugment"])
    assert torch.allclose(augmenter(stored, torch.Generator().manual_seed(5)),
                          augmenter(stored.float().div(255), torch.Generator().manual_seed(5)), atol=1e-6)


def test_policy_settings_out_of_range_or_misspelt_are_one_line():
    message = r"randaugment': m is 40; expected a number in \[0, 30\]; e.g. \{randaugment: \{m: 9"
    with pytest.raises(ConfigError, match=message):
        build_augment([{"randaugment": {"m": 40}}])
    with pytest.raises(ConfigError, match="n is 0; expected a whole number in"):
        build_augment([{"randaugment": {"n": 0}}])
    with pytest.raises(ConfigError, match="n is 1.5"):
        build_augment([{"randaugment": {"n": 1.5}}])
    with pytest.raises(ConfigError, match="did you mean 'randaugment'"):
        build_augment(["randaugmnet"])
    with pytest.raises(ConfigError, match="bad parameters"):
        build_augment([{"trivialaugment": {"m": 3}}])
    with pytest.raises(ConfigError, match="hflip': p is 2"):
        build_augment([{"hflip": {"p": 2}}])


# ---- the pixel kernels against PIL ------------------------------------------------------------------------------
def _pictures(mode: str) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (16, 16, 3) if mode == "RGB" else (16, 16)
    ramp = ((np.arange(16)[None, :] * 8 + np.arange(16)[:, None] * 4) % 256).astype(np.uint8)
    smooth = np.stack([ramp, 255 - ramp, ramp // 2], -1) if mode == "RGB" else ramp
    return [rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(60, 140, shape, dtype=np.uint8), smooth]


def _tensor(pictures: list[np.ndarray]) -> torch.Tensor:
    array = np.stack(pictures)
    array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
    return torch.from_numpy(array.copy()).float() / 255


# (kernel on floats, PIL on one image, largest difference in 8-bit levels): PIL rounds its intermediate images
# to uint8 (the grey level, the smoothed image) and truncates in autocontrast, so those agree within 1.5 levels
CASES = {
    "posterize-2": (lambda x, n: kernels.posterize(x, torch.full((n,), 2)), lambda im: ImageOps.posterize(im, 2), 0.01),
    "posterize-5": (lambda x, n: kernels.posterize(x, torch.full((n,), 5)), lambda im: ImageOps.posterize(im, 5), 0.01),
    "solarize-128": (lambda x, n: kernels.solarize(x, torch.full((n,), 128 / 255)),
                     lambda im: ImageOps.solarize(im, 128), 0.01),
    "solarize-0": (lambda x, n: kernels.solarize(x, torch.zeros(n)), lambda im: ImageOps.solarize(im, 0), 0.01),
    "equalize": (lambda x, n: kernels.equalize(x), ImageOps.equalize, 0.01),
    "autocontrast": (lambda x, n: kernels.autocontrast(x), ImageOps.autocontrast, 1.0),
    "brightness-0.4": (lambda x, n: kernels.adjust_brightness(x, torch.full((n,), 0.4)),
                       lambda im: ImageEnhance.Brightness(im).enhance(0.4), 1.0),
    "brightness-1.7": (lambda x, n: kernels.adjust_brightness(x, torch.full((n,), 1.7)),
                       lambda im: ImageEnhance.Brightness(im).enhance(1.7), 1.0),
    "contrast-0.3": (lambda x, n: kernels.adjust_contrast(x, torch.full((n,), 0.3)),
                     lambda im: ImageEnhance.Contrast(im).enhance(0.3), 1.5),
    "contrast-1.8": (lambda x, n: kernels.adjust_contrast(x, torch.full((n,), 1.8)),
                     lambda im: ImageEnhance.Contrast(im).enhance(1.8), 1.5),
    "color-0.2": (lambda x, n: kernels.adjust_saturation(x, torch.full((n,), 0.2)),
                  lambda im: ImageEnhance.Color(im).enhance(0.2), 1.5),
    "color-1.9": (lambda x, n: kernels.adjust_saturation(x, torch.full((n,), 1.9)),
                  lambda im: ImageEnhance.Color(im).enhance(1.9), 1.5),
    "sharpness-0.1": (lambda x, n: kernels.adjust_sharpness(x, torch.full((n,), 0.1)),
                      lambda im: ImageEnhance.Sharpness(im).enhance(0.1), 1.5),
    "sharpness-1.9": (lambda x, n: kernels.adjust_sharpness(x, torch.full((n,), 1.9)),
                      lambda im: ImageEnhance.Sharpness(im).enhance(1.9), 1.5),
}


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_pixel_kernels_agree_with_pil(case, mode):
    ours, pil, levels = CASES[case]
    pictures = _pictures(mode)
    expected = _tensor([np.asarray(pil(Image.fromarray(picture))) for picture in pictures])
    got = ours(_tensor(pictures), len(pictures))
    assert (got - expected).abs().max() * 255 <= levels, case
