"""MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019): a batch stage that mixes each image with a partner
from the same batch (a random permutation) and its label with the partner's. As in both papers, one weight
``lam`` is drawn for the whole batch from Beta(alpha, alpha):

    mixup   image = lam * image + (1 - lam) * partner
    cutmix  a box of (1 - lam) of the area, centred uniformly and clipped at the borders, comes from the
            partner; lam becomes 1 - the box's share of the image (what was really pasted)

The labels become :class:`MixedTargets`: the two labels and the weight of the first. The loss of a mixed batch is
``lam * loss(outputs, labels) + (1 - lam) * loss(outputs, partner labels)`` (striate.training.mixing.mixed_loss),
the loss of the soft targets for cross-entropy, label smoothing applied to each of the two. Everything is drawn
with the loader's generator on the device, without a host sync.

>>> mixing = Mixing([MixUp(alpha=1.0)])
>>> images, targets = mixing(torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]), torch.Generator().manual_seed(0))
>>> first, second, weight = targets.mix
"""

import math

import torch

CANDIDATES = 16  # Marsaglia-Tsang proposals drawn at once; each is accepted with probability above 0.95


def _log_gamma_sample(shape: float, count: int, generator: torch.Generator, device) -> torch.Tensor:
    """log of ``count`` draws from Gamma(shape, 1) (Marsaglia & Tsang 2000, vectorised: the first accepted of
    CANDIDATES proposals; for shape < 1, Gamma(shape + 1) * U^(1/shape)). Logs keep tiny draws apart."""
    boosted = shape + 1 if shape < 1 else shape
    d = boosted - 1 / 3
    c = 1 / math.sqrt(9 * d)
    x = torch.randn(count, CANDIDATES, generator=generator, device=device)
    u = torch.rand(count, CANDIDATES, generator=generator, device=device)
    v = (1 + c * x) ** 3
    log_v = torch.log(v.clamp_min(1e-12))
    accepted = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * log_v)
    first = accepted.long().argmax(dim=1, keepdim=True)  # (none accepted, p < 0.05**16: the first proposal)
    log_sample = math.log(d) + log_v.gather(1, first).squeeze(1)
    if shape < 1:
        boost = torch.rand(count, generator=generator, device=device).clamp_min(1e-30)
        log_sample = log_sample + torch.log(boost) / shape
    return log_sample


def sample_beta(alpha: float, count: int, generator: torch.Generator, device) -> torch.Tensor:
    """``count`` draws from Beta(alpha, alpha), on ``device``, from ``generator`` (torch's Beta takes none).

    >>> float(sample_beta(1.0, 10_000, torch.Generator().manual_seed(0), "cpu").mean())  # doctest: +SKIP
    0.50
    """
    first = _log_gamma_sample(alpha, count, generator, device)
    second = _log_gamma_sample(alpha, count, generator, device)
    return torch.sigmoid(first - second)  # x / (x + y), from the logs


class MixedTargets(torch.Tensor):
    """Labels of a mixed batch. As a tensor it holds each image's dominant label (the first where its weight is
    at least 0.5, else the partner's), so a meter, ``len`` and a plain loss treat it as labels: the training
    accuracy of a mixed batch counts against the dominant label. ``mix`` is ``(first, second, weight)``: the
    two label tensors and the (0-dim) weight of the first. Torch operations on it give plain tensors; slicing
    (``[...]``, ``tensor_split``) and ``to`` keep the mix.

    >>> targets = MixedTargets.of(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor(0.3))
    >>> targets.tolist(), [part.tolist() for part in targets.mix[:2]]
    ([3, 4], [[1, 2], [3, 4]])
    """

    __torch_function__ = torch._C._disabled_torch_function_impl

    @classmethod
    def of(cls, first: torch.Tensor, second: torch.Tensor, weight: torch.Tensor) -> "MixedTargets":
        targets = torch.where(weight >= 0.5, first, second).as_subclass(cls)
        targets.mix = (first, second, weight)
        return targets

    def __getitem__(self, index):
        first, second, weight = self.mix
        return MixedTargets.of(first[index], second[index], weight)

    def tensor_split(self, sections, dim: int = 0):
        first, second, weight = self.mix
        return tuple(MixedTargets.of(a, b, weight)
                     for a, b in zip(first.tensor_split(sections, dim), second.tensor_split(sections, dim)))

    def to(self, *args, **kwargs):
        return MixedTargets.of(*(part.to(*args, **kwargs) for part in self.mix))


class MixUp:
    """MixUp (Zhang et al. 2018): every image blended with its partner, weight ``lam ~ Beta(alpha, alpha)``."""

    name = "mixup"

    def __init__(self, alpha: float = 0.2):
        self.alpha = float(alpha)

    def mix(self, images: torch.Tensor, partners: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor]:
        weight = sample_beta(self.alpha, 1, generator, images.device)[0]
        return torch.lerp(images[partners], images, weight.to(images.dtype)), weight


class CutMix:
    """CutMix (Yun et al. 2019): a box of ``1 - lam`` of the image (``lam ~ Beta(alpha, alpha)``), its centre
    uniform and clipped at the borders, pasted from the partner; the weight is what was really kept."""

    name = "cutmix"

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def mix(self, images: torch.Tensor, partners: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = images.shape[-2:]
        device = images.device
        cut = torch.sqrt(1 - sample_beta(self.alpha, 1, generator, device)[0])
        sides = torch.tensor([height, width], device=device, dtype=torch.float32)
        centre = (torch.rand(2, generator=generator, device=device) * sides).floor()
        half = (sides * cut).floor() // 2  # the paper's int(H * cut) // 2
        low, high = (centre - half).clamp(min=0), torch.minimum(centre + half, sides)
        rows = torch.arange(height, device=device).view(height, 1)
        columns = torch.arange(width, device=device).view(1, width)
        inside = (rows >= low[0]) & (rows < high[0]) & (columns >= low[1]) & (columns < high[1])
        weight = 1 - (high - low).prod() / (height * width)
        return torch.where(inside, images[partners], images), weight


MIXERS = {cls.name: cls for cls in (MixUp, CutMix)}


class Mixing:
    """The label-mixing stage of ``data.augment``: after the other augmentations, each batch is mixed by one of
    ``methods`` (drawn uniformly per batch when several are given, as DeiT's recipe switches between MixUp
    and CutMix); returns the mixed images and :class:`MixedTargets`."""

    def __init__(self, methods: list):
        self.methods = methods

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
        partners = torch.randperm(len(images), generator=generator, device=images.device)
        mixes = [method.mix(images, partners, generator) for method in self.methods]
        if len(mixes) == 1:
            mixed, weight = mixes[0]
        else:  # both computed, one kept: no host sync to branch on the draw
            pick = torch.randint(0, len(mixes), (), generator=generator, device=images.device)
            mixed = torch.stack([images for images, _ in mixes])[pick]
            weight = torch.stack([weight for _, weight in mixes])[pick]
        return mixed, MixedTargets.of(labels, labels[partners], weight)
