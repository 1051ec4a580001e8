"""Several processes through ``torchrun`` and DistributedDataParallel.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; :func:`setup` joins the process group (NCCL on GPUs,
gloo on CPUs). Every rank draws the same global batch order and trains on its own contiguous slice of each
global batch, so the averaged gradient is the one-process gradient of the same global batch (without
augmentation; with it, the same images differently augmented). Each rank augments only its slice, with
random draws of its own (seeded by the run's seed, the epoch and the rank: striate.data.shards).
Evaluation is shared by images, not by batches: every rank measures its slice of every batch (so a
validation set of one batch is shared too) and the meters' totals are summed over the ranks, giving the
one-process figures. Only rank 0 writes files.

    torchrun --nproc_per_node 4 -m striate.cli.main train recipes/lenet5-mnist.yaml
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.size > 1


def world_from_environment() -> World:
    """The process's place as torchrun describes it (one process alone when the variables are absent)."""
    return World(int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


def setup(world: World, device: torch.device) -> torch.device:
    """Join the process group; on CUDA each rank takes the GPU of its local rank. Returns the device."""
    if not world.enabled:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def teardown(world: World) -> None:
    if world.enabled and dist.is_initialized():
        dist.destroy_process_group()


def sum_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of ``tensor`` over every rank (float64 on the CPU in and out)."""
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    backend_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    total = tensor.to(backend_device).clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.cpu()


def wrap_model(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    if not world.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _slice(batch, world: World):
    """This rank's contiguous part of a batch (a tensor, or a tuple/list of tensors cut alike), as tensor_split cuts."""
    if isinstance(batch, torch.Tensor):
        return batch.tensor_split(world.size)[world.rank]
    return type(batch)(_slice(part, world) for part in batch)


def _serve_rank(loader, world: World) -> bool:
    """Tell a loader that can serve one rank (striate.data.shards.RankShare: the device, streaming and task
    loaders) which rank it serves; True when it can, so that it draws only this rank's part of each batch."""
    if not hasattr(loader, "shard"):
        return False
    loader.shard = (world.rank, world.size)
    return True


class ShardedLoader:
    """This rank's contiguous slice of every global batch of ``loader`` (which every rank builds alike).

    A loader that can serve one rank draws the epoch's global batches like every rank, and loads and augments
    only this rank's slice, with random draws of its own; any other iterable of global batches is sliced after.

    >>> loader = ShardedLoader(DeviceLoader(...), World(rank=1, size=2))   # doctest: +SKIP
    """

    def __init__(self, loader, world: World):
        self.loader = loader
        self.world = world
        self.global_size = 0  # size of the global batch last drawn
        self.by_loader = _serve_rank(loader, world)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for images, targets in self.loader:
            if self.by_loader:
                self.global_size = self.loader.global_size
                yield images, targets
            else:
                self.global_size = len(targets)
                yield _slice(images, self.world), _slice(targets, self.world)

    def loss_weight(self, count: int) -> float:
        """DDP averages the ranks' gradients of their mean losses; weighing a shard of ``count`` images by
        ``world size * count / global batch`` makes that the gradient of the global batch's mean loss, also
        when the last batch splits unevenly."""
        return self.world.size * count / max(self.global_size, 1)


class RankSlice:
    """This rank's share of an evaluation set: its contiguous slice of every batch, cut by images (so each rank
    measures part of a set of one batch too); empty slices are skipped. The ranks' meters are summed afterwards
    (striate.training.loop.evaluate with ``reduce``), which gives the one-process figures."""

    def __init__(self, loader, world: World):
        self.loader = loader
        self.world = world
        self.by_loader = _serve_rank(loader, world)

    def __iter__(self):
        for images, targets in self.loader:
            if not self.by_loader:
                images, targets = _slice(images, self.world), _slice(targets, self.world)
            if len(targets):
                yield images, targets
