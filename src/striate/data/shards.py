"""One DDP rank's share of a loader's batches: the rank's contiguous part of each global batch, and the
random draws that augment only that part.

Every rank draws the epoch's batch order from the same generator (striate.data.loader.epoch_generator), so
the ranks agree on each global batch; each keeps its part of it (cut as ``torch.tensor_split`` cuts) and
augments only those images, drawing from a generator of its own, seeded by the run's seed, the epoch and
the rank: the ranks' draws differ, a rerun (or a resumed run) repeats them, and the shared generator,
which no augmentation touches, stays in step on every rank. In one process (``shard == (0, 1)``) the
loader is unchanged: the whole batch, augmented from the epoch's generator.

>>> rank_share(torch.arange(10), (1, 3)).tolist()
[4, 5, 6]
>>> rank_share(slice(0, 5), (1, 2))
slice(3, 5, None)
"""

import torch

ONE_PROCESS = (0, 1)  # (rank, ranks)


def rank_share(index, shard: tuple[int, int]):
    """This rank's contiguous part of a global batch's indices (a tensor, a list or a slice with a stop), as
    ``tensor_split`` cuts it: the first ``count % ranks`` ranks take one image more."""
    rank, ranks = shard
    if ranks == 1:
        return index
    count = index.stop - index.start if isinstance(index, slice) else len(index)
    low = rank * (count // ranks) + min(rank, count % ranks)
    high = low + count // ranks + (1 if rank < count % ranks else 0)
    return slice(index.start + low, index.start + high) if isinstance(index, slice) else index[low:high]


def draw_generator(generator: torch.Generator, seed: int, epoch: int, device, shard: tuple[int, int]) -> torch.Generator:
    """The generator a loader augments with: the epoch's own ``generator`` in one process; under DDP one of the
    rank's own, seeded by ``(seed, epoch, rank)``."""
    rank, ranks = shard
    if ranks == 1:
        return generator
    return torch.Generator(device=device).manual_seed((seed * 100_003 + epoch) * 1_000_003 + 7_919 * (rank + 1))


class RankShare:
    """What a loader needs to serve one DDP rank (striate.training.distributed sets ``shard``): in ``__iter__``,
    ``index = self.share(index)`` keeps this rank's part of each global batch (and notes the global batch's
    size, which DDP's loss weighting needs) and ``self.draws(generator)`` is the generator to augment with."""

    shard: tuple[int, int] = ONE_PROCESS  # (rank, ranks)
    global_size: int = 0  # images in the global batch last drawn

    def share(self, index):
        self.global_size = index.stop - index.start if isinstance(index, slice) else len(index)
        return rank_share(index, self.shard)

    def draws(self, generator: torch.Generator) -> torch.Generator:
        return draw_generator(generator, self.seed, self.epoch, self.device, self.shard)
