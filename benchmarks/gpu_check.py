"""GPU check (report 5.7): what each model's training costs on this device, and the chapter-5 grid's hours.

Run from the repository root (``benchmarks/gpu_check.sh`` runs it with the fast dev run around it)::

    python benchmarks/gpu_check.py [--device cuda] [--profile paper-synth] [--steps 150] [--compile]
    OMP_WAIT_POLICY=PASSIVE python benchmarks/gpu_check.py --device cpu --tiny --output /tmp/dry-run.md  # dry run

For each of the five models at the profile's settings (batch, input sizes, model sizes, mixed precision,
``TrainConfig.compile`` or ``--compile``), on 1-s windows:

* **end to end**: training samples/s through the study's engine, :func:`harmonylib.train.fit`, with the
  notebooks' augmentations, on a training set from :func:`harmonylib.recipes.training_set` and a tiny
  validation set from :func:`harmonylib.recipes.evaluation_set`, in a temporary run folder: two epochs of
  ``--steps`` optimiser steps; the second epoch's ``samples_per_second`` in ``metrics.csv`` counts (the
  first pays for start-up: cuDNN, the waveform store's copy to the device, compilation);
* **model only**: the same model, loss, optimiser step and autocast fed one ready batch of model inputs
  already on the device, ``--steps`` steps after a few untimed ones (run after ``fit``, so under the
  same cuDNN/cuBLAS settings);
* **pipeline efficiency**: end to end / model only (1: the input costs nothing);
* **FLOPs per step** (:func:`harmonylib.cost.training_step_flops`) and the **model FLOP utilisation**: FLOPs
  per step / seconds per step / peak: on CUDA the device's published dense peak in the autocast dtype
  (:func:`harmonylib.cost.peak_flops`), else the measured matrix-product rate
  (:func:`harmonylib.cost.matmul_rate`, float32 on the CPU); the report says which;
* **GPU utilisation**: ``nvidia-smi`` polled every 200 ms in a background process while ``fit`` runs,
  averaged over the second epoch's training (n/a without a GPU);
* **inference**: windows/s of :func:`harmonylib.train.predict_windows` over evaluation clips, end to end
  and model only.

The clips are stand-ins written by this script (tones and noise of IRMAS's lengths: 132,299-sample training
clips with one label, evaluation clips of the profile's test-excerpt length): what a step costs does not
depend on what the audio contains, and they need no SoundFont. The projection uses the profile's data sizes.

**Projection** of the whole chapter-5 grid (:func:`harmonylib.grid.experiments_for`) at the profile: per
experiment, optimiser steps (epochs x training examples per epoch / batch: every training window of the
profile's data, or the dynamic-sampling epoch of :func:`harmonylib.sampling.dynamic_epoch_size`) times the
measured seconds per step, plus every validation window each epoch and every test window once at the
measured inference rate; summed in GPU-hours (:func:`scaled_seconds` says how a window size other than the
measured 1 s is scaled).

Writes a markdown report (default ``benchmarks/results/gpu-<device>.md``) and the same numbers as JSON
beside it, stating the date, device, torch version, profile, every measured number and the goals:
GPU utilisation >= 90 % and pipeline efficiency >= 0.95 for every model, the grid in under one GPU-hour.
``--tiny`` (the CPU dry run tests/test_benchmarks.py runs) measures the models at the smoke profile's sizes,
batch 2, one step per epoch, on 2-s clips: it proves the script runs; its numbers mean nothing. Run it with
``OMP_WAIT_POLICY=PASSIVE`` (benchmarks/README.md says why).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harmonylib import cost, grid, io, recipes, runs, train  # noqa: E402
from harmonylib.augment import AudioAugment, SpecAugment  # noqa: E402
from harmonylib.config import PROFILE_NAMES, Profile, get_profile  # noqa: E402
from harmonylib.data.splits import song_split  # noqa: E402
from harmonylib.data.synth import plan_irmas  # noqa: E402
from harmonylib.inputs import make_input  # noqa: E402
from harmonylib.labels import CLASSES  # noqa: E402
from harmonylib.models import build_model, count_parameters  # noqa: E402
from harmonylib.reference import AUDIOSET_CLIPS, IRMAS_TEST_PARTS, IRMAS_TRAIN_COUNTS, IRMAS_TRAIN_SAMPLES  # noqa: E402
from harmonylib.sampling import dynamic_epoch_size  # noqa: E402
from harmonylib.windows import SHORT_BY_TOLERANCE_S, central_window_count, window_count  # noqa: E402

MODELS = ("raw_cnn", "mfcc_cnn", "features_cnn", "resnet50", "ast")
MEASURED_WINDOW = 1.0  # seconds: every model is measured on 1-s windows, the chapter's main setting
AUDIOSET_SECONDS = 10.0
IRMAS_TEST_SECONDS = 20.0  # the real IRMAS test excerpts: most are 20 s (used for a real-data profile's projection)
# Models whose input has a fixed size whatever the window (the mel image, the MFCC image); the others' inputs
# (raw audio, feature frames, AST frames) grow in proportion to the window.
FIXED_SIZE_INPUTS = frozenset({"resnet50", "mfcc_cnn"})
GOALS = {"gpu_utilisation_percent": 90.0, "pipeline_efficiency": 0.95, "grid_gpu_hours": 1.0}
UTILISATION_INTERVAL_MS = 200
TINY_BATCH = 2  # the dry run's batch: a ResNet-50 step on the CPU costs seconds
REPORT_ROOT = Path(__file__).resolve().parent / "results"


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much the check measures."""

    steps: int  # optimiser steps per timed epoch (and timed model-only steps)
    warmup_steps: int  # untimed model-only steps first
    val_clips: int  # validation clips of fit, two windows each
    eval_clips: int  # clips whose every window the inference rate is measured on
    eval_seconds: float | None  # length of the validation and evaluation clips; None: the profile's test excerpts'
    matmul_size: int  # side of the square matrices of the measured matrix-product rate


# ------------------------------------------------------------------------------- stand-in clips
def write_stand_in_clips(folder: Path, count: int, samples: int, labels_per_clip: int, sample_rate: int,
                         seed: int) -> pd.DataFrame:
    """``count`` mono 16-bit wav files of ``samples`` samples (a tone and noise) in ``folder``, labelled with
    ``labels_per_clip`` classes in turn; a frame with the ``path`` and ``labels`` columns the recipes read."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / sample_rate
    rows = []
    for i in range(count):
        wave = 0.2 * np.sin(2 * np.pi * rng.uniform(80, 2000) * t) + 0.05 * rng.standard_normal(samples)
        path = folder / f"clip{i:05d}.wav"
        sf.write(path, wave.astype(np.float32), sample_rate, subtype="PCM_16")
        labels = [CLASSES[(i + k) % len(CLASSES)] for k in range(labels_per_clip)]
        rows.append({"path": str(path), "labels": labels})
    return pd.DataFrame(rows)


def waveform_mean_std(train_set) -> tuple[float, float]:
    """Mean and standard deviation of the training windows (the augmentations' noise and the inputs' scaling)."""
    waves = train.batch_of(train_set, range(min(len(train_set), 256)), "cpu")[0]
    return float(waves.mean()), float(waves.std())


# ------------------------------------------------------------------------------- the models' recipes
def training_input(name: str, model_input: nn.Module, mean: float, std: float):
    """The training input of ``name`` as its notebook (30-34) builds it: the audio augmentations for every
    model, then the spectrogram masks for ResNet-50 (on the mel spectrogram) and AST (on the filter bank)."""
    audio_augment, spec_augment = AudioAugment(mean, std), SpecAugment()
    if name == "resnet50":
        return lambda wave, generator: model_input(audio_augment(wave, generator), spec_augment, generator)
    if name == "ast":
        def ast_input(wave, generator):
            fbank = model_input(audio_augment(wave, generator))
            return spec_augment(fbank.transpose(1, 2), generator).transpose(1, 2)
        return ast_input
    return lambda wave, generator: model_input(audio_augment(wave, generator))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_only_seconds_per_step(model: nn.Module, settings: train.TrainSettings, inputs: torch.Tensor,
                                targets: torch.Tensor, device: torch.device, steps: int, warmup: int) -> float:
    """Seconds per optimiser step of ``model`` fed the ready batch ``inputs``: the engine's loss, autocast,
    loss scaling, clipping, Adam and scheduler steps, with no input computation; ``warmup`` untimed steps first."""
    module = train.prepare_model(model, device, settings.compile)
    optimizers, schedulers = train.make_optimizers(model, settings.groups, warmup + steps, settings.warmup,
                                                   settings.power)
    float16 = device.type == "cuda" and not train.native_bfloat16()
    scaler = torch.amp.GradScaler("cuda", enabled=settings.amp and float16)
    criterion = nn.BCEWithLogitsLoss()
    inputs = train.in_model_layout(inputs)
    module.train()

    def step():
        with train.autocast(device, settings.amp):
            loss = criterion(module(inputs).float(), targets)
        scaler.scale(loss).backward()
        for optimizer in optimizers:
            scaler.unscale_(optimizer)
        if settings.clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
        for optimizer in optimizers:
            scaler.step(optimizer)
        scaler.update()
        for optimizer, scheduler in zip(optimizers, schedulers):
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()

    for _ in range(warmup):
        step()
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return (time.perf_counter() - started) / steps


@torch.no_grad()
def model_only_inference_seconds(model: nn.Module, inputs: torch.Tensor, device: torch.device, repeats: int) -> float:
    """Seconds per batch of ``model`` in evaluation mode on the ready batch ``inputs`` (autocast, no gradients)."""
    model.eval()
    inputs = train.in_model_layout(inputs)
    with train.autocast(device):
        model(inputs)
        _synchronize(device)
        started = time.perf_counter()
        for _ in range(repeats):
            model(inputs)
        _synchronize(device)
    return (time.perf_counter() - started) / repeats


def predict_seconds(model: nn.Module, dataset, model_input, device: torch.device, batch_size: int) -> float:
    """Seconds of :func:`harmonylib.train.predict_windows` over ``dataset``, after one untimed pass."""
    train.predict_windows(model, dataset, model_input, device, batch_size)
    started = time.perf_counter()
    train.predict_windows(model, dataset, model_input, device, batch_size)
    return time.perf_counter() - started


# ------------------------------------------------------------------------------- GPU utilisation
class UtilisationSampler:
    """``nvidia-smi`` polling the GPU utilisation every ``interval_ms`` in a background process while the
    ``with`` block runs; :meth:`mean_between` averages the samples of the GPU ``uuid`` (``GPU-`` prefix or not;
    the only GPU ``nvidia-smi`` lists if none has that UUID) over a time span."""

    def __init__(self, uuid: str, interval_ms: int = UTILISATION_INTERVAL_MS):
        self.uuid = self._plain(uuid)
        self.command = ["nvidia-smi", "--query-gpu=uuid,utilization.gpu", "--format=csv,noheader,nounits",
                        "-lms", str(interval_ms)]
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.error = ""

    @staticmethod
    def _plain(uuid: str) -> str:
        return uuid.strip().lower().removeprefix("gpu-")

    def _read(self) -> None:
        for line in self.process.stdout:
            uuid, _, value = line.partition(",")
            if value.strip().isdigit():  # "[N/A]" where the GPU does not report it (MIG)
                self.samples.setdefault(self._plain(uuid), []).append((time.perf_counter(), float(value)))

    def __enter__(self) -> UtilisationSampler:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.reader.join(timeout=10)  # the reader ends at the end of nvidia-smi's output
        self.error = self.process.stderr.read().strip()
        self.process.wait(timeout=10)

    def mean_between(self, start: float, end: float) -> float | None:
        ours = self.samples.get(self.uuid) or (next(iter(self.samples.values())) if len(self.samples) == 1 else [])
        values = [value for at, value in ours if start <= at <= end]
        return float(np.mean(values)) if values else None


def utilisation_unavailable(device: torch.device) -> str | None:
    """Why GPU utilisation cannot be sampled on ``device``, or None when it can."""
    if device.type != "cuda":
        return "no GPU"
    if shutil.which("nvidia-smi") is None:
        return "nvidia-smi not found"
    return None


# ------------------------------------------------------------------------------- one model
def measure_model(name: str, profile: Profile, frames: dict[str, pd.DataFrame], device: torch.device, scale: Scale,
                  work: Path) -> dict:
    """Every number of the report's row for model ``name`` (see the module's docstring)."""
    sr = profile.features.sample_rate
    train_set = recipes.training_set(frames["train"], sr, MEASURED_WINDOW)
    val_set = recipes.evaluation_set(frames["val"], sr, MEASURED_WINDOW, max_seconds=2 * MEASURED_WINDOW)
    eval_set = recipes.evaluation_set(frames["eval"], sr, MEASURED_WINDOW)
    mean, std = waveform_mean_std(train_set)
    config = recipes.model_config(name, profile, MEASURED_WINDOW)
    torch.manual_seed(profile.seed)
    model = build_model(name, **config)
    model_input = make_input(recipes.MODEL_INPUTS[name], profile, mean, std, max_length=config.get("max_length", 100))
    batch = profile.train.batch_size
    if name == "features_cnn":  # row statistics from training windows, as notebook 32
        fit_rows = range(min(len(train_set), profile.train.features_fit_windows))
        model_input.fit(train.batch_of(train_set, fit_rows[i:i + 64], device)[0] for i in range(0, len(fit_rows), 64))
    train_input = training_input(name, model_input, mean, std)
    settings = dataclasses.replace(
        recipes.settings_for(name, profile, from_scratch=not model.harmony_pretrained),
        epochs=2, samples_per_epoch=scale.steps * batch)

    logged: list[tuple[float, str]] = []
    unavailable = utilisation_unavailable(device)
    sampler = (contextlib.nullcontext() if unavailable
               else UtilisationSampler(str(torch.cuda.get_device_properties(device).uuid)))
    with sampler:
        train.fit(model, train_set, val_set, settings, work / "runs" / name, model_input, train_input, device=device,
                  log=lambda line: logged.append((time.perf_counter(), line)))
    metrics = runs.read_metrics(work / "runs" / name)
    timed = metrics.iloc[-1]
    utilisation, utilisation_note = None, unavailable or ""
    if not unavailable:  # the timed epoch starts when fit has logged the first one
        first_epoch_done = next((at for at, line in logged if line.startswith("epoch 1/")), None)
        if first_epoch_done is not None:
            utilisation = sampler.mean_between(first_epoch_done, first_epoch_done + float(timed["train_seconds"]))
        if utilisation is None:
            utilisation_note = f"no nvidia-smi sample in the timed epoch {sampler.error}".strip()

    generator = torch.Generator(device=device).manual_seed(profile.seed)
    wave, target = train.batch_of(train_set, range(batch), device)[:2]
    with torch.no_grad():
        inputs = train_input(wave, generator)
    flops = cost.training_step_flops(model, train.in_model_layout(inputs))
    model_step = model_only_seconds_per_step(model, settings, inputs, target.float(), device, scale.steps,
                                             scale.warmup_steps)
    eval_wave = train.batch_of(eval_set, range(min(len(eval_set), settings.eval_batch_size)), device)[0]
    with torch.no_grad():
        eval_inputs = model_input(eval_wave)
    inference_model_batch = model_only_inference_seconds(model, eval_inputs, device, max(scale.steps // 4, 1))
    inference_seconds = predict_seconds(model, eval_set, model_input, device, settings.eval_batch_size)
    end_to_end = float(timed["samples_per_second"])
    return {
        "model": name, "input": recipes.MODEL_INPUTS[name], "input_shape": "x".join(map(str, inputs.shape[1:])),
        "parameters": count_parameters(model), "batch_size": batch, "steps": scale.steps,
        "end_to_end_samples_per_second": end_to_end, "model_only_samples_per_second": batch / model_step,
        "pipeline_efficiency": end_to_end * model_step / batch, "flops_per_step": flops,
        "end_to_end_seconds_per_step": batch / end_to_end, "model_only_seconds_per_step": model_step,
        "gpu_utilisation_percent": utilisation, "gpu_utilisation_note": utilisation_note,
        "eval_windows": len(eval_set), "inference_windows_per_second": len(eval_set) / inference_seconds,
        "model_only_inference_windows_per_second": len(eval_inputs) / inference_model_batch,
    }


# ------------------------------------------------------------------------------- FLOP/s ceiling
def flop_ceiling(device: torch.device, matmul_size: int) -> dict:
    """The FLOP/s the model FLOP utilisation is measured against: on CUDA the published dense peak in the
    dtype autocast trains in, else (a CPU, an unknown card) the measured matrix-product rate in that dtype."""
    if device.type == "cuda":
        dtype = torch.bfloat16 if train.native_bfloat16() else torch.float16
    else:
        dtype = torch.float32
    peak, source = cost.peak_flops(device, dtype)
    rate = cost.matmul_rate(device, dtype, matmul_size)
    dtype_name = str(dtype).removeprefix("torch.")
    if peak is None:
        return {"flops": rate, "basis": f"measured {dtype_name} matrix-product rate ({source})", "dtype": dtype_name,
                "matmul_flops": rate, "matmul_size": matmul_size}
    return {"flops": peak, "basis": f"published dense {dtype_name} peak ({source})", "dtype": dtype_name,
            "matmul_flops": rate, "matmul_size": matmul_size}


# ------------------------------------------------------------------------------- the grid's hours
def clip_lengths(profile: Profile) -> dict[str, dict[str, np.ndarray]]:
    """Samples of every clip of each split of the profile's data sets, ``{"irmas" | "audioset": {"train" |
    "val" | "test": lengths}}``, without the data: a synthetic profile's from the renderer's plan
    (:func:`harmonylib.data.synth.plan_irmas`; the test excerpts split by song as
    :func:`harmonylib.data.splits.song_split` splits them), a real-data profile's from the reference counts
    (IRMAS's test excerpts taken as 20 s, most of them are); AudioSet's 10-s clips split by
    ``DataConfig.audioset_fractions``."""
    sr, cfg = profile.features.sample_rate, profile.data
    if cfg.source == "synth":
        jobs = plan_irmas(profile.seed, cfg.synth_train_clips, cfg.synth_test_songs,
                          tuple(cfg.synth_excerpts_per_song), cfg.synth_test_seconds, cfg.synth_min_songs_per_class)
        train_clips = sum(len(job["names"]) for job in jobs if job["kind"] == "train")
        testing = pd.DataFrame([{"song": clip["name"].rsplit("-", 1)[0], "labels": clip["labels"],
                                 "samples": round(clip["seconds"] * sr)}
                                for job in jobs if job["kind"] == "test" for clip in job["clips"]])
        side = song_split(testing, cfg.val_fraction, profile.seed)
        val, test = (testing.loc[side == split, "samples"].to_numpy() for split in ("val", "test"))
        audioset_clips = cfg.synth_audioset_clips
    else:
        train_clips = sum(IRMAS_TRAIN_COUNTS.values())
        excerpts = sum(part[2] for part in IRMAS_TEST_PARTS)
        val_count = round(cfg.val_fraction * excerpts)
        val, test = (np.full(n, round(IRMAS_TEST_SECONDS * sr)) for n in (val_count, excerpts - val_count))
        audioset_clips = AUDIOSET_CLIPS
    cuts = np.round(np.cumsum(cfg.audioset_fractions)[:2] / sum(cfg.audioset_fractions) * audioset_clips)
    audioset = np.diff([0, *cuts.astype(int), audioset_clips])
    sizes = {"irmas": {"train": np.full(train_clips, IRMAS_TRAIN_SAMPLES), "val": val, "test": test},
             "audioset": {split: np.full(n, round(AUDIOSET_SECONDS * sr)) for split, n in zip(("train", "val", "test"),
                                                                                           audioset)}}
    sizes["irmas_dr"] = sizes["irmas"]  # SynthIRMAS-DR: SynthIRMAS's clips rendered otherwise, the same lengths
    if cfg.max_eval_clips is not None:
        for splits in sizes.values():  # irmas_dr is irmas: cutting it twice to the same length changes nothing
            splits["val"], splits["test"] = splits["val"][:cfg.max_eval_clips], splits["test"][:cfg.max_eval_clips]
    return sizes


def window_total(lengths: np.ndarray, window: float, sample_rate: int, training: bool,
                 max_seconds: float | None = None) -> int:
    """Windows of ``window`` s the clips of ``lengths`` samples give: training windows as
    :func:`harmonylib.recipes.training_set` cuts them (a last window short by at most 10 ms kept), evaluation
    windows as :func:`harmonylib.recipes.evaluation_set` (the last one padded; those of the central ``max_seconds``
    of each clip)."""
    size = int(round(window * sample_rate))
    tolerance = int(round(SHORT_BY_TOLERANCE_S * sample_rate))
    total = 0
    for n, clips in zip(*np.unique(lengths, return_counts=True)):
        if training:
            count = window_count(int(n), size, "drop", tolerance)
        elif max_seconds is None:
            count = window_count(int(n), size, "pad")
        else:
            count = central_window_count(int(n), size, int(round(max_seconds * sample_rate)))
        total += int(clips) * count
    return total


def training_examples(windows: int, sampling: str, max_sampled: int | None) -> int:
    """Training examples per epoch: one per window (static, BSPDS) or Eq. 3.1's epoch (TDS)."""
    return dynamic_epoch_size(windows, 1, int(max_sampled)) if sampling == "tds" else windows


def scaled_seconds(model: str, end_to_end: float, model_only: float, window: float) -> float:
    """Seconds of a step (or of one window's inference) on ``window``-s windows from its 1-s measurement: the
    model's share (``model_only``) the same for a fixed-size input (:data:`FIXED_SIZE_INPUTS`) and in proportion
    to the window otherwise, the input pipeline's share (``end_to_end - model_only``) in proportion to the window
    (the audio it augments and transforms grows with it)."""
    growth = window / MEASURED_WINDOW
    pipeline = max(end_to_end - model_only, 0.0)
    return model_only * (1.0 if model in FIXED_SIZE_INPUTS else growth) + pipeline * growth


def project_grid(profile: Profile, measured: dict[str, dict]) -> pd.DataFrame:
    """Hours of every experiment of the chapter-5 grid at ``profile`` on the measured device, one row each:
    optimiser steps x seconds per step (:func:`scaled_seconds` of the measured end-to-end and model-only step,
    at the profile's batch), plus the validation windows of every epoch and the test windows of every test set
    once at the measured inference rate. Experiments of models not measured are left out."""
    sr, batch = profile.features.sample_rate, profile.train.batch_size
    sizes = clip_lengths(profile)
    rows = []
    for experiment in grid.experiments_for(profile):
        name, p = experiment.model, experiment.parameters
        if name not in measured:
            continue
        m, window, dataset = measured[name], float(p["window"]), p["dataset"]
        epochs, cap = profile.train.scale(name)[0], profile.train.windows_per_epoch(name, window)
        windows = window_total(sizes[dataset]["train"], window, sr, training=True)
        examples = training_examples(windows, p["sampling"], p["max_sampled"])
        examples = examples if cap is None else min(examples, cap)
        steps = epochs * math.ceil(examples / batch)
        step = scaled_seconds(name, m["end_to_end_seconds_per_step"], m["model_only_seconds_per_step"],
                              window) * batch / m["batch_size"]
        max_seconds = profile.train.max_eval_seconds
        val = window_total(sizes[dataset]["val"], window, sr, training=False, max_seconds=max_seconds)
        test = sum(window_total(sizes[d]["test"], window, sr, training=False, max_seconds=max_seconds)
                   for d in dict.fromkeys([dataset, *p["eval_datasets"]]))
        per_window = scaled_seconds(name, 1 / m["inference_windows_per_second"],
                                    1 / m["model_only_inference_windows_per_second"], window)
        train_hours = steps * step / 3600
        eval_hours = (epochs * val + test) * per_window / 3600
        rows.append({"experiment": experiment.name, "model": name, "window_s": window, "sampling": p["sampling"]
                     + (f"-{p['max_sampled']}" if p["max_sampled"] else ""), "dataset": dataset,
                     "training_windows": windows, "examples_per_epoch": examples, "epochs": epochs,
                     "optimiser_steps": steps, "seconds_per_step": step, "training_hours": train_hours,
                     "validation_windows_per_epoch": val, "test_windows": test, "evaluation_hours": eval_hours,
                     "hours": train_hours + eval_hours})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- the report
def device_slug(name: str) -> str:
    """'NVIDIA H200' -> 'nvidia-h200'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def goal_verdicts(models: pd.DataFrame, grid_hours: float | None, device: torch.device) -> list[dict]:
    """Each goal, the number it is judged by and whether it is met."""
    utilisation = models["gpu_utilisation_percent"].dropna()
    low_util = models.loc[utilisation.idxmin()] if len(utilisation) else None
    low_eff = models.loc[models["pipeline_efficiency"].idxmin()]
    util_goal, eff_goal, hours_goal = (GOALS[k] for k in ("gpu_utilisation_percent", "pipeline_efficiency",
                                                           "grid_gpu_hours"))
    if device.type != "cuda":
        util = ("n/a (no GPU)", "not measurable")
    elif len(utilisation) < len(models):
        util = ("n/a for " + ", ".join(models.loc[models["gpu_utilisation_percent"].isna(), "model"]), "not measured")
    else:
        util = (f"{low_util['gpu_utilisation_percent']:.0f} % ({low_util['model']}, the lowest)",
                "met" if utilisation.min() >= util_goal else "not met")
    hours = ("n/a", "not measured") if grid_hours is None else (
        f"{grid_hours:.2f} GPU-hours", "met" if grid_hours < hours_goal else "not met")
    return [
        {"goal": f"GPU utilisation >= {util_goal:.0f} % while training, every model", "measured": util[0],
         "verdict": util[1]},
        {"goal": f"pipeline efficiency >= {eff_goal} for every model",
         "measured": f"{low_eff['pipeline_efficiency']:.3f} ({low_eff['model']}, the lowest)",
         "verdict": "met" if low_eff["pipeline_efficiency"] >= eff_goal else "not met"},
        {"goal": f"the whole chapter-5 grid in under {hours_goal:.0f} GPU-hour on this device",
         "measured": hours[0], "verdict": hours[1]},
    ]


def model_table(models: pd.DataFrame, ceiling: dict) -> pd.DataFrame:
    """The per-model table of the report."""
    def utilisation(row):
        value = row["gpu_utilisation_percent"]
        return f"{value:.0f}" if pd.notna(value) else f"n/a ({row['gpu_utilisation_note']})"

    return pd.DataFrame({
        "model": models["model"],
        "input": models["input"] + " " + models["input_shape"],
        "parameters": models["parameters"].map("{:,}".format),
        "end to end samples/s": models["end_to_end_samples_per_second"].round(1),
        "model only samples/s": models["model_only_samples_per_second"].round(1),
        "pipeline efficiency": models["pipeline_efficiency"].round(3),
        "GFLOP per step": (models["flops_per_step"] / 1e9).round(2),
        "MFU end to end %": (100 * models["flops_per_step"] / models["end_to_end_seconds_per_step"]
                             / ceiling["flops"]).round(2),
        "MFU model only %": (100 * models["flops_per_step"] / models["model_only_seconds_per_step"]
                             / ceiling["flops"]).round(2),
        "GPU utilisation %": models.apply(utilisation, axis=1),
        "inference windows/s (end to end / model only)": [
            f"{a:.0f} / {b:.0f}" for a, b in zip(models["inference_windows_per_second"],
                                                 models["model_only_inference_windows_per_second"])],
    })


def projection_table(projection: pd.DataFrame) -> pd.DataFrame:
    """The projection table of the report, with its total row."""
    table = projection[["experiment", "model", "window_s", "sampling", "examples_per_epoch", "epochs",
                        "optimiser_steps", "seconds_per_step", "training_hours", "validation_windows_per_epoch",
                        "test_windows", "evaluation_hours", "hours"]].copy()
    table["seconds_per_step"] = table["seconds_per_step"].map("{:.4f}".format)
    total = {column: "" for column in table.columns}
    total.update(experiment="**total**", optimiser_steps=int(projection["optimiser_steps"].sum()),
                 **{column: projection[column].sum() for column in ("training_hours", "evaluation_hours", "hours")})
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    for column in ("training_hours", "evaluation_hours", "hours"):
        table[column] = table[column].map("{:.3f}".format)
    return table.rename(columns=lambda c: c.replace("_", " "))


def environment(device: torch.device) -> dict:
    """Date, device and software of the measurement."""
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": cost.device_name(device), "device_type": device.type, "torch": torch.__version__,
            "python": sys.version.split()[0], "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                    multiprocessors=props.multi_processor_count, memory_gib=round(props.total_memory / 2**30, 1))
        if shutil.which("nvidia-smi"):
            done = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                  capture_output=True, text=True)
            info["driver"] = done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout else "?"
    return info


def markdown_report(env: dict, profile: Profile, measured_profile: Profile, scale: Scale, tiny: bool,
                    clips: dict[str, int], ceiling: dict, models: pd.DataFrame, projection: pd.DataFrame,
                    goals: list[dict]) -> str:
    """The report: what was measured where, the goals, the per-model table and the grid's projection."""
    t = measured_profile.train
    software = f"torch {env['torch']}, Python {env['python']}" + (
        f", CUDA {env['cuda']}, cuDNN {env['cudnn']}, driver {env.get('driver', '?')}" if "cuda" in env else "")
    hardware = (f"{env['multiprocessors']} multiprocessors, {env['memory_gib']} GiB; " if "cuda" in env else "") + \
        f"{env['cpus']} CPUs, {env['torch_threads']} torch threads"
    precision = "off (float32)" if env["device_type"] != "cuda" else f"{ceiling['dtype']} autocast"
    lines = [
        f"# GPU check: {env['device']}", "",
        f"Measured {env['date']} on **{env['device']}** ({hardware}; {software}) by `benchmarks/gpu_check.py`, "
        f"profile **`{profile.name}`**.", "",
    ]
    if tiny:
        lines += [f"**Dry run (`--tiny`)**: the models at the smoke profile's sizes, batch {TINY_BATCH}, "
                  f"{scale.steps} step(s) per timed epoch, short clips. It proves that the check runs; its numbers "
                  "mean nothing.", ""]
    lines += [
        f"Settings measured: 1-s windows, batch {t.batch_size}, ResNet-50 input {t.resnet_in_chans}x{t.image_size}x"
        f"{t.image_size}, AST of {t.ast_layers} layer(s) of width {t.ast_hidden}, mixed precision {precision}, "
        f"torch.compile {'on' if t.compile else 'off'}; {scale.steps} optimiser steps per timed epoch. "
        f"Data: stand-in clips written for the check ({clips['train']} training clips of {IRMAS_TRAIN_SAMPLES:,} "
        f"samples, {clips['val']} validation and {clips['eval']} evaluation clips of {clips['eval_seconds']:g} s: "
        "tones and noise; what a step costs does not depend on what the audio contains). The projection uses the "
        f"data sizes of `{profile.name}` ({profile.dataset_name}, {profile.audioset_name}).", "",
        "## Goals", "",
        pd.DataFrame(goals).to_markdown(index=False), "",
        "## Per model", "",
        "End to end: training samples/s of `harmonylib.train.fit` (second of two epochs, `metrics.csv`), "
        "augmentations and model input included. Model only: the same model, loss, autocast and optimiser step "
        "on one ready batch on the device. Pipeline efficiency: end to end / model only. MFU: FLOPs per step "
        "(`torch.utils.flop_counter`, forward and backward) / seconds per step / "
        f"{ceiling['flops'] / 1e12:.3g} TFLOP/s, the {ceiling['basis']}. Matrix products of "
        f"{ceiling['matmul_size']}x{ceiling['matmul_size']} in {ceiling['dtype']} reached "
        f"{ceiling['matmul_flops'] / 1e12:.3g} TFLOP/s here. GPU utilisation: mean of `nvidia-smi` samples "
        f"every {UTILISATION_INTERVAL_MS} ms over the timed epoch. Inference: windows/s of "
        "`harmonylib.train.predict_windows` (end to end) and of the model on a ready batch.", "",
        model_table(models, ceiling).to_markdown(index=False), "",
        f"## Projection: the chapter-5 grid at `{profile.name}`", "",
        "Per experiment: optimiser steps (epochs x training examples per epoch / batch; the examples are every "
        "training window, or Eq. 3.1's epoch for true dynamic sampling) x seconds per step, plus every validation "
        "window each epoch and every test window once at the measured inference rate. Windows of 2 and 3 s: the "
        "model's share of a step (model only) stays the same where the input has a fixed size (ResNet-50's mel "
        "image, the MFCC image) and grows with the window otherwise; the input pipeline's share (end to end less "
        "model only) grows with the window. Dynamic sampling's mixing is costed as a static step. Starting "
        "kernels, preparing the data and the notebooks' other cells come on top (the fast dev run shows them).", "",
        projection_table(projection).to_markdown(index=False) if len(projection) else "No experiment projected.", "",
        f"**{projection['hours'].sum():.2f} GPU-hours** for the {len(projection)} experiments on one {env['device']}.",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="torch device (default: the profile's: CUDA when available)")
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="paper-synth")
    parser.add_argument("--tiny", action="store_true",
                        help="the dry run: the smoke profile's model sizes, one step per epoch, short clips")
    parser.add_argument("--steps", type=int, help="optimiser steps per timed epoch (default 150; --tiny: 1)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--compile", action="store_true", help="torch.compile the models (CUDA only)")
    parser.add_argument("--output", type=Path, help="markdown report (default benchmarks/results/gpu-<device>.md); "
                                                    "the numbers also go to the same name with .json")
    args = parser.parse_args(argv)

    profile = get_profile(args.profile)
    device = torch.device(args.device) if args.device else profile.torch_device()
    # the dry run feeds every model batches of one size: on the CPU each new shape costs a first call
    scale = (Scale(args.steps or 1, 1, 1, 1, TINY_BATCH * MEASURED_WINDOW, 512) if args.tiny
             else Scale(args.steps or 150, 3, 2, 40, None, 8192 if device.type == "cuda" else 2048))
    sizes = dataclasses.replace(get_profile("smoke").train, batch_size=TINY_BATCH) if args.tiny else profile.train
    measured_profile = dataclasses.replace(profile, device=str(device),
                                           train=dataclasses.replace(sizes, compile=args.compile or sizes.compile))
    env = environment(device)
    output = args.output or REPORT_ROOT / f"gpu-{device_slug(env['device'])}.md"
    print(f"GPU check on {env['device']}, profile {profile.name}{' (dry run)' if args.tiny else ''}", flush=True)

    with tempfile.TemporaryDirectory(prefix="gpu_check_") as scratch:
        work = Path(scratch)
        os.environ["HARMONY_CACHE_DIR"] = str(work / "cache")  # the stand-ins' waveform stores go with the folder
        sr, seed = profile.features.sample_rate, profile.seed
        eval_seconds = scale.eval_seconds or (profile.data.synth_test_seconds if profile.data.source == "synth"
                                              else IRMAS_TEST_SECONDS)
        per_clip = window_count(IRMAS_TRAIN_SAMPLES, sr, "drop", int(round(SHORT_BY_TOLERANCE_S * sr)))
        clips = {"train": math.ceil(scale.steps * measured_profile.train.batch_size / per_clip), "val": scale.val_clips,
                 "eval": scale.eval_clips, "eval_seconds": eval_seconds}
        frames = {"train": write_stand_in_clips(work / "train", clips["train"], IRMAS_TRAIN_SAMPLES, 1, sr, seed),
                  "val": write_stand_in_clips(work / "val", clips["val"], round(eval_seconds * sr), 2, sr, seed + 1),
                  "eval": write_stand_in_clips(work / "eval", clips["eval"], round(eval_seconds * sr), 2, sr, seed + 2)}
        ceiling = flop_ceiling(device, scale.matmul_size)
        rows = []
        for name in args.models:
            started = time.perf_counter()
            row = measure_model(name, measured_profile, frames, device, scale, work)
            rows.append(row)
            print(f"{name}: {row['end_to_end_samples_per_second']:.1f} samples/s end to end, "
                  f"{row['model_only_samples_per_second']:.1f} model only ({time.perf_counter() - started:.0f} s)",
                  flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    models = pd.DataFrame(rows)
    projection = project_grid(profile, {row["model"]: row for row in rows})
    grid_hours = float(projection["hours"].sum()) if set(args.models) == set(MODELS) else None
    goals = goal_verdicts(models, grid_hours, device)
    io.write_text(output, markdown_report(env, profile, measured_profile, scale, args.tiny, clips, ceiling, models,
                                          projection, goals))
    io.write_json(output.with_suffix(".json"),
                  {"environment": env, "profile": profile.name, "tiny": args.tiny, "steps": scale.steps,
                   "ceiling": ceiling, "models": json.loads(models.to_json(orient="records")),
                   "projection": json.loads(projection.to_json(orient="records")), "grid_gpu_hours": grid_hours,
                   "goals": goals})
    for row in rows:
        print(f"efficiency {row['model']}: {row['pipeline_efficiency']:.3f}")
    print(f"grid: {projection['hours'].sum():.2f} GPU-hours ({len(projection)} experiments)")
    for goal in goals:
        print(f"goal {goal['verdict']}: {goal['goal']}: {goal['measured']}")
    print(f"report: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
