"""Scale-out with torchrun: the training notebooks run unchanged on several GPUs or nodes.

A jupytext notebook is a Python script, so the launch is::

    HARMONY_PROFILE=full torchrun --nproc_per_node=4 notebooks/33_train_resnet50.py

Each process calls :func:`init_distributed`, which joins the process group torchrun describes in
its environment (NCCL on GPUs, gloo on CPUs) and picks the process's GPU. ``harmonylib.train.fit``
then wraps the model in ``DistributedDataParallel`` and shards each epoch's samples across ranks;
only rank 0 validates and writes the run folder. In Jupyter or plain ``python`` (no ``WORLD_SIZE``)
nothing happens and training runs in one process.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def dist_info() -> tuple[int, int]:
    """(rank, world size) of the initialised torch.distributed process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: torch.device | None = None) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device); joins torchrun's process group when there is one."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank, world = dist_info()
    return rank, world, device
