"""Batched random augmentation on the training device (DESIGN.md principle 5).

Each augmentation keeps its random draw (:meth:`Augmentation.draw`, seeded through a
``torch.Generator``) apart from its pure kernel (in :mod:`striate.data.kernels`), so one
draw moves an image, its mask and its keypoints alike, and a test can fix the draw.

Recipes name them: ``data.augment: [hflip, {crop: {padding: 4}}, {rotate: {degrees: 10}}]``; the policies
``randaugment`` and ``trivialaugment`` draw operations per image (striate.data.policies), and ``mixup`` and
``cutmix`` mix each batch's images and labels after the rest (striate.data.mixing, a classifier's only).

>>> augment = build_augment(["hflip", {"translate": {"max_shift": 2}}])
>>> out = augment(torch.rand(8, 3, 32, 32), torch.Generator().manual_seed(0))
>>> out.shape
torch.Size([8, 3, 32, 32])
"""

import inspect
import math

import torch
import torch.nn.functional as F

from striate.data import kernels
from striate.data.augmentation import Augmentation, uniform
from striate.data.mixing import MIXERS, Mixing
from striate.data.policies import RandAugment, TrivialAugment
from striate.errors import ConfigError, did_you_mean, short

# AlexNet's lighting eigen-decomposition of ImageNet RGB pixels (0..1 units), as in fb.resnet.torch;
# used when no decomposition was fitted on the training data.
IMAGENET_EIGENVALUES = [0.2175, 0.0188, 0.0045]
IMAGENET_EIGENVECTORS = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]


class HorizontalFlip(Augmentation):
    name, axis, exact = "hflip", 0, True
    ranges = {"p": (0, 1, False)}

    def __init__(self, p: float = 0.5):
        self.p = p

    def draw(self, shape, generator, device):
        return {"flags": torch.rand(shape[0], generator=generator, device=device) < self.p}

    def images(self, images, params):
        return (kernels.hflip if self.axis == 0 else kernels.vflip)(images, params["flags"])

    masks = images

    def keypoints(self, keypoints, params, size, swap):
        width_or_height = size[1] if self.axis == 0 else size[0]
        return kernels.flip_keypoints(keypoints, params["flags"], width_or_height, self.axis, swap)


class VerticalFlip(HorizontalFlip):
    name, axis = "vflip", 1

    def keypoints(self, keypoints, params, size, swap):
        return kernels.flip_keypoints(keypoints, params["flags"], size[0], 1, None)


class Translate(Augmentation):
    """Integer shifts of up to ``max_shift`` pixels, zero fill."""

    name, exact = "translate", True
    ranges = {"max_shift": (0, 4096, True)}

    def __init__(self, max_shift: int = 2):
        self.max_shift = int(max_shift)

    def draw(self, shape, generator, device):
        return {"shifts": torch.randint(-self.max_shift, self.max_shift + 1, (shape[0], 2), generator=generator,
                                        device=device)}

    def images(self, images, params):
        return kernels.translate(images, params["shifts"])

    masks = images

    def keypoints(self, keypoints, params, size, swap):
        return kernels.translate_keypoints(keypoints, params["shifts"])


class Crop(Augmentation):
    """Pad by ``padding`` pixels (``constant`` zeros or ``reflect``) and cut a random window of the original size."""

    name, exact = "crop", True
    ranges = {"padding": (0, 4096, True)}

    def __init__(self, padding: int = 4, mode: str = "constant"):
        if mode not in ("constant", "reflect"):
            raise ConfigError(f"crop: unknown padding mode '{mode}'; expected constant or reflect")
        self.padding, self.mode = int(padding), mode

    def draw(self, shape, generator, device):
        return {"corners": torch.randint(0, 2 * self.padding + 1, (shape[0], 2), generator=generator, device=device)}

    def images(self, images, params):
        return kernels.pad_crop(images, params["corners"], self.padding, self.mode)

    def masks(self, masks, params):
        return kernels.pad_crop(masks.float(), params["corners"], self.padding, self.mode).to(masks.dtype)

    def keypoints(self, keypoints, params, size, swap):
        return kernels.pad_crop_keypoints(keypoints, params["corners"], self.padding)


class Rotate(Augmentation):
    """Rotation by a uniform angle in ``[-degrees, degrees]`` about the centre (bilinear, zero fill)."""

    name = "rotate"
    ranges = {"degrees": (0, 360, False)}

    def __init__(self, degrees: float = 15.0):
        self.degrees = float(degrees)

    def _scales(self, count, generator, device):
        return torch.ones(count, device=device)

    def draw(self, shape, generator, device):
        angles = uniform(shape[0], -self.degrees, self.degrees, generator, device) if self.degrees else \
            torch.zeros(shape[0], device=device)
        return {"matrices": kernels.rotation_scale_matrices(angles, self._scales(shape[0], generator, device))}

    def images(self, images, params):
        return kernels.affine(images, params["matrices"])

    def masks(self, masks, params):
        return kernels.affine(masks, params["matrices"], mode="nearest")

    def keypoints(self, keypoints, params, size, swap):
        return kernels.affine_keypoints(keypoints, params["matrices"], size[0], size[1])


class Scale(Rotate):
    """Zoom by a factor drawn log-uniformly from ``[low, high]`` about the centre."""

    name = "scale"
    ranges = {"low": (0.01, 100, False), "high": (0.01, 100, False)}

    def __init__(self, low: float = 0.9, high: float = 1.1):
        super().__init__(degrees=0.0)
        self.low, self.high = float(low), float(high)

    def _scales(self, count, generator, device):
        return torch.exp(uniform(count, math.log(self.low), math.log(self.high), generator, device))


class Elastic(Augmentation):
    """Elastic deformation (Simard, Steinkraus & Platt 2003): a uniform random field in [-1, 1],
    smoothed by a Gaussian of width ``sigma`` and scaled by ``alpha`` pixels."""

    name = "elastic"
    ranges = {"alpha": (0, 4096, False), "sigma": (0.01, 100, False)}

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0):
        self.alpha, self.sigma = float(alpha), float(sigma)

    def draw(self, shape, generator, device):
        count, _, height, width = shape
        field = torch.rand(count, 2, height, width, generator=generator, device=device) * 2 - 1
        radius = max(1, int(math.ceil(2 * self.sigma)))
        taps = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
        gauss = torch.exp(-(taps**2) / (2 * self.sigma**2))
        gauss = gauss / gauss.sum()
        weights = gauss.view(1, 1, 1, -1).expand(2, 1, 1, -1)
        field = F.conv2d(field, weights, padding=(0, radius), groups=2)  # along x
        field = F.conv2d(field, weights.transpose(2, 3), padding=(radius, 0), groups=2)  # along y
        return {"field": field * self.alpha}

    def images(self, images, params):
        return kernels.displace(images, params["field"])

    def masks(self, masks, params):
        return kernels.displace(masks, params["field"], mode="nearest")

    def keypoints(self, keypoints, params, size, swap):
        return kernels.displace_keypoints(keypoints, params["field"])


class _Photometric(Augmentation):
    kernel = None
    ranges = {"strength": (0, 1, False)}

    def __init__(self, strength: float = 0.2):
        self.strength = float(strength)

    def draw(self, shape, generator, device):
        return {"factors": uniform(shape[0], 1 - self.strength, 1 + self.strength, generator, device)}

    def images(self, images, params):
        return type(self).kernel(images, params["factors"])


class Brightness(_Photometric):
    name, kernel = "brightness", staticmethod(kernels.adjust_brightness)


class Contrast(_Photometric):
    name, kernel = "contrast", staticmethod(kernels.adjust_contrast)


class Saturation(_Photometric):
    name, kernel = "saturation", staticmethod(kernels.adjust_saturation)


class Lighting(Augmentation):
    """AlexNet's PCA lighting noise with ``alpha ~ N(0, std)``; the eigen-decomposition comes from the
    training data when fitted (``data.preprocess`` records it) or ImageNet's published one."""

    name = "lighting"
    ranges = {"std": (0, 10, False)}

    def __init__(self, std: float = 0.1, eigenvalues=None, eigenvectors=None):
        self.std = float(std)
        self.eigenvalues = torch.tensor(eigenvalues or IMAGENET_EIGENVALUES, dtype=torch.float32)
        self.eigenvectors = torch.tensor(eigenvectors or IMAGENET_EIGENVECTORS, dtype=torch.float32)

    def draw(self, shape, generator, device):
        return {"alphas": torch.randn(shape[0], 3, generator=generator, device=device) * self.std}

    def images(self, images, params):
        if images.shape[1] != 3:
            return images
        device = images.device
        return kernels.add_lighting(images, params["alphas"], self.eigenvalues.to(device), self.eigenvectors.to(device))


class Noise(Augmentation):
    """Additive Gaussian noise of standard deviation ``std`` (0..1 pixel units)."""

    name = "noise"
    ranges = {"std": (0, 10, False)}

    def __init__(self, std: float = 0.03):
        self.std = float(std)

    def draw(self, shape, generator, device):
        return {"noise": torch.randn(tuple(shape), generator=generator, device=device) * self.std}

    def images(self, images, params):
        return kernels.add_noise(images, params["noise"])


class Erase(Augmentation):
    """Random erasing (Zhong et al. 2020): with probability ``p`` a box whose share of the image is uniform in
    ``area`` and whose aspect (height / width) is log-uniform in ``ratio`` is filled with ``value``: a grey level
    in 0..1, ``random`` (uniform noise, the paper's choice) or ``mean`` (the training data's per-channel mean,
    the batch's when it is not known: 0 after normalisation). As torchvision does, 10 boxes are drawn for each
    image and the first that fits is used (none fits: the image stays), so every box keeps its area and aspect
    in range. Masks and keypoints stay: only the pixels are hidden."""

    name = "erase"
    ranges = {"p": (0, 1, False), "area": (1e-6, 1, False), "ratio": (1e-3, 1e3, False)}
    tries = 10

    def __init__(self, p: float = 0.5, area=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, mean=None):
        if not (isinstance(value, (int, float)) and 0 <= value <= 1) and value not in ("random", "mean"):
            raise ConfigError(f"augmentation 'erase': value is {value!r}; expected a grey level in [0, 1], random "
                              "or mean; e.g. {erase: {value: random}}")
        for key, pair in (("area", area), ("ratio", ratio)):
            if len(pair) != 2 or pair[0] > pair[1]:
                raise ConfigError(f"augmentation 'erase': {key} is {pair!r}; expected [low, high] with low <= high; "
                                  "e.g. {erase: {area: [0.02, 0.33], ratio: [0.3, 3.3]}}")
        self.p, self.area, self.ratio, self.value = float(p), tuple(area), tuple(ratio), value
        self.mean = mean  # the training data's per-channel mean (0..1), for value: mean

    def draw(self, shape, generator, device):
        count, _, height, width = shape
        candidates = (count, self.tries)
        applied = torch.rand(count, generator=generator, device=device) < self.p
        area = uniform(count * self.tries, *self.area, generator, device).view(candidates) * height * width
        log_ratio = uniform(count * self.tries, math.log(self.ratio[0]), math.log(self.ratio[1]), generator, device)
        ratio = torch.exp(log_ratio).view(candidates)
        box_h, box_w = torch.sqrt(area * ratio).round().long(), torch.sqrt(area / ratio).round().long()
        fits = (box_h >= 1) & (box_h <= height) & (box_w >= 1) & (box_w <= width)
        first = fits.long().argmax(dim=1, keepdim=True)  # the first candidate that fits
        box_h, box_w = box_h.gather(1, first).squeeze(1), box_w.gather(1, first).squeeze(1)
        applied = applied & fits.any(dim=1)
        top = (torch.rand(count, generator=generator, device=device) * (height - box_h + 1)).long()
        left = (torch.rand(count, generator=generator, device=device) * (width - box_w + 1)).long()
        draws = {"boxes": torch.stack([top, left, box_h * applied, box_w], dim=1)}
        if self.value == "random":
            draws["fill"] = torch.rand(tuple(shape), generator=generator, device=device)
        return draws

    def images(self, images, params):
        if self.value == "random":
            fill = params["fill"]
        elif self.value == "mean":
            mean = torch.tensor(self.mean, device=images.device) if self.mean is not None else \
                images.mean(dim=(0, 2, 3))
            fill = mean.to(images.dtype).view(1, -1, 1, 1).expand_as(images)
        else:
            fill = float(self.value)
        return kernels.erase(images, params["boxes"], fill)


AUGMENTATIONS: dict[str, type[Augmentation]] = {
    cls.name: cls for cls in (HorizontalFlip, VerticalFlip, Translate, Crop, Rotate, Scale, Elastic, Brightness,
                              Contrast, Saturation, Lighting, Noise, Erase, RandAugment, TrivialAugment)
}
MIXING_RANGES = {"alpha": (1e-3, 100, False)}  # mixup's and cutmix's Beta(alpha, alpha)


class Augmenter:
    """A sequence of augmentations. ``augmenter(images, generator)`` draws and applies in one go (the
    loaders' interface); :meth:`draw` and :meth:`apply` split the two, so one draw can move images,
    masks (N x 1 x H x W) and keypoints (N x K x 2, (x, y), NaN when missing) together.

    >>> augmenter = build_augment(["hflip"])
    >>> draws = augmenter.draw((2, 1, 4, 4), torch.Generator().manual_seed(0))
    >>> images, masks, points = augmenter.apply(torch.rand(2, 1, 4, 4), draws, torch.zeros(2, 1, 4, 4),
    ...                                         torch.zeros(2, 3, 2))
    """

    def __init__(self, steps: list[Augmentation], mixing: Mixing | None = None):
        self.steps = steps
        self.mixing = mixing  # mixup / cutmix: the batch stage after the steps, on images and labels

    def mix(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
        """``(images, labels)`` mixed by the mixing stage (labels become striate.data.mixing.MixedTargets), or
        as they are, with nothing drawn, when there is none."""
        return (images, labels) if self.mixing is None else self.mixing(images, labels, generator)

    def draw(self, shape, generator: torch.Generator, device=None) -> list[dict]:
        device = device if device is not None else generator.device
        return [step.draw(tuple(shape), generator, device) for step in self.steps]

    def apply(self, images, draws, masks=None, keypoints=None, swap: list[int] | None = None):
        """Apply ``draws`` to images (and masks and keypoints when given); returns ``(images, masks, keypoints)``."""
        size = tuple(images.shape[-2:])
        for step, params in zip(self.steps, draws):
            images = step.images(images, params)
            if masks is not None:
                masks = step.masks(masks, params)
            if keypoints is not None:
                keypoints = step.keypoints(keypoints, params, size, swap)
        return images, masks, keypoints

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Draw and apply to a batch; uint8 images (0..255) become floats in 0..1 after the leading exact
        steps (flips, shifts, crops move 4x fewer bytes on uint8), with the same result as on floats."""
        draws = self.draw(images.shape, generator, images.device)
        for step, params in zip(self.steps, draws):
            if images.dtype == torch.uint8 and not step.exact:
                images = images.float().div_(255)
            images = step.images(images, params)
        return images.float().div_(255) if images.dtype == torch.uint8 else images


def _parse_entry(entry) -> tuple[str, dict]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        name, params = next(iter(entry.items()))
        if params is None:
            return name, {}
        if isinstance(params, dict):
            return name, dict(params)
    raise ConfigError(f"data.augment: each entry must be a name or {{name: {{parameter: value}}}}, got {entry!r}; "
                      "e.g. [hflip, {crop: {padding: 4}}]")


def _check_ranges(name: str, cls, params: dict, ranges: dict) -> None:
    """One line for a parameter out of its range: the entry, the value, the range and the default."""
    for key, (low, high, whole) in ranges.items():
        value = params.get(key)
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            number = isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item)
            if not (number and low <= item <= high and (not whole or float(item).is_integer())):
                default = inspect.signature(cls).parameters[key].default
                default = list(default) if isinstance(default, tuple) else default
                noun = ("whole numbers" if whole else "numbers") if isinstance(value, (list, tuple)) else \
                    ("a whole number" if whole else "a number")
                raise ConfigError(f"augmentation '{name}': {key} is {short(value)}; expected {noun} in "
                                  f"[{low:g}, {high:g}]; e.g. {{{name}: {{{key}: {default}}}}}")


def _build_step(name: str, params: dict, stats: dict | None):
    """An augmentation step, or a mixing method (mixup, cutmix), from its recipe entry."""
    if name not in AUGMENTATIONS and name not in MIXERS:
        known = [*AUGMENTATIONS, *MIXERS]
        raise ConfigError(f"unknown augmentation '{name}'{did_you_mean(name, known)}; expected some of {sorted(known)}")
    cls = AUGMENTATIONS.get(name) or MIXERS[name]
    _check_ranges(name, cls, params, MIXING_RANGES if name in MIXERS else cls.ranges)
    if name == "lighting" and stats and "rgb_eigenvalues" in stats:
        params = {"eigenvalues": stats["rgb_eigenvalues"], "eigenvectors": stats["rgb_eigenvectors"]} | params
    if name == "erase" and stats and "mean" in stats:
        params = {"mean": stats["mean"]} | params
    try:
        return cls(**params)
    except TypeError as error:
        raise ConfigError(f"augmentation '{name}': bad parameters {params} ({error}); see docs/data.md") from None


def build_augment(entries: list, stats: dict | None = None) -> Augmenter | None:
    """The augmentations a recipe names (``[name, {name: {param: value}}, ...]``), or None for none; ``mixup``
    and ``cutmix`` form the mixing stage, after the rest wherever they stand. ``stats`` is the run's fitted
    preprocessing (its RGB eigen-decomposition feeds ``lighting``, its mean ``erase``'s ``value: mean``)."""
    built = [_build_step(*_parse_entry(entry), stats) for entry in entries or []]
    steps = [step for step in built if isinstance(step, Augmentation)]
    mixers = [step for step in built if not isinstance(step, Augmentation)]
    if len({mixer.name for mixer in mixers}) < len(mixers):
        raise ConfigError("data.augment names mixup or cutmix twice; keep one entry of each")
    if not built:
        return None
    return Augmenter(steps, Mixing(mixers) if mixers else None)


def uses_lighting(entries: list) -> bool:
    """Whether ``data.augment`` has AlexNet's lighting noise, the one step that reads the colour PCA."""
    return any((entry if isinstance(entry, str) else next(iter(entry), None)) == "lighting"
               for entry in entries or [] if isinstance(entry, (str, dict)))


def label_mixing(entries: list) -> list[str]:
    """Check ``data.augment`` (names, parameters, ranges; ConfigError, one line) and return the names of its
    entries that mix labels (mixup, cutmix), which only a classifier has."""
    return [step.name for step in (_build_step(*_parse_entry(entry), None) for entry in entries or [])
            if not isinstance(step, Augmentation)]


def mix_batch(images: torch.Tensor, labels: torch.Tensor, augment, generator: torch.Generator):
    """A loader's batch after augmentation: mixed with its labels when ``augment`` (an Augmenter) has mixup or
    cutmix, else as it is (nothing drawn, so the random stream of other runs is unchanged)."""
    return augment.mix(images, labels, generator) if isinstance(augment, Augmenter) else (images, labels)
