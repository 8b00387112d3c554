"""Computational cost (report 5.7; notebook 56 and ``benchmarks/gpu_check.py``).

Three numbers put a measured training step in proportion:

* :func:`training_step_flops`: the floating-point operations one training step does (forward and
  backward of the binary cross-entropy loss), counted by ``torch.utils.flop_counter``;
* :func:`matmul_rate`: the FLOP/s square matrix products reach on a device, measured: the practical
  ceiling of a device that has no published peak (a CPU);
* :func:`peak_flops`: the device's published dense peak for a dtype (:data:`PUBLISHED_PEAKS`).

A step's FLOPs over its measured time over the peak is the model FLOP utilisation (MFU).
"""
from __future__ import annotations

import copy
import platform
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# Dense (no structured sparsity) peak FLOP/s per dtype, by a substring of the name torch/nvidia-smi
# give the card; the first matching row counts, so a more specific name comes before a shorter one.
# float32 is the plain (non-tensor-core) rate: PyTorch multiplies float32 matrices without TF32 by default.
# Sources: NVIDIA H100 Tensor Core GPU datasheet (SXM5 column: bf16/fp16 1,979 TFLOPS "with sparsity",
# i.e. 989.4 dense; fp32 67; the H200 datasheet gives the same rates for the H200 SXM); NVIDIA H100 PCIe
# column (bf16 1,513 with sparsity, 756 dense; fp32 51); NVIDIA A100 datasheet (bf16/fp16 312 dense,
# fp32 19.5); NVIDIA Turing architecture whitepaper, appendix (GeForce RTX 2080 Ti, reference clocks:
# fp16 tensor 107.6 with fp16 accumulation, 53.8 with fp32 accumulation, which PyTorch uses; fp32 13.4;
# no bf16 tensor cores).
PUBLISHED_PEAKS: tuple[tuple[str, dict[torch.dtype, float], str], ...] = (
    ("H200 NVL", {}, "the H200 NVL's rates differ from the SXM part's and are not in the table"),
    ("H200", {torch.bfloat16: 989.4e12, torch.float16: 989.4e12, torch.float32: 66.9e12},
     "NVIDIA H200 (SXM) datasheet, dense"),
    ("H100 PCIe", {torch.bfloat16: 756.5e12, torch.float16: 756.5e12, torch.float32: 51.2e12},
     "NVIDIA H100 PCIe datasheet, dense"),
    ("H100", {torch.bfloat16: 989.4e12, torch.float16: 989.4e12, torch.float32: 66.9e12},
     "NVIDIA H100 SXM5 datasheet, dense"),
    ("A100", {torch.bfloat16: 312e12, torch.float16: 312e12, torch.float32: 19.5e12},
     "NVIDIA A100 datasheet, dense"),
    ("2080 Ti", {torch.float16: 107.6e12, torch.float32: 13.4e12},
     "NVIDIA Turing whitepaper (fp16 with fp16 accumulation; half that with fp32 accumulation)"),
)


def training_step_flops(model: nn.Module, inputs: torch.Tensor) -> int:
    """FLOPs of one training step of ``model`` on the batch ``inputs``: the forward pass in training mode
    and the backward pass of the binary cross-entropy loss on logits (``harmonylib.train.fit``'s loss),
    as ``torch.utils.flop_counter.FlopCounterMode`` counts them (matrix products and convolutions; the
    element-wise operations and the optimiser's update are not counted, and are a small share).

    The backward pass of a layer computes the gradient of its weights and, unless its input needs no
    gradient (the first layer's: the batch), the gradient of its input: about twice the forward pass.
    Runs on a copy of ``model``, so ``model`` (its weights, gradients, batch-norm statistics) is unchanged.
    """
    model = copy.deepcopy(model).train()
    with FlopCounterMode(display=False) as counter:
        logits = model(inputs).float()
        nn.functional.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)).backward()
    return int(counter.get_total_flops())


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device, dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s achieved by ``size`` x ``size`` matrix products in ``dtype`` on ``device``, measured: one
    untimed product (library start-up), then the fastest of ``repeats`` timed ones (slower repeats
    measure other processes), each counted as ``2 size^3`` FLOPs. Random operands: zeros can run faster.
    """
    device = torch.device(device)
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, generator=generator, device=device).to(dtype)
    b = torch.randn(size, size, generator=generator, device=device).to(dtype)
    torch.mm(a, b)
    _synchronize(device)
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        _synchronize(device)
        fastest = min(fastest, time.perf_counter() - started)
    return 2 * size**3 / fastest


def device_name(device) -> str:
    """The name of ``device``: the GPU's (``torch.cuda.get_device_name``), or the CPU's model name."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "cpu"


def published_peak(name: str, dtype: torch.dtype) -> tuple[float | None, str]:
    """The dense peak FLOP/s in ``dtype`` of the device called ``name`` from :data:`PUBLISHED_PEAKS`,
    and its source; ``None`` and the reason where the table has none.

    >>> published_peak("NVIDIA H200", torch.bfloat16)
    (989400000000000.0, 'NVIDIA H200 (SXM) datasheet, dense')
    """
    for pattern, peaks, source in PUBLISHED_PEAKS:
        if pattern.lower() in name.lower():
            if dtype in peaks:
                return peaks[dtype], source
            return None, f"{name}: no published {dtype} peak ({source})"
    return None, f"{name}: no published peak in harmonylib.cost.PUBLISHED_PEAKS"


def peak_flops(device, dtype: torch.dtype) -> tuple[float | None, str]:
    """The published dense peak FLOP/s of ``device`` in ``dtype`` and its source, or ``None`` and why
    (a CPU, a card the table does not know, a dtype the card has no tensor cores for)."""
    device = torch.device(device)
    if device.type != "cuda":
        return None, f"{device.type}: no published peak"
    return published_peak(device_name(device), dtype)
