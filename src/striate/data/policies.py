"""The operations of RandAugment (Cubuk et al. 2020) and TrivialAugment (Muller & Hutter 2021), drawn for each
image of a batch and applied as batched kernels: each round, the images are grouped by the operation they drew
(one sort), each group goes through its operation's kernel at once, and the results go back to their places.
There is no loop over images, only over the 14 operations; a round reads the group sizes once (one host sync).

The operations and their largest magnitudes follow torchvision's ``RandAugment`` and ``TrivialAugmentWide``:

    operation      RandAugment (m = 30)     TrivialAugment (wide)   sign
    identity       -                        -
    shear_x/y      0.3                      0.99                    random
    translate_x/y  150/331 of the side      32 px                   random   (whole pixels, zero fill)
    rotate         30 degrees               135 degrees             random
    brightness     factor 1 +- 0.9          1 +- 0.99               random
    color          factor 1 +- 0.9          1 +- 0.99               random   (identity on grey images)
    contrast       factor 1 +- 0.9          1 +- 0.99               random
    sharpness      factor 1 +- 0.9          1 +- 0.99               random
    posterize      8 -> 4 bits              8 -> 2 bits
    solarize       threshold 1 -> 0         1 -> 0
    autocontrast   -                        -
    equalize       -                        -

A magnitude ``m`` on the 0..30 scale gives ``m / 30`` of the largest. Shears and rotations turn about the
image centre (bilinear, zero fill). The geometric operations move masks (nearest) and keypoints with their
images: one draw moves all three.

>>> params = draw_operations(RAND_AUGMENT, 2, (4, 3, 8, 8), torch.Generator().manual_seed(0), "cpu", level=9)
>>> apply_operations(torch.rand(4, 3, 8, 8), params, "images").shape
torch.Size([4, 3, 8, 8])
"""

import torch

from striate.data import kernels
from striate.data.augmentation import Augmentation

OPS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color", "contrast",
       "sharpness", "posterize", "solarize", "autocontrast", "equalize")
SIGNED = frozenset({"shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color", "contrast",
                    "sharpness"})
LEVELS = 30  # the magnitude scale: 0..30, as in the RandAugment paper (torchvision's 31 bins)

# the largest magnitude of each operation (translations: a share of the side, or pixels when given as "px")
RAND_AUGMENT = {"identity": 0.0, "shear_x": 0.3, "shear_y": 0.3, "translate_x": 150 / 331, "translate_y": 150 / 331,
                "rotate": 30.0, "brightness": 0.9, "color": 0.9, "contrast": 0.9, "sharpness": 0.9, "posterize": 4.0,
                "solarize": 1.0, "autocontrast": 0.0, "equalize": 0.0}
TRIVIAL_AUGMENT = RAND_AUGMENT | {"shear_x": 0.99, "shear_y": 0.99, "translate_x": "32px", "translate_y": "32px",
                                  "rotate": 135.0, "brightness": 0.99, "color": 0.99, "contrast": 0.99,
                                  "sharpness": 0.99, "posterize": 6.0}


def _largest(space: dict, height: int, width: int, device) -> torch.Tensor:
    """The largest magnitude of each operation of OPS, translations in pixels of a ``height x width`` image."""
    values = []
    for name in OPS:
        value = space[name]
        if isinstance(value, str):  # "32px"
            value = float(value[:-2])
        elif name.startswith("translate"):
            value = value * (width if name.endswith("x") else height)
        values.append(float(value))
    return torch.tensor(values, device=device)


def draw_operations(space: dict, rounds: int, shape, generator: torch.Generator, device,
                    level: float | None = None) -> dict:
    """``rounds`` operations for each image, each drawn uniformly from OPS, at magnitude ``level`` (0..30) or,
    when None, at a level drawn uniformly from 0..30 for each image (TrivialAugment); signed operations get
    a random sign. Returns ``{"choices": rounds x N, "values": rounds x N}`` (values in each operation's units:
    a shear, pixels, degrees, a factor offset, bits removed, a threshold drop)."""
    count, _, height, width = shape
    choices = torch.randint(0, len(OPS), (rounds, count), generator=generator, device=device)
    if level is None:
        levels = torch.randint(0, LEVELS + 1, (rounds, count), generator=generator, device=device).float()
    else:
        levels = torch.full((rounds, count), float(level), device=device)
    signs = torch.randint(0, 2, (rounds, count), generator=generator, device=device).float() * 2 - 1
    signed = torch.tensor([name in SIGNED for name in OPS], device=device)[choices]
    values = _largest(space, height, width, device)[choices] * levels / LEVELS * torch.where(signed, signs, 1.0)
    return {"choices": choices, "values": values}


GEOMETRIC = frozenset({"shear_x", "shear_y", "translate_x", "translate_y", "rotate"})
PIXEL_KERNELS = {  # the photometric operations: images only, masks and keypoints stay
    "brightness": lambda images, values: kernels.adjust_brightness(images, 1 + values),
    "color": lambda images, values: kernels.adjust_saturation(images, 1 + values),
    "contrast": lambda images, values: kernels.adjust_contrast(images, 1 + values),
    "sharpness": lambda images, values: kernels.adjust_sharpness(images, 1 + values),
    "posterize": lambda images, values: kernels.posterize(images, 8 - values.round()),
    "solarize": lambda images, values: kernels.solarize(images, 1 - values),
    "autocontrast": lambda images, values: kernels.autocontrast(images),
    "equalize": lambda images, values: kernels.equalize(images),
}


def _move(name: str, tensors: torch.Tensor, values: torch.Tensor, target: str, size) -> torch.Tensor:
    """A geometric operation on images (bilinear), masks (nearest) or keypoints."""
    if name.startswith("translate"):  # whole pixels (dy, dx), truncated toward zero as torchvision does
        shifts = torch.zeros(len(values), 2, dtype=torch.long, device=values.device)
        shifts[:, 1 if name.endswith("x") else 0] = values.trunc().long()
        return kernels.translate_keypoints(tensors, shifts) if target == "keypoints" else \
            kernels.translate(tensors, shifts)
    if name == "rotate":
        matrices = kernels.rotation_scale_matrices(values, torch.ones_like(values))
    else:
        matrices = kernels.shear_matrices(values, 0 if name == "shear_x" else 1)
    if target == "keypoints":
        return kernels.affine_keypoints(tensors, matrices, size[0], size[1])
    return kernels.affine(tensors, matrices, mode="nearest" if target == "masks" else "bilinear")


def operation(name: str, tensors: torch.Tensor, values: torch.Tensor, target: str = "images", size=None):
    """Operation ``name`` of OPS at ``values`` (one per item) on a batch of ``target``: images, masks (geometric
    operations only) or keypoints (geometric operations only; ``size``: the images' (height, width))."""
    if name in GEOMETRIC:
        return _move(name, tensors, values, target, size)
    if target == "images" and name in PIXEL_KERNELS:
        return PIXEL_KERNELS[name](tensors, values)
    return tensors


def per_image(tensors: torch.Tensor, choices: torch.Tensor, values: torch.Tensor, target: str = "images",
              size=None) -> torch.Tensor:
    """Apply operation ``OPS[choices[i]]`` at ``values[i]`` to item ``i`` of the batch, for every item: the
    items are grouped by operation (one stable sort), each group is gathered, goes through its operation's
    kernel at once, and is written back to its places."""
    order = torch.argsort(choices, stable=True)
    sizes = torch.bincount(choices, minlength=len(OPS)).tolist()  # the round's one host sync
    out = torch.empty_like(tensors)
    for name, members in zip(OPS, order.split(sizes)):
        if len(members):
            done = operation(name, tensors.index_select(0, members), values[members], target, size)
            out.index_copy_(0, members, done.to(out.dtype))
    return out


def apply_operations(tensors: torch.Tensor, params: dict, target: str = "images", size=None) -> torch.Tensor:
    """Apply a :func:`draw_operations` to ``target``: ``images``, ``masks`` or ``keypoints`` (N x K x 2; ``size`` is the
    images' (height, width)), round after round."""
    for choices, values in zip(params["choices"], params["values"]):
        tensors = per_image(tensors, choices, values, target, size)
    return tensors


class RandAugment(Augmentation):
    """RandAugment (Cubuk et al. 2020): ``n`` operations for each image, each drawn uniformly from the 14 of
    OPS, all at magnitude ``m`` on the 0..30 scale (a random sign where it has one).
    The geometric ones move masks and keypoints with the images."""

    name, space = "randaugment", RAND_AUGMENT
    ranges = {"n": (1, len(OPS), True), "m": (0, LEVELS, False)}

    def __init__(self, n: int = 2, m: float = 9):
        self.n, self.m = int(n), float(m)

    def draw(self, shape, generator, device):
        return draw_operations(self.space, self.n, shape, generator, device, level=self.m)

    def images(self, images, params):
        return apply_operations(images, params, "images")

    def masks(self, masks, params):
        return apply_operations(masks, params, "masks")

    def keypoints(self, keypoints, params, size, swap):
        return apply_operations(keypoints, params, "keypoints", size)


class TrivialAugment(RandAugment):
    """TrivialAugment (Muller & Hutter 2021, the wide space): one operation for each image, drawn uniformly,
    at a magnitude drawn uniformly from 0..30 for each image. No parameters."""

    name, space = "trivialaugment", TRIVIAL_AUGMENT
    ranges = {}

    def __init__(self):
        super().__init__(n=1)

    def draw(self, shape, generator, device):
        return draw_operations(self.space, 1, shape, generator, device, level=None)
