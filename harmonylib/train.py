"""The training engine of report chapter 4 (notebooks 30-34; the experiment grid of chapter 5 reruns them).

:func:`fit` trains any model of :mod:`harmonylib.models` with the recipe of Tables 4.3-4.5:
binary cross-entropy on logits, Adam with L2 weight decay, polynomial decay (power 0.7) after a
5 % linear warm-up, stepped once per optimiser step (``transformers``' scheduler). AST's classifier
has its own optimiser and scheduler (report 4.5): transformers' scheduler computes every group's
end learning rate from ``optimizer.defaults['lr']``, so one optimiser with two groups would not
end each group at its own final rate.

What the original lacked, done here:

* gradient accumulation divides each micro-batch loss by the number of micro-batches in the step
  (the original summed them), and clipping acts on the averaged gradient;
* every epoch is seeded from ``(seed, epoch)``, so a run resumed after ``kill -9`` retraces the
  uninterrupted run and its metrics hold each epoch once;
* checkpoints are chosen by a sound criterion (default: validation macro F1 of S2-aggregated clips
  at 0.5, ties broken by the clip-level BCE of the mean window probability); the original's BCE on
  S2 scores, degenerate because S2 divides by the maximum, is available as ``select="s2_bce"``;
* evaluation never drops the last batch.

Everything on the hot path runs *on the device, batched*, with no DataLoader, worker process or loop
over items: a data set's ``batch(items, device)`` cuts a batch of windows from the waveform store held on
the device (``harmonylib.windows``; dynamic sampling mixes them there, ``harmonylib.sampling``), then
``train_input`` (augmentation + input, training) or ``model_input`` (under ``no_grad``) turns it into the
model's input and the model runs under :func:`autocast` (bfloat16 on GPUs that have it, else float16
with loss scaling; float32 on the CPU). Both inputs are plain callables, so the engine does not depend
on how features are computed (``harmonylib.inputs``). The same code runs on the CPU. 2-D convolutional
models run channels-last (:func:`prepare_model`); on CUDA, ``TrainSettings.compile`` compiles the model
with ``torch.compile``, and cuDNN and cuBLAS are set to deterministic algorithms (PyTorch warns where an
operation has none), so a seeded run repeats as far as the GPU's kernels allow.

Scale-out: under ``torchrun`` (or any initialised ``torch.distributed`` process group) the same
:func:`fit` wraps the model in ``DistributedDataParallel`` and shards every epoch's sample
order across ranks; ``batch_size`` is the *global* batch, so one process and N processes take the
same optimiser steps.

Everything :func:`fit` writes goes through :mod:`harmonylib.runs`, which documents the run folder.
The recipes of chapter 4 (Tables 4.3-4.5, the training and evaluation sets, ``train_run``) live in
:mod:`harmonylib.recipes`.
"""
from __future__ import annotations

import contextlib
import copy
import itertools
import json
import math
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset, Sampler, default_collate

from . import runs
from .distributed import dist_info
from .errors import ConfigError, HarmonyError
from .evaluate import aggregate, binarize, multilabel_metrics

# cuBLAS's deterministic mode needs this set before CUDA starts (PyTorch's reproducibility notes)
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
RESUME_POINT_SECONDS = 60.0  # fit writes a resume point when this much training time has passed since the last
VALIDATION_CACHE_BYTES = 2 * 2**30  # on the CPU, validation model inputs up to this size are computed once per run


@dataclass(frozen=True)
class OptimGroup:
    """One optimiser with its scheduler: initial and final learning rate, L2 weight decay."""

    name: str  # "all", or AST's "base" / "classifier" (harmonylib.models.parameter_groups)
    lr: float
    lr_end: float
    weight_decay: float


SELECTIONS = {  # name -> (metric column, "max" or "min")
    "macro_f1": ("val_macro_f1", "max"),
    "clip_bce": ("val_clip_bce", "min"),
    "s2_bce": ("val_s2_bce", "min"),
}


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a run (recorded in the run folder; a resumed run must match it)."""

    model: str
    epochs: int
    batch_size: int  # global batch per micro-step (all ranks together)
    groups: tuple[OptimGroup, ...]
    seed: int
    accumulation_steps: int = 1
    warmup: float = 0.05
    power: float = 0.7
    clip_norm: float | None = None
    samples_per_epoch: int | None = None  # None: every training sample each epoch
    select: str = "macro_f1"
    threshold: float = 0.5
    amp: bool = True  # mixed precision, used on CUDA only
    compile: bool = False  # torch.compile the model (CUDA only)
    eval_batch_size: int = 64
    extra: dict = field(default_factory=dict)  # notebook parameters recorded with the run (window, sampling ...)

    def __post_init__(self):
        if self.select not in SELECTIONS:
            raise ConfigError(f"unknown checkpoint selection {self.select!r}; choose one of {sorted(SELECTIONS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.accumulation_steps < 1:
            raise ConfigError("epochs, batch_size and accumulation_steps must be positive")
        for g in self.groups:
            if not g.lr > g.lr_end >= 0:
                raise ConfigError(f"group {g.name!r}: the final learning rate must be below the initial one")

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))


@dataclass
class RunResult:
    """What :func:`fit` returns: the run folder, its per-epoch metrics, its summary and its settings."""

    run_dir: Path
    metrics: pd.DataFrame
    summary: dict
    settings: TrainSettings


# ------------------------------------------------------------------------------- seeds and sampling
def seed_everything(seed: int, epoch: int = 0) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA) from ``(seed, epoch)``; returns the derived seed."""
    derived = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)
    return derived


class EpochSampler(Sampler[int]):
    """A seeded permutation per epoch, optionally cut to ``num_samples``, sharded over ranks.

    Rank r takes positions r, r+W, r+2W ... of the permutation, so global batch b (all ranks'
    b-th batches together) is the same set of samples as batch b of a single process.
    """

    def __init__(self, size: int, seed: int, num_samples: int | None = None, rank: int = 0, world_size: int = 1):
        self.size, self.seed, self.rank, self.world_size = size, seed, rank, world_size
        self.num_samples = size if num_samples is None else min(num_samples, size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.world_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator)[: self.num_samples].tolist()
        order += order[: len(self) * self.world_size - len(order)]  # pad so every rank gets as many
        return iter(order[self.rank:: self.world_size])


# ------------------------------------------------------------------------------- schedules
def warmup_steps(warmup: float, total_steps: int) -> int:
    """Optimiser steps of linear warm-up: a fraction ``warmup`` of ``total_steps``, rounded up, but fewer
    than ``total_steps`` (the polynomial decay after the warm-up divides by the steps left for it)."""
    return max(0, min(math.ceil(warmup * total_steps), total_steps - 1))


def make_optimizers(model: nn.Module, groups: tuple[OptimGroup, ...], total_steps: int, warmup: float, power: float):
    """One Adam (L2 weight decay) and one polynomial-decay scheduler per group."""
    from transformers import get_polynomial_decay_schedule_with_warmup

    from .models import parameter_groups

    params = parameter_groups(model)
    if set(params) != {g.name for g in groups}:
        raise ConfigError(f"model parameter groups {sorted(params)} do not match {[g.name for g in groups]}")
    optimizers, schedulers = [], []
    for g in groups:
        optimizer = torch.optim.Adam(params[g.name], lr=g.lr, weight_decay=g.weight_decay)
        optimizers.append(optimizer)
        schedulers.append(get_polynomial_decay_schedule_with_warmup(
            optimizer, num_warmup_steps=warmup_steps(warmup, total_steps), num_training_steps=total_steps,
            lr_end=g.lr_end, power=power))
    return optimizers, schedulers


def lr_schedule(group: OptimGroup, total_steps: int, warmup: float = 0.05, power: float = 0.7) -> np.ndarray:
    """The learning rate at each optimiser step, from the very scheduler :func:`fit` uses (Figure 4.1)."""
    from transformers import get_polynomial_decay_schedule_with_warmup

    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=group.lr)
    scheduler = get_polynomial_decay_schedule_with_warmup(
        optimizer, warmup_steps(warmup, total_steps), total_steps, lr_end=group.lr_end, power=power)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


def steps_per_epoch(settings: TrainSettings, train_size: int, world_size: int = 1) -> tuple[int, int]:
    """(micro-batches per rank, optimiser steps) per epoch."""
    samples = train_size if settings.samples_per_epoch is None else min(settings.samples_per_epoch, train_size)
    batches = math.ceil(math.ceil(samples / world_size) / (settings.batch_size // world_size))
    return batches, math.ceil(batches / settings.accumulation_steps)


# ------------------------------------------------------------------------------- batches on the device
def batch_of(dataset: Dataset, items, device) -> tuple[torch.Tensor, ...]:
    """Items ``items`` of ``dataset`` as one batch on ``device``: the data set's own ``batch(items, device)``
    where it has one (the study's windows and dynamic sampling, cut and mixed on the device), else its
    items collated on the host and moved (any other ``Dataset``)."""
    if hasattr(dataset, "batch"):
        return tuple(dataset.batch(items, device))
    return tuple(part.to(device) for part in default_collate([dataset[int(i)] for i in items]))


def autocast(device, enabled: bool = True):
    """The mixed precision of training and evaluation on ``device``: bfloat16 on a GPU that supports it,
    else float16 (which :func:`fit` pairs with loss scaling); off on the CPU (float32)."""
    device = torch.device(device)
    dtype = torch.bfloat16 if device.type == "cuda" and native_bfloat16() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype, enabled=enabled and device.type == "cuda")


def native_bfloat16() -> bool:
    """Whether the GPU computes in bfloat16 itself (Ampere and later), not by emulation."""
    return torch.cuda.is_bf16_supported(including_emulation=False)


def prepare_model(model: nn.Module, device, compile: bool = False) -> nn.Module:
    """``model`` moved to ``device``, in channels-last memory format when it has 2-D convolutions (what
    GPU tensor cores and the CPU's oneDNN kernels want; README, *Measured*, says what it gained on this
    project's CPU) and, with ``compile``, on CUDA, wrapped by ``torch.compile``.
    Returns the module to call; its parameters are those of ``model``."""
    device = torch.device(device)
    model.to(device)
    if any(isinstance(m, nn.Conv2d) for m in model.modules()):
        model.to(memory_format=torch.channels_last)
    return torch.compile(model) if compile and device.type == "cuda" else model


def in_model_layout(inputs: torch.Tensor) -> torch.Tensor:
    """Images (B, C, H, W) in the channels-last memory format of :func:`prepare_model`'s 2-D convolutional models."""
    return inputs.contiguous(memory_format=torch.channels_last) if inputs.dim() == 4 else inputs


# ------------------------------------------------------------------------------- prediction
@torch.no_grad()
def evaluation_inputs(dataset: Dataset, model_input: Callable, device, batch_size: int = 64):
    """The model inputs of every window of an evaluation data set (items: waveform, target, clip index),
    batch by batch, in data-set order: ``(inputs, targets, clip indices)`` on ``device``."""
    for start in range(0, len(dataset), batch_size):
        wave, target, clip = batch_of(dataset, range(start, min(start + batch_size, len(dataset))), device)
        yield in_model_layout(model_input(wave)), target, clip


@torch.no_grad()
def predict_inputs(model: nn.Module, batches, device) -> dict[str, np.ndarray]:
    """Sigmoid outputs of ``model`` for batches of :func:`evaluation_inputs`: ``probs`` (windows, 11),
    ``targets`` (windows, 11) and ``clip_index`` (windows,), in the batches' order."""
    model = getattr(model, "module", model)
    was_training = model.training
    model.eval()
    probs, targets, clips = [], [], []
    for inputs, target, clip in batches:
        with autocast(device):
            logits = model(inputs)
        probs.append(torch.sigmoid(logits.float()).cpu())
        targets.append(target.cpu())
        clips.append(clip.cpu())
    model.train(was_training)
    if not probs:
        raise HarmonyError("evaluation data set is empty")
    return {"probs": torch.cat(probs).numpy(), "targets": torch.cat(targets).numpy(),
            "clip_index": torch.cat(clips).numpy()}


def predict_windows(model: nn.Module, dataset: Dataset, model_input: Callable, device,
                    batch_size: int = 64) -> dict[str, np.ndarray]:
    """Sigmoid outputs for every window of an evaluation data set (items: waveform, target, clip index).

    Returns ``probs`` (windows, 11), ``targets`` (windows, 11) and ``clip_index`` (windows,), in
    data-set order; no batch is dropped.
    """
    return predict_inputs(model, evaluation_inputs(dataset, model_input, device, batch_size), device)


def group_windows(clip_index: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Split window rows by clip: (sorted clip ids, per array a list of per-clip row blocks)."""
    order = np.argsort(clip_index, kind="stable")
    ids, starts = np.unique(clip_index[order], return_index=True)
    return ids, [np.split(a[order], starts[1:]) for a in arrays]


def clip_metrics(window: dict[str, np.ndarray], threshold: float = 0.5) -> dict[str, float]:
    """Validation numbers from window predictions: window BCE, clip BCE (S1 mean), the original's S2 BCE,
    and the metrics of S2 at ``threshold``."""
    _, (probs, targets) = group_windows(window["clip_index"], window["probs"], window["targets"])
    y_true = np.stack([t[0] for t in targets]).astype(np.int8)
    s1 = aggregate(probs, "S1")
    s2 = aggregate(probs, "S2")
    bce = torch.nn.functional.binary_cross_entropy  # clamps log at -100, like the original's BCELoss
    metrics = multilabel_metrics(y_true, binarize(s2, threshold))
    as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    return {
        "val_loss": float(bce(as_tensor(window["probs"]), as_tensor(window["targets"]))),
        "val_clip_bce": float(bce(as_tensor(s1), as_tensor(y_true))),
        "val_s2_bce": float(bce(as_tensor(s2), as_tensor(y_true))),
        **{f"val_{k}": metrics[k] for k in ("hamming_score", "exact_match", "macro_f1", "macro_precision",
                                              "macro_recall")},
    }


def peak_memory_bytes(device) -> tuple[int, str]:
    """Peak memory: CUDA's max allocated on a GPU, else the process's maximum resident set size."""
    if torch.device(device).type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "torch.cuda.max_memory_allocated"
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale), "process max RSS (CPU)"


def training_step_memory(model: nn.Module, inputs: torch.Tensor, optimiser_slots: int = 2) -> dict[str, int]:
    """Bytes that one training step of ``model`` on the batch ``inputs`` holds for the model itself
    (Fig. 5.7, notebook 56): its parameters, the gradients of the trainable ones, the optimiser's state
    (Adam keeps ``optimiser_slots`` = 2 tensors per trainable parameter, its moment estimates) and the
    activations autograd saves for the backward pass (every tensor a forward pass in training mode saves,
    each storage once, parameters left out).

    Counted in the dtype of ``model`` and ``inputs`` (float32 here), so the same on every device, unlike a
    process's peak memory (the libraries, the data, the allocator's caches) or a GPU allocator's peak; a
    CUDA run under autocast keeps many activations in half precision and needs less. The forward pass runs
    on a copy, so ``model`` is not changed.
    """
    model = copy.deepcopy(model).train()
    parameter_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable_bytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(inputs)  # kept alive until the sum: the saved storages cannot be freed and reused
        activations = sum(saved.values())
    del output
    return {"parameters": parameter_bytes, "gradients": trainable_bytes,
            "optimiser state": optimiser_slots * trainable_bytes, "activations": activations}


# ------------------------------------------------------------------------------- the loop
@dataclass
class _Training:
    """What the steps of :func:`fit` share: the model (DDP-wrapped where distributed), optimisers, progress."""

    model: nn.Module  # what a training step calls: the model, compiled and/or DDP-wrapped where asked
    module: nn.Module  # the model itself, never the DDP wrapper
    settings: TrainSettings
    run_dir: Path
    device: torch.device
    rank: int
    world: int
    optimizers: list
    schedulers: list
    scaler: torch.amp.GradScaler
    batches: int  # micro-batches per epoch and rank
    optimiser_steps: int  # per epoch
    start_epoch: int = 0
    best: dict | None = None
    history: list = field(default_factory=list)
    resume_every: float = RESUME_POINT_SECONDS
    val_inputs: list | None = None  # the validation set's model inputs, once computed (_cached_validation_inputs)
    resume_point_at: float = 0.0  # training and validation seconds since the last resume point

    def state(self) -> dict:
        return {"optimizers": [o.state_dict() for o in self.optimizers],
                "schedulers": [s.state_dict() for s in self.schedulers], "scaler": self.scaler.state_dict()}


def _open_run_folder(model: nn.Module, settings: TrainSettings, run_dir: Path, rank: int, world: int,
                     log: Callable) -> RunResult | None:
    """Set aside a run folder made with other settings; return a finished one with these settings as it is."""
    config = {"settings": settings.to_json(), "model": getattr(model, "harmony_name", type(model).__name__),
              "model_config": getattr(model, "harmony_config", {}),
              "weights": getattr(model, "harmony_weights", "unknown"), "world_size": world}
    recorded = runs.recorded_settings(run_dir) if rank == 0 else None
    if recorded is not None and recorded != config["settings"]:
        kept = runs.set_aside(run_dir)
        log(f"{run_dir.name}: the settings changed since this run was made; the old run is kept as {kept.name}")
    if world > 1:
        torch.distributed.barrier()
    summary = runs.finished_summary(run_dir)
    if summary is not None:
        if rank == 0:
            runs.drop_resume_point(run_dir)  # left by a run stopped between its summary and the clean-up
        runs.load_checkpoint(model, run_dir, "best")
        return RunResult(run_dir, runs.read_metrics(run_dir), summary, settings)
    if rank == 0:
        runs.write_config(run_dir, config)
    return None


def _start(model: nn.Module, train_size: int, settings: TrainSettings, run_dir: Path, device: torch.device,
           rank: int, world: int, log: Callable) -> _Training:
    """Optimisers and schedulers for the whole run, resumed from the run folder's last epoch if it has one."""
    module = model
    model = prepare_model(model, device, settings.compile)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
        torch.use_deterministic_algorithms(True, warn_only=True)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    batches, optimizer_steps = steps_per_epoch(settings, train_size, world)
    optimizers, schedulers = make_optimizers(module, settings.groups, settings.epochs * optimizer_steps,
                                             settings.warmup, settings.power)
    float16 = device.type == "cuda" and not native_bfloat16()  # bfloat16 needs no loss scaling
    scaler = torch.amp.GradScaler("cuda", enabled=settings.amp and float16)
    training = _Training(model, module, settings, run_dir, device, rank, world, optimizers, schedulers, scaler, batches,
                         optimizer_steps)
    resumed = runs.resume_point(run_dir, device)
    if resumed is not None:
        runs.load_checkpoint(module, run_dir, "last")
        state = resumed["state"]
        for obj, saved in zip(optimizers + schedulers, state["optimizers"] + state["schedulers"]):
            obj.load_state_dict(saved)
        scaler.load_state_dict(state["scaler"])
        training.start_epoch = resumed["epoch"] + 1
        training.best, training.history = resumed["best"], resumed["history"]
        log(f"resuming {run_dir.name} after epoch {resumed['epoch'] + 1} of {settings.epochs}")
        # best/ may hold an epoch after the resume point (resume points are written less often): the steps
        # retraced from here must beat it to replace it, and the summary names the epoch best/ holds
        chosen = runs.best_info(run_dir) if rank == 0 else None
        if chosen is not None and chosen["epoch"] > resumed["epoch"]:
            training.best = _selection(settings, chosen)
    return training


def _train_one_epoch(t: _Training, train_set: Dataset, sampler: EpochSampler, epoch: int, model_input: Callable,
                     train_input: Callable | None) -> dict:
    """One seeded epoch of optimiser steps; returns the epoch's training loss and timing."""
    settings, device = t.settings, t.device
    epoch_seed = seed_everything(settings.seed, epoch)
    sampler.set_epoch(epoch)
    augment_generator = torch.Generator(device=device).manual_seed(epoch_seed)
    if hasattr(train_set, "set_epoch"):
        train_set.set_epoch(epoch)
    order = list(sampler)  # this rank's items of the epoch
    per_rank = settings.batch_size // t.world
    criterion = nn.BCEWithLogitsLoss()
    t.model.train()
    started, cpu_started = time.perf_counter(), time.process_time()
    loss_sum, seen = torch.zeros((), dtype=torch.float64, device=device), 0
    for i, first in enumerate(range(0, len(order), per_rank)):
        window_start = i - i % settings.accumulation_steps
        in_window = min(settings.accumulation_steps, t.batches - window_start)
        step_now = i - window_start == in_window - 1
        wave, target = batch_of(train_set, order[first:first + per_rank], device)[:2]
        target = target.float()
        with torch.no_grad():
            inputs = model_input(wave) if train_input is None else train_input(wave, augment_generator)
        # DDP: all-reduce gradients only on the micro-batch that completes an optimiser step
        with t.model.no_sync() if t.world > 1 and not step_now else contextlib.nullcontext():
            with autocast(device, settings.amp):
                loss = criterion(t.model(in_model_layout(inputs)).float(), target)
            t.scaler.scale(loss / in_window).backward()
        loss_sum += loss.detach().double() * len(target)
        seen += len(target)
        if step_now:
            _optimiser_step(t)
    if not math.isfinite(loss_sum.item()):
        raise HarmonyError(f"training loss became non-finite in epoch {epoch + 1}", t.run_dir)
    if t.world > 1:
        totals = torch.stack([loss_sum, torch.tensor(float(seen), dtype=torch.float64, device=device)])
        torch.distributed.all_reduce(totals)
        loss_sum, seen = totals[0], int(totals[1].item())
    train_seconds = time.perf_counter() - started
    return {"epoch": epoch, "train_loss": loss_sum.item() / max(seen, 1), "train_seconds": train_seconds,
            "train_cpu_seconds": time.process_time() - cpu_started, "samples_per_second": seen / train_seconds}


def _optimiser_step(t: _Training) -> None:
    for optimizer in t.optimizers:
        t.scaler.unscale_(optimizer)
    if t.settings.clip_norm is not None:
        nn.utils.clip_grad_norm_(t.module.parameters(), t.settings.clip_norm)
    for optimizer in t.optimizers:
        t.scaler.step(optimizer)
    t.scaler.update()
    for optimizer, scheduler in zip(t.optimizers, t.schedulers):
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()


def _cached_validation_inputs(t: _Training, val_set: Dataset, model_input: Callable):
    """The validation set's model inputs: computed once and kept (they do not change between epochs) when
    they take at most an eighth of the GPU's memory or :data:`VALIDATION_CACHE_BYTES` on the CPU, else
    computed again for every pass."""
    if t.val_inputs is not None:
        return t.val_inputs
    batches = evaluation_inputs(val_set, model_input, t.device, t.settings.eval_batch_size)
    first = next(batches, None)
    if first is None:
        raise HarmonyError("the validation set is empty", t.run_dir)
    limit = (torch.cuda.get_device_properties(t.device).total_memory // 8 if t.device.type == "cuda"
             else VALIDATION_CACHE_BYTES)
    if first[0][0].nbytes * len(val_set) > limit:
        return itertools.chain([first], batches)
    t.val_inputs = [first, *batches]
    return t.val_inputs


def _selection(settings: TrainSettings, row: dict) -> dict:
    """An epoch's standing for checkpoint selection: its sort ``key`` (lower is better), epoch and criterion."""
    column, direction = SELECTIONS[settings.select]
    return {"key": [row[column] if direction == "min" else -row[column], row["val_clip_bce"]],
            "epoch": row["epoch"], column: row[column]}


def _validate_and_checkpoint(t: _Training, epoch_row: dict, val_set: Dataset, model_input: Callable,
                             log: Callable) -> None:
    """Rank 0: validation metrics of the epoch, the best checkpoint (with its validation predictions) if it
    improved, and a resume point when :data:`RESUME_POINT_SECONDS` of training have passed since the last
    one (never after the last epoch: the finished run drops it). Seeded epochs make a run resumed from an
    older point retrace the same steps, so writing fewer resume points costs a killed run only time."""
    settings = t.settings
    started = time.perf_counter()
    window = predict_inputs(t.module, _cached_validation_inputs(t, val_set, model_input), t.device)
    row = {"epoch": epoch_row["epoch"], "train_loss": epoch_row["train_loss"],
           **clip_metrics(window, settings.threshold)}
    row.update({f"lr_{o.name}": opt.param_groups[0]["lr"] for o, opt in zip(settings.groups, t.optimizers)})
    row.update(train_seconds=epoch_row["train_seconds"], train_cpu_seconds=epoch_row["train_cpu_seconds"],
               val_seconds=time.perf_counter() - started, samples_per_second=epoch_row["samples_per_second"])
    t.history.append(row)
    epoch = row["epoch"]
    best = _selection(settings, row)
    improved = t.best is None or best["key"] < t.best["key"]
    started = time.perf_counter()
    if improved:
        t.best = best
        runs.save_best(t.run_dir, t.module, epoch, {"epoch": epoch, "select": settings.select, **row}, window)
    row["checkpoint_seconds"] = time.perf_counter() - started
    t.resume_point_at += row["train_seconds"] + row["val_seconds"]
    if epoch + 1 < settings.epochs and t.resume_point_at >= t.resume_every:
        runs.save_last(t.run_dir, t.module, t.state(), epoch, t.best, t.history)
        t.resume_point_at = 0.0
        row["checkpoint_seconds"] = time.perf_counter() - started
    runs.write_metrics(t.run_dir, t.history)
    log(f"epoch {epoch + 1}/{settings.epochs}: train loss {row['train_loss']:.4f}, val loss "
        f"{row['val_loss']:.4f}, val macro F1 {row['val_macro_f1']:.3f}"
        f"{' (best)' if improved else ''}, {row['train_seconds']:.1f} s")


def _summary(t: _Training, metrics: pd.DataFrame, model_name: str, weights: str) -> dict:
    """The summary of a finished run: Figure 5.7's numbers and the selected epoch."""
    column = SELECTIONS[t.settings.select][0]
    peak, how = peak_memory_bytes(t.device)
    return {
        "status": "finished", "model": model_name, "weights": weights,
        "parameters": sum(p.numel() for p in t.module.parameters()), "device": str(t.device), "world_size": t.world,
        "best_epoch": int(t.best["epoch"]), "select": t.settings.select, f"best_{column}": t.best[column],
        "optimiser_steps": t.settings.epochs * t.optimiser_steps,
        "seconds_per_epoch": float(metrics["train_seconds"].mean()),
        # CPU time of this process (all its threads): comparable across runs on a shared machine
        "cpu_seconds_per_epoch": float(metrics["train_cpu_seconds"].mean()),
        "val_seconds_per_epoch": float(metrics["val_seconds"].mean()),
        "samples_per_second": float(metrics["samples_per_second"].mean()),
        "peak_memory_bytes": peak, "peak_memory_measure": how,
    }


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset, settings: TrainSettings, run_dir: str | Path,
        model_input: Callable[[torch.Tensor], torch.Tensor], train_input: Callable | None = None, device=None,
        stop_after_epoch: int | None = None, resume_every: float = RESUME_POINT_SECONDS,
        log: Callable[[str], None] = print) -> RunResult:
    """Train ``model`` (from :func:`harmonylib.models.build_model`) and write its run folder.

    ``train_set`` items are ``(waveform, multi-hot target, ...)``; ``val_set`` items are
    ``(waveform, multi-hot target, clip index)``. A data set with ``set_epoch(epoch)`` (dynamic
    sampling) is told the epoch before each one. ``model_input(waves)`` turns a waveform batch on
    ``device`` into the model's input; ``train_input(waves, generator)``, if given, does so for
    training batches, augmentations included, drawing random numbers from ``generator`` (a
    ``torch.Generator`` on ``device`` seeded per epoch). A run folder holding a finished run with the same
    settings is returned as it is; an unfinished one is resumed from its last finished epoch.
    ``stop_after_epoch`` ends the call after that epoch as an interruption would (used by the tests);
    ``resume_every``: seconds of training and validation between resume points (0: after every epoch).
    """
    rank, world = dist_info()
    if settings.batch_size % world:
        raise ConfigError(f"batch size {settings.batch_size} does not divide over {world} processes")
    device = torch.device(device or "cpu")
    run_dir = Path(run_dir)
    finished = _open_run_folder(model, settings, run_dir, rank, world, log)
    if finished is not None:
        return finished
    t = _start(model, len(train_set), settings, run_dir, device, rank, world, log)
    t.resume_every = resume_every
    sampler = EpochSampler(len(train_set), settings.seed, settings.samples_per_epoch, rank, world)
    for epoch in range(t.start_epoch, settings.epochs):
        epoch_row = _train_one_epoch(t, train_set, sampler, epoch, model_input, train_input)
        if rank == 0:
            _validate_and_checkpoint(t, epoch_row, val_set, model_input, log)
        if world > 1:
            torch.distributed.barrier()
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            return RunResult(run_dir, pd.DataFrame(t.history), {"status": "interrupted", "epoch": epoch}, settings)

    metrics = pd.DataFrame(t.history)
    summary = {}
    if rank == 0:
        summary = _summary(t, metrics, getattr(model, "harmony_name", type(model).__name__),
                           getattr(model, "harmony_weights", "unknown"))
        runs.write_summary(run_dir, summary)
        runs.drop_resume_point(run_dir)
    if world > 1:
        torch.distributed.barrier()
    runs.load_checkpoint(t.module, run_dir, "best")
    return RunResult(run_dir, metrics, summary, settings)
