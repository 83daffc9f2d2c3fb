"""Data-parallel training across processes (torchrun): who am I, my share of a batch, sums over all.

`torchrun --nproc_per_node=N -m pixelcnn_lib train ...` starts N processes with RANK,
LOCAL_RANK and WORLD_SIZE in their environment. `setup()` joins them into one process group
(NCCL on CUDA, gloo on CPU); `train()` then wraps the model in DistributedDataParallel. Every
process draws the same global batch from the same seeded permutation and keeps its own
contiguous slice, so N processes train exactly what one process would with the same batch.
"""
import math
import os
from dataclasses import replace

import torch
import torch.distributed as dist


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device=None) -> torch.device:
    """Join the torchrun process group; return this process's device (cuda:LOCAL_RANK on GPUs)."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(device) if device is not None else None
    if device is None:
        device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    elif device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def cleanup():
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def world() -> tuple:
    """(rank, world_size) of this process: (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return world()[0] == 0


def shard(items, rank, world_size):
    """This rank's contiguous slice of a global batch; slice sizes differ by at most one."""
    return torch.tensor_split(items, world_size)[rank] if world_size > 1 else items


def sum_over_processes(tensor):
    """In-place sum over all processes (no-op in a single process); returns the tensor."""
    if world()[1] > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def any_process(flags, device) -> list:
    """For each flag: True on every process if it is True on any of them (a collective: all must call)."""
    if world()[1] == 1:
        return [bool(f) for f in flags]
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def evaluate_sharded(model, data, batch_size, device):
    """Bits/dim of `data`; under torchrun each process scores a slice and the sums are combined."""
    from .evaluation import as_tensors, evaluate
    rank, world_size = world()
    if world_size == 1:
        return evaluate(model, data, batch_size, device)["bits_per_dim"]
    images, labels = as_tensors(data)
    part = shard(torch.arange(len(images)), rank, world_size)
    mine = evaluate(model, replace(data, images=images[part], labels=labels[part])
                    if labels is not None else images[part], batch_size, device)
    total = torch.tensor([mine["nats_per_image"] * mine["n_images"]], dtype=torch.float64, device=device)
    sum_over_processes(total)
    return total.item() / (len(images) * images[0].numel() * math.log(2))
