"""Several processes through ``torchrun`` and DistributedDataParallel.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; :func:`setup` joins the process group (NCCL on GPUs,
gloo on CPUs). Every rank draws the same global batch order and trains on its own slice of each global
batch, so the averaged gradient is the one-process gradient of the same global batch. Metrics are summed
over ranks; only rank 0 writes files.

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


class ShardedLoader:
    """This rank's contiguous slice of every global batch of ``loader`` (which every rank builds alike).

    >>> loader = ShardedLoader(DeviceLoader(...), World(rank=1, size=2))   # doctest: +SKIP
    """

    def __init__(self, loader, world: World):
        self.loader = loader
        self.world = world
        self.global_size = 0  # size of the global batch last drawn

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for images, labels in self.loader:
            self.global_size = len(labels)
            yield images.tensor_split(self.world.size)[self.world.rank], labels.tensor_split(self.world.size)[self.world.rank]

    def loss_weight(self, count: int) -> float:
        """DDP averages the ranks' gradients of their mean losses; weighing a shard of ``count`` images by
        ``world size * count / global batch`` makes that the gradient of the global batch's mean loss, also
        when the last batch splits unevenly."""
        return self.world.size * count / max(self.global_size, 1)


class RankSlice:
    """This rank's share of an evaluation set's batches (every rank's metrics are summed afterwards)."""

    def __init__(self, loader, world: World):
        self.loader = loader
        self.world = world

    def __iter__(self):
        for index, batch in enumerate(self.loader):
            if index % self.world.size == self.world.rank:
                yield batch
