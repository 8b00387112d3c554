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
  uninterrupted run and its ``metrics.csv`` holds each epoch once;
* checkpoints are chosen by a sound criterion (default: validation macro F1 of S2-aggregated clips
  at 0.5, ties broken by the clip-level BCE of the mean window probability); the original's BCE on
  S2 scores, degenerate because S2 divides by the maximum, is available as ``select="s2_bce"``;
* evaluation never drops the last batch.

The model input is computed *on the device, batched*: the engine moves the raw waveform batch to
the device, applies ``train_input`` (augmentation + input, training) or ``model_input`` under ``no_grad``, then runs
the model under autocast on CUDA. Both are plain callables, so the engine does not depend on how
features are computed (``harmonylib.inputs``).

Scale-out: under ``torchrun`` (or any initialised ``torch.distributed`` process group) the same
:func:`fit` wraps the model in ``DistributedDataParallel`` and shards every epoch's sample
order across ranks; ``batch_size`` is the *global* batch, so one process and N processes take the
same optimiser steps.

Run folder (``paths.runs_dir() / run_name``)::

    config.json            settings, model name/config, weights provenance, world size
    metrics.csv            one row per finished epoch (losses, validation metrics, lr, time)
    run.json               status, best epoch, timing, throughput, peak memory, provenance
    best/model.safetensors best checkpoint's weights (+ best/info.json)
    last/epoch_NNN/        model.safetensors + state.pt (optimisers, schedulers, scaler, epoch)
    last.json              points at the newest complete last/epoch_NNN (written last: atomic resume)
    predictions_<dataset>_<split>.npz
                           window probabilities of the selected checkpoint on validation/test clips,
                           written by the notebooks with :func:`save_predictions`
"""
from __future__ import annotations

import contextlib
import dataclasses
import io as _io
import json
import math
import random
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from . import io
from .errors import ConfigError, HarmonyError
from .evaluate import aggregate, multilabel_metrics, predict


@dataclass(frozen=True)
class OptimGroup:
    """One optimiser with its scheduler: initial and final learning rate, L2 weight decay."""

    name: str  # "all", or AST's "base" / "classifier" (harmonylib.models.parameter_groups)
    lr: float
    lr_end: float
    weight_decay: float


# Tables 4.3 (the three CNNs), 4.4 (ResNet-50) and 4.5 (AST) of the report.
PAPER_GROUPS: dict[str, tuple[OptimGroup, ...]] = {
    "cnn": (OptimGroup("all", 1e-3, 1e-5, 5e-4),),
    "resnet50": (OptimGroup("all", 2e-4, 1e-6, 1e-5),),
    "ast": (OptimGroup("base", 2e-5, 2e-6, 1e-4), OptimGroup("classifier", 1e-3, 1e-4, 1e-3)),
}

# ResNet-50 and AST when their pretrained weights are missing (here, offline: always) and they train from
# random initialisation. Tables 4.4 and 4.5 give *fine-tuning* rates, too small to train a network from
# scratch in a few epochs; these are ordinary from-scratch Adam rates (a documented deviation, chosen
# on SynthIRMAS's validation split, notebooks 33 and 34). Final rates and weight decay keep the
# tables' ratios and values.
SCRATCH_GROUPS: dict[str, tuple[OptimGroup, ...]] = {
    "resnet50": (OptimGroup("all", 1e-3, 5e-6, 1e-5),),
    "ast": (OptimGroup("base", 3e-4, 3e-5, 1e-4), OptimGroup("classifier", 1e-3, 1e-4, 1e-3)),
}

SELECTIONS = {  # name -> (metric column, "max" or "min")
    "macro_f1": ("val_macro_f1", "max"),
    "clip_bce": ("val_clip_bce", "min"),
    "s2_bce": ("val_s2_bce", "min"),
}


def paper_groups(model_name: str, weight_decay: float | dict | None = None,
                 from_scratch: bool = False) -> tuple[OptimGroup, ...]:
    """The optimiser groups of Tables 4.3-4.5 for a model, optionally with other weight decays.

    ``weight_decay`` is one value for every group or a dict group name -> value (AST: base, classifier).
    ``from_scratch=True`` gives :data:`SCRATCH_GROUPS`' learning rates to ResNet-50 and AST (the CNNs
    train from scratch in the paper already).
    """
    groups = PAPER_GROUPS.get(model_name, PAPER_GROUPS["cnn"] if model_name.endswith("_cnn") else None)
    if from_scratch:
        groups = SCRATCH_GROUPS.get(model_name, groups)
    if groups is None:
        raise ConfigError(f"no hyper-parameters for model {model_name!r}")
    if weight_decay is None:
        return groups
    decay = weight_decay if isinstance(weight_decay, dict) else {g.name: weight_decay for g in groups}
    unknown = set(decay) - {g.name for g in groups}
    if unknown:
        raise ConfigError(f"weight decay for unknown group(s) {sorted(unknown)} of {model_name!r}")
    return tuple(dataclasses.replace(g, weight_decay=float(decay.get(g.name, g.weight_decay))) for g in groups)


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a run (written to config.json; a resumed run must match it)."""

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
    eval_batch_size: int = 64
    num_workers: int = 0
    pin_memory: bool = False
    prefetch_factor: int | None = None
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
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


@dataclass
class RunResult:
    """What :func:`fit` returns: the run folder, its per-epoch metrics and its summary (run.json)."""

    run_dir: Path
    metrics: pd.DataFrame
    summary: dict


# ------------------------------------------------------------------------------- seeds and sampling
def seed_everything(seed: int, epoch: int = 0) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA) from ``(seed, epoch)``; returns the derived seed."""
    derived = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)
    return derived


def _seed_worker(worker_id: int) -> None:
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


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


def dist_info() -> tuple[int, int]:
    """(rank, world size) of the initialised torch.distributed process group, else (0, 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


# ------------------------------------------------------------------------------- schedules
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
            optimizer, num_warmup_steps=math.ceil(warmup * total_steps), num_training_steps=total_steps,
            lr_end=g.lr_end, power=power))
    return optimizers, schedulers


def lr_schedule(group: OptimGroup, total_steps: int, warmup: float = 0.05, power: float = 0.7) -> np.ndarray:
    """The learning rate at each optimiser step, from the very scheduler :func:`fit` uses (Figure 4.1)."""
    parameter = nn.Parameter(torch.zeros(1))
    from transformers import get_polynomial_decay_schedule_with_warmup

    optimizer = torch.optim.Adam([parameter], lr=group.lr)
    scheduler = get_polynomial_decay_schedule_with_warmup(
        optimizer, math.ceil(warmup * total_steps), total_steps, lr_end=group.lr_end, power=power)
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


# ------------------------------------------------------------------------------- prediction
@torch.no_grad()
def predict_windows(model: nn.Module, dataset: Dataset, model_input: Callable, device, batch_size: int = 64,
                    num_workers: int = 0) -> dict[str, np.ndarray]:
    """Sigmoid outputs for every window of an evaluation data set (items: waveform, target, clip index).

    Returns ``probs`` (windows, 11), ``targets`` (windows, 11) and ``clip_index`` (windows,), in
    data-set order; no batch is dropped.
    """
    model = getattr(model, "module", model)
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False, num_workers=num_workers)
    probs, targets, clips = [], [], []
    for wave, target, clip in loader:  # harmonylib.windows.WindowDataset items
        wave = wave.to(device, non_blocking=True)
        with _autocast(device, True):
            logits = model(model_input(wave))
        probs.append(torch.sigmoid(logits.float()).cpu())
        targets.append(target)
        clips.append(clip)
    model.train(was_training)
    if not probs:
        raise HarmonyError("evaluation data set is empty")
    return {"probs": torch.cat(probs).numpy(), "targets": torch.cat(targets).numpy(),
            "clip_index": torch.cat(clips).numpy()}


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
    metrics = multilabel_metrics(y_true, predict(s2, threshold))
    as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    return {
        "val_loss": float(bce(as_tensor(window["probs"]), as_tensor(window["targets"]))),
        "val_clip_bce": float(bce(as_tensor(s1), as_tensor(y_true))),
        "val_s2_bce": float(bce(as_tensor(s2), as_tensor(y_true))),
        **{f"val_{k}": metrics[k] for k in ("hamming_score", "exact_match", "macro_f1", "macro_precision",
                                              "macro_recall")},
    }


def save_predictions(path: str | Path, window: dict[str, np.ndarray], clip_ids, groups=None) -> Path:
    """Test-set window probabilities as an npz for chapter 5 (atomic).

    Keys: ``probs`` (windows, 11) float32 sigmoid outputs, ``clip_index`` (windows,) row of the clip
    in ``clip_ids``, ``clip_ids`` (clips,) str, ``labels`` (clips, 11) int8 multi-hot, ``classes``,
    and ``groups`` (clips,) str, the song of each clip, when given (format: ``harmonylib.experiments``).
    Read it back with :func:`load_predictions`.
    """
    from .labels import CLASSES

    clip_ids = np.asarray([str(c) for c in clip_ids])
    n_clips = len(clip_ids)
    index = np.asarray(window["clip_index"], dtype=np.int64)
    if index.min() < 0 or index.max() >= n_clips:
        raise HarmonyError(f"clip_index out of range for {n_clips} clip ids", path)
    labels = np.zeros((n_clips, len(CLASSES)), dtype=np.int8)
    labels[index] = np.asarray(window["targets"]).astype(np.int8)
    if len(np.unique(index)) != n_clips:
        raise HarmonyError("some clips have no window", path)
    extra = {}
    if groups is not None:
        extra["groups"] = np.asarray([str(g) for g in groups])
        if extra["groups"].shape != (n_clips,):
            raise HarmonyError(f"{len(extra['groups'])} groups for {n_clips} clips", path)
    buffer = _io.BytesIO()
    np.savez_compressed(buffer, probs=np.asarray(window["probs"], dtype=np.float32), clip_index=index,
                        clip_ids=clip_ids, labels=labels, classes=np.asarray(CLASSES), **extra)
    io.write_bytes(path, buffer.getvalue())
    return Path(path)


def load_predictions(path: str | Path) -> dict:
    """An npz of :func:`save_predictions` as ``clip_ids``, ``labels`` and ``window_probs`` (list per clip)."""
    with np.load(path, allow_pickle=False) as data:
        content = {k: data[k] for k in data.files}
    ids, (blocks,) = group_windows(content["clip_index"], content["probs"])
    if not np.array_equal(ids, np.arange(len(content["clip_ids"]))):
        raise HarmonyError("some clips have no window", path)
    return {"clip_ids": content["clip_ids"], "labels": content["labels"], "window_probs": blocks,
            "probs": content["probs"], "clip_index": content["clip_index"]}


# ------------------------------------------------------------------------------- checkpoints
def _save_weights(path: Path, model: nn.Module, metadata: dict) -> None:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in getattr(model, "module", model).state_dict().items()}
    io.write_bytes(path, save(state, metadata={k: str(v) for k, v in metadata.items()}))


def load_checkpoint(model: nn.Module, run_dir: str | Path, which: str = "best") -> dict:
    """Load the run's ``best`` or ``last`` weights into ``model``; returns the checkpoint's info."""
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    if which == "best":
        folder, info_file = run_dir / "best", run_dir / "best" / "info.json"
    elif which == "last":
        info_file = run_dir / "last.json"
        folder = run_dir / json.loads(info_file.read_text())["folder"] if info_file.exists() else None
    else:
        raise ConfigError(f"checkpoint must be 'best' or 'last', not {which!r}")
    if folder is None or not (folder / "model.safetensors").exists():
        raise HarmonyError(f"no {which} checkpoint", run_dir)
    getattr(model, "module", model).load_state_dict(load_file(str(folder / "model.safetensors")))
    return json.loads(info_file.read_text())


def _save_state(path: Path, optimizers, schedulers, scaler, info: dict) -> None:
    buffer = _io.BytesIO()
    torch.save({"optimizers": [o.state_dict() for o in optimizers], "schedulers": [s.state_dict() for s in schedulers],
                "scaler": scaler.state_dict(), "info": info}, buffer)
    io.write_bytes(path, buffer.getvalue())


def _autocast(device, enabled: bool):
    device = torch.device(device)
    return torch.autocast(device_type="cuda", dtype=torch.float16, enabled=enabled and device.type == "cuda")


def peak_memory_bytes(device) -> tuple[int, str]:
    """Peak memory: CUDA's max allocated on a GPU, else the process's maximum resident set size."""
    if torch.device(device).type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "torch.cuda.max_memory_allocated"
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale), "process max RSS (CPU)"


def _set_aside(run_dir: Path) -> Path:
    """Rename a stale run folder to ``<name>.superseded-N`` (never deleted: nothing is lost)."""
    number = 1
    while (kept := run_dir.with_name(f"{run_dir.name}.superseded-{number}")).exists():
        number += 1
    run_dir.rename(kept)
    return kept


# ------------------------------------------------------------------------------- the loop
def fit(model: nn.Module, train_set: Dataset, val_set: Dataset, settings: TrainSettings, run_dir: str | Path,
        model_input: Callable[[torch.Tensor], torch.Tensor], train_input: Callable | None = None, device=None,
        stop_after_epoch: int | None = None, log: Callable[[str], None] = print) -> RunResult:
    """Train ``model`` (from :func:`harmonylib.models.build_model`) and write its run folder.

    ``train_set`` items are ``(waveform, multi-hot target, ...)``; ``val_set`` items are
    ``(waveform, multi-hot target, clip index)``. A data set with ``set_epoch(epoch)`` (dynamic
    sampling) is told the epoch before each one. ``model_input(waves)`` turns a waveform batch on
    ``device`` into the model's input; ``train_input(waves, generator)``, if given, does so for
    training batches, augmentations included, drawing random numbers from ``generator`` (a
    ``torch.Generator`` on ``device`` seeded per epoch). A run folder holding a finished run with the same
    settings is returned as it is; an unfinished one is resumed from ``last.json``.
    ``stop_after_epoch`` ends the call after that epoch as an interruption would (used by the tests).
    """
    rank, world = dist_info()
    if settings.batch_size % world:
        raise ConfigError(f"batch size {settings.batch_size} does not divide over {world} processes")
    device = torch.device(device or "cpu")
    run_dir = Path(run_dir)
    config = {"settings": settings.to_json(), "model": getattr(model, "harmony_name", type(model).__name__),
              "model_config": getattr(model, "harmony_config", {}),
              "weights": getattr(model, "harmony_weights", "unknown"), "world_size": world}
    previous = run_dir / "config.json"
    if rank == 0 and previous.exists() and json.loads(previous.read_text())["settings"] != config["settings"]:
        kept = _set_aside(run_dir)
        log(f"{run_dir.name}: the settings changed since this run was made; the old run is kept as {kept.name}")
    if world > 1:
        torch.distributed.barrier()
    summary_file = run_dir / "run.json"
    if summary_file.exists() and json.loads(summary_file.read_text()).get("status") == "finished":
        load_checkpoint(model, run_dir, "best")
        return RunResult(run_dir, pd.read_csv(run_dir / "metrics.csv"), json.loads(summary_file.read_text()))
    if rank == 0:
        io.write_json(previous, config)

    model.to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    module = model
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    local_batch = settings.batch_size // world
    batches, optimizer_steps = steps_per_epoch(settings, len(train_set), world)
    total_steps = settings.epochs * optimizer_steps
    optimizers, schedulers = make_optimizers(module, settings.groups, total_steps, settings.warmup, settings.power)
    scaler = torch.amp.GradScaler("cuda", enabled=settings.amp and device.type == "cuda")
    criterion = nn.BCEWithLogitsLoss()
    sampler = EpochSampler(len(train_set), settings.seed, settings.samples_per_epoch, rank, world)

    start_epoch, best, history = 0, None, []
    pointer = run_dir / "last.json"
    if pointer.exists():
        last = json.loads(pointer.read_text())
        load_checkpoint(module, run_dir, "last")
        state = torch.load(run_dir / last["folder"] / "state.pt", map_location=device, weights_only=True)
        for obj, saved in zip(optimizers + schedulers, state["optimizers"] + state["schedulers"]):
            obj.load_state_dict(saved)
        scaler.load_state_dict(state["scaler"])
        start_epoch, best = last["epoch"] + 1, last["best"]
        done = pd.read_csv(run_dir / "metrics.csv")
        history = done[done["epoch"] <= last["epoch"]].to_dict("records")
        log(f"resuming {run_dir.name} after epoch {last['epoch'] + 1} of {settings.epochs}")

    column, direction = SELECTIONS[settings.select]
    for epoch in range(start_epoch, settings.epochs):
        epoch_seed = seed_everything(settings.seed, epoch)
        sampler.set_epoch(epoch)
        augment_generator = torch.Generator(device=device).manual_seed(epoch_seed)
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(epoch)
        loader = DataLoader(
            train_set, batch_size=local_batch, sampler=sampler, drop_last=False, num_workers=settings.num_workers,
            pin_memory=settings.pin_memory, worker_init_fn=_seed_worker,
            generator=torch.Generator().manual_seed(epoch_seed),
            prefetch_factor=settings.prefetch_factor if settings.num_workers else None,
            persistent_workers=False)
        model.train()
        started, cpu_started = time.perf_counter(), time.process_time()
        loss_sum, seen = torch.zeros((), dtype=torch.float64, device=device), 0
        for i, (wave, target, *_) in enumerate(loader):
            window_start = i - i % settings.accumulation_steps
            in_window = min(settings.accumulation_steps, batches - window_start)
            step_now = i - window_start == in_window - 1
            wave = wave.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True).float()
            with torch.no_grad():
                inputs = model_input(wave) if train_input is None else train_input(wave, augment_generator)
            # DDP: all-reduce gradients only on the micro-batch that completes an optimiser step
            with model.no_sync() if world > 1 and not step_now else contextlib.nullcontext():
                with _autocast(device, settings.amp):
                    loss = criterion(model(inputs).float(), target)
                scaler.scale(loss / in_window).backward()
            loss_sum += loss.detach().double() * len(target)
            seen += len(target)
            if step_now:
                for optimizer in optimizers:
                    scaler.unscale_(optimizer)
                if settings.clip_norm is not None:
                    nn.utils.clip_grad_norm_(module.parameters(), settings.clip_norm)
                for optimizer in optimizers:
                    scaler.step(optimizer)
                scaler.update()
                for optimizer, scheduler in zip(optimizers, schedulers):
                    optimizer.zero_grad(set_to_none=True)
                    scheduler.step()
        if not math.isfinite(loss_sum.item()):
            raise HarmonyError(f"training loss became non-finite in epoch {epoch + 1}", run_dir)
        if world > 1:
            totals = torch.stack([loss_sum, torch.tensor(float(seen), dtype=torch.float64, device=device)])
            torch.distributed.all_reduce(totals)
            loss_sum, seen = totals[0], int(totals[1].item())
        train_seconds = time.perf_counter() - started
        train_cpu_seconds = time.process_time() - cpu_started

        row = {"epoch": epoch, "train_loss": loss_sum.item() / max(seen, 1)}
        if rank == 0:
            started = time.perf_counter()
            window = predict_windows(module, val_set, model_input, device, settings.eval_batch_size,
                                     settings.num_workers)
            row.update(clip_metrics(window, settings.threshold))
            row.update({f"lr_{o.name}": opt.param_groups[0]["lr"] for o, opt in zip(settings.groups, optimizers)})
            row.update(train_seconds=train_seconds, train_cpu_seconds=train_cpu_seconds,
                       val_seconds=time.perf_counter() - started, samples_per_second=seen / train_seconds)
            history.append(row)
            score = row[column] if direction == "min" else -row[column]
            key = [score, row["val_clip_bce"]]
            improved = best is None or key < best["key"]
            if improved:
                best = {"key": key, "epoch": epoch, column: row[column]}
                _save_weights(run_dir / "best" / "model.safetensors", module, {"epoch": epoch})
                io.write_json(run_dir / "best" / "info.json", {"epoch": epoch, "select": settings.select, **row})
            folder = f"last/epoch_{epoch:03d}"
            _save_weights(run_dir / folder / "model.safetensors", module, {"epoch": epoch})
            _save_state(run_dir / folder / "state.pt", optimizers, schedulers, scaler, {"epoch": epoch})
            io.write_csv(run_dir / "metrics.csv", pd.DataFrame(history), float_format="%.8g")
            io.write_json(pointer, {"epoch": epoch, "folder": folder, "best": best})
            for old in (run_dir / "last").iterdir():
                if old.name != Path(folder).name:
                    shutil.rmtree(old, ignore_errors=True)
            log(f"epoch {epoch + 1}/{settings.epochs}: train loss {row['train_loss']:.4f}, val loss "
                f"{row['val_loss']:.4f}, val macro F1 {row['val_macro_f1']:.3f}"
                f"{' (best)' if improved else ''}, {train_seconds:.1f} s")
        if world > 1:
            torch.distributed.barrier()
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            return RunResult(run_dir, pd.DataFrame(history), {"status": "interrupted", "epoch": epoch})

    metrics = pd.DataFrame(history)
    summary = {}
    if rank == 0:
        peak, how = peak_memory_bytes(device)
        summary = {
            "status": "finished", "model": config["model"], "weights": config["weights"],
            "parameters": sum(p.numel() for p in module.parameters()), "device": str(device), "world_size": world,
            "best_epoch": int(best["epoch"]), "select": settings.select, f"best_{column}": best[column],
            "seconds_per_epoch": float(metrics["train_seconds"].mean()),
            # CPU time of this process (all its threads): comparable across runs on a shared machine
            "cpu_seconds_per_epoch": float(metrics["train_cpu_seconds"].mean()),
            "val_seconds_per_epoch": float(metrics["val_seconds"].mean()),
            "samples_per_second": float(metrics["samples_per_second"].mean()),
            "peak_memory_bytes": peak, "peak_memory_measure": how,
        }
        io.write_json(summary_file, summary)
    if world > 1:
        torch.distributed.barrier()
    load_checkpoint(module, run_dir, "best")
    return RunResult(run_dir, metrics, summary)



# ------------------------------------------------------------------------------- what notebooks 30-35 share
MODEL_INPUTS = {"raw_cnn": "raw", "mfcc_cnn": "mfcc", "features_cnn": "features", "resnet50": "mel", "ast": "ast"}


def model_config(name: str, profile, window: float = 1.0) -> dict:
    """``build_model`` keyword arguments of ``name`` at ``profile`` (its scale-downs) for ``window``-s inputs."""
    train = profile.train
    if name == "resnet50":
        return {"in_chans": train.resnet_in_chans}
    if name == "ast":  # 100 fbank frames per second (10 ms hop), report 4.5
        return {"max_length": int(round(100 * window)), "num_hidden_layers": train.ast_layers,
                "hidden_size": train.ast_hidden}
    return {}


def settings_for(name: str, profile, weight_decay: float | dict | None = None, epochs: int | None = None,
                 seed: int | None = None, select: str = "macro_f1", extra: dict | None = None,
                 from_scratch: bool = False) -> TrainSettings:
    """The run settings of ``name`` at ``profile``: Tables 4.3-4.5 with the profile's scale-downs.

    ``from_scratch``: the model starts from random initialisation although the paper fine-tuned it
    (ResNet-50, AST without their checkpoints): :data:`SCRATCH_GROUPS`' learning rates.
    AST clips gradients at norm 1.0 as the original code did (REFERENCE.md §2); the report names no
    clipping for the CNNs and ResNet-50, so they are not clipped.
    """
    profile_epochs, train_windows = profile.train.scale(name)
    return TrainSettings(
        model=name, epochs=epochs or profile_epochs, batch_size=profile.train.batch_size,
        groups=paper_groups(name, weight_decay, from_scratch), seed=profile.seed if seed is None else int(seed),
        clip_norm=1.0 if name == "ast" else None, samples_per_epoch=train_windows,
        select=select, threshold=profile.evaluate.threshold, num_workers=profile.loader.num_workers,
        pin_memory=profile.loader.pin_memory, prefetch_factor=profile.loader.prefetch_factor, extra=extra or {})


def hyperparameter_table(names: list[str], profile, from_scratch: bool = False) -> pd.DataFrame:
    """Tables 4.3-4.5: the report's value of each hyper-parameter beside the one ``profile`` trains with.

    ``from_scratch``: the profile's column shows :data:`SCRATCH_GROUPS`' rates (random initialisation).
    """
    def describe(settings: TrainSettings, group: OptimGroup, what: str):
        return {"Initial learning rate": group.lr, "Final learning rate": group.lr_end,
                "Learning rate scheduler": f"Polynomial decay, power={settings.power}, warmup={settings.warmup}",
                "Number of epochs": settings.epochs, "Batch size": settings.batch_size,
                "L2-regularization factor": group.weight_decay}[what]

    report = settings_for(names[0], _paper_profile(profile))
    column = profile.name + (", from scratch" if from_scratch and set(names) & set(SCRATCH_GROUPS) else "")
    rows = []
    for group_index, group in enumerate(report.groups):
        suffix = "" if group.name == "all" else f" ({group.name})"
        for what in ("Initial learning rate", "Final learning rate", "Learning rate scheduler", "Number of epochs",
                     "Batch size", "L2-regularization factor"):
            if group_index and what in ("Learning rate scheduler", "Number of epochs", "Batch size"):
                continue
            row = {"Hyperparameter": what + (suffix if what.startswith(("Initial", "Final", "L2")) else ""),
                   "report": describe(report, group, what)}
            for name in names:
                ours = settings_for(name, profile, from_scratch=from_scratch)
                row[f"{name} ({column})"] = describe(ours, ours.groups[group_index], what)
            rows.append(row)
    extra = {"Training windows per epoch": lambda s: s.samples_per_epoch or "all",
             "Gradient clipping (norm)": lambda s: s.clip_norm or "none",
             "Checkpoint selection": lambda s: s.select}
    for what, get in extra.items():
        rows.append({"Hyperparameter": what, "report": {"Training windows per epoch": "all",
                                                        "Gradient clipping (norm)": "not stated",
                                                        "Checkpoint selection": "s2_bce"}[what],
                     **{f"{n} ({column})": get(settings_for(n, profile, from_scratch=from_scratch))
                        for n in names}})
    return pd.DataFrame(rows).astype(str)


def _paper_profile(profile):
    import dataclasses as dc

    from .config import TrainConfig

    return dc.replace(profile, train=TrainConfig(batch_size=16, epochs=35))


def dataset_splits(data, dataset: str) -> dict:
    """train/val/test frames, display name and waveform statistics of ``'irmas'`` or ``'audioset'``."""
    if dataset == "irmas":
        return {"name": data.irmas_name, "train": data.train, "val": data.val, "test": data.test,
                "mean": data.mean, "std": data.std}
    if dataset == "audioset":
        if data.audioset_mean is None or not len(data.audioset_train):
            raise ConfigError(f"no {data.audioset_name} training clips under {data.root}")
        return {"name": data.audioset_name, "train": data.audioset_train, "val": data.audioset_val,
                "test": data.audioset_test, "mean": data.audioset_mean, "std": data.audioset_std}
    raise ConfigError(f"dataset must be 'irmas' or 'audioset', not {dataset!r}")


def clip_ids_and_groups(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Clip identifiers and songs for a predictions file: IRMAS path and song; AudioSet ytid for both."""
    if "ytid" in frame and frame["ytid"].notna().all():
        return list(frame["ytid"].astype(str)), list(frame["ytid"].astype(str))
    return list(frame["path"].astype(str)), list(frame["song"].astype(str))


def training_set(frame: pd.DataFrame, sample_rate: int, window: float, sampling: str = "static",
                 max_sampled: int | None = None, seed: int = 0) -> Dataset:
    """Training examples of ``window`` seconds: every window (``static``) or dynamic sampling (report 3.5)."""
    from .data import waveforms
    from .labels import multi_hot_matrix
    from .sampling import BasePersistentDynamicSampling, TrueDynamicSampling
    from .windows import WindowDataset, Windows

    windows = Windows(waveforms(frame, sample_rate), sample_rate, window, last="drop")
    targets = multi_hot_matrix(frame["labels"])
    if sampling == "static":
        return WindowDataset(windows, targets)
    if not max_sampled:
        raise ConfigError(f"sampling {sampling!r} needs max_sampled (e.g. 5 for TDS-5)")
    kind = {"tds": TrueDynamicSampling, "bspds": BasePersistentDynamicSampling}.get(sampling)
    if kind is None:
        raise ConfigError(f"sampling must be 'static', 'tds' or 'bspds', not {sampling!r}")
    return kind(windows, windows.targets(targets), 1, int(max_sampled), seed)


def evaluation_set(frame: pd.DataFrame, sample_rate: int, window: float, max_windows: int | None = None) -> Dataset:
    """Every window of each clip (the last one zero-padded), or at most ``max_windows`` evenly spaced ones."""
    from .data import waveforms
    from .labels import multi_hot_matrix
    from .windows import WindowDataset, Windows

    dataset = WindowDataset(Windows(waveforms(frame, sample_rate), sample_rate, window, last="pad"),
                            multi_hot_matrix(frame["labels"]))
    if max_windows is None:
        return dataset
    clip = dataset.windows.clip
    keep = []
    for c in np.unique(clip):
        rows = np.flatnonzero(clip == c)
        keep.extend(rows[np.unique(np.linspace(0, len(rows) - 1, min(max_windows, len(rows))).round().astype(int))])
    return torch.utils.data.Subset(dataset, keep)


def plot_history(metrics: pd.DataFrame, axes) -> None:
    """Loss curves (left) and validation metrics (right) per epoch of a run's metrics.csv."""
    epochs = metrics["epoch"] + 1
    for column, label in (("train_loss", "training BCE (windows)"), ("val_loss", "validation BCE (windows)"),
                          ("val_clip_bce", "validation BCE (clips, mean prob.)")):
        axes[0].plot(epochs, metrics[column], marker="o", label=label)
    axes[0].set(xlabel="epoch", ylabel="binary cross-entropy", title="Loss")
    for column, label in (("val_macro_f1", "macro F1"), ("val_hamming_score", "Hamming score"),
                          ("val_exact_match", "exact match")):
        axes[1].plot(epochs, metrics[column], marker="o", label=label)
    axes[1].set(xlabel="epoch", ylabel="score (validation, S2 at 0.5)", title="Validation metrics", ylim=(0, 1))
    for ax in axes:
        ax.legend(fontsize=8)


def show_run(result: RunResult, title: str) -> None:
    """Notebooks 30-34: a run's loss and validation curves (:func:`plot_history`) and its speed and memory."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plot_history(result.metrics, axes)
    fig.suptitle(title, fontsize=8)
    plt.show()
    s = result.summary
    print(f"best epoch {s['best_epoch'] + 1} by {s['select']}; {s['seconds_per_epoch']:.1f} s per epoch, "
          f"{s['samples_per_second']:.0f} samples/s, peak memory {s['peak_memory_bytes'] / 2**20:.0f} MiB "
          f"({s['peak_memory_measure']})")


def predict_for_evaluation(model: nn.Module, model_input: Callable, data, dataset: str, eval_datasets: list[str],
                           run_dir: Path, profile, window: float, device, batch_size: int = 64) -> pd.DataFrame:
    """Notebooks 30-34: save the window probabilities chapter 5 evaluates and score the test clips.

    Writes ``predictions_<dataset>_<split>.npz`` to ``run_dir`` for the training data set's validation
    and test splits and the test split of every other data set in ``eval_datasets``. Returns each test
    set's Hamming score, exact match and macro F1 (S2 at the profile's threshold) beside those of the
    all-positive baseline, which predicts every instrument for every clip.
    """
    sample_rate, rows = profile.features.sample_rate, []
    for name in dict.fromkeys([dataset, *eval_datasets]):
        part = dataset_splits(data, name)
        for split in (["val", "test"] if name == dataset else ["test"]):
            frame = part[split]
            windows = predict_windows(model, evaluation_set(frame, sample_rate, window, profile.train.max_eval_windows),
                                      model_input, device, batch_size)
            ids, groups = clip_ids_and_groups(frame)
            save_predictions(Path(run_dir) / f"predictions_{name}_{split}.npz", windows, ids, groups)
            if split != "test":
                continue
            clips = np.unique(windows["clip_index"])
            probs = [windows["probs"][windows["clip_index"] == c] for c in clips]
            y_true = np.stack([windows["targets"][windows["clip_index"] == c][0] for c in clips]).astype(int)
            ours = multilabel_metrics(y_true, predict(aggregate(probs, "S2"), profile.evaluate.threshold))
            everything = multilabel_metrics(y_true, np.ones_like(y_true))
            for system, m in ((model.harmony_name, ours), ("all-positive baseline", everything)):
                rows.append({"test set": part["name"], "system": system, "clips": len(clips),
                             **{k: round(m[k], 4) for k in ("hamming_score", "exact_match", "macro_f1")}})
    return pd.DataFrame(rows)
