"""Input pipeline benchmark (report Figure 5.7): the original's per-item librosa recipe against ours.

Run from the repository root::

    .venv/bin/python benchmarks/input_pipeline.py [--profile default] [--items 128] [--device cpu|cuda] [--output CSV]

Two recipes feed the same training windows (1-s windows of a seeded slice of the profile's
SynthIRMAS training clips) in batches of ``profile.train.batch_size`` to the same models:

* **original** (the original study's code): a ``torch.utils.data.Dataset`` whose ``__getitem__`` loads the
  wav file with ``librosa.load``, cuts the window, applies the audio augmentations with
  librosa/numpy (``librosa.effects.pitch_shift``, ``np.roll``, Gaussian noise), computes the model
  input with librosa (and the spectrogram masks with numpy) for every item in every epoch, in a
  ``DataLoader`` with ``num_workers=0``;
* **ours**: the clips decoded once into the waveform store (``harmonylib.data.waveforms``), each batch
  of windows cut from the store on the device in one gather (``harmonylib.train.batch_of``), then
  augmented and turned into the model input there, batched (``harmonylib.augment``,
  ``harmonylib.inputs``), as ``harmonylib.train.fit`` does: no DataLoader, no loop over items.

Measured, in one run: ready model inputs per second for each input type (augmentations included),
and the pipeline efficiency (training samples/s end to end divided by samples/s of the same model
and batch fed from a tensor already in memory) for ResNet-50 and the raw-audio CNN. Results go to
``build/benchmarks/input_pipeline_<profile>_<device>[_threads<N>].csv`` (or ``--output``); the run ends with one line per
input type, ``speedup <type>: X.Xx``, and two per model, ``efficiency <model>: 0.XX`` (ours) and
``flop efficiency <model>: 0.XX``: the FLOP/s its model-only steps achieve (``harmonylib.cost.training_step_flops``
per step) over the FLOP/s square matrix products reach on the same device and threads in the step's dtype
(``harmonylib.cost.matmul_rate``), the gap between the model's step and what the machine can do.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harmonylib import cost, io, paths  # noqa: E402
from harmonylib.augment import AudioAugment, SpecAugment, add_noise, pitch_shift, time_shift  # noqa: E402
from harmonylib.config import FAST_DEV_RUN_SUFFIX, PROFILE_NAMES, get_profile  # noqa: E402
from harmonylib.data import prepare, waveforms  # noqa: E402
from harmonylib.errors import ConfigError  # noqa: E402
from harmonylib.features import general_features  # noqa: E402
from harmonylib.inputs import AST_SAMPLE_RATE, INPUT_KINDS, ASTInput, make_input  # noqa: E402
from harmonylib.labels import multi_hot_matrix  # noqa: E402
from harmonylib.models import build_model  # noqa: E402
from harmonylib.train import autocast, batch_of, in_model_layout, native_bfloat16, prepare_model  # noqa: E402
from harmonylib.windows import WindowDataset, Windows  # noqa: E402

WINDOW_SECONDS = 1.0
SPEEDUP_GOALS = {"raw": 3.0, "mfcc": 3.0, "mel": 5.0, "features": 3.0, "ast": 3.0}
EFFICIENCY_GOALS = {"resnet50": 0.9, "raw_cnn": 0.8}
MODEL_INPUTS = {"resnet50": "mel", "raw_cnn": "raw"}
SPEC_AUGMENTED = ("mel", "ast")  # the spectrogram models get the masks as well (report 3.4)


# --------------------------------------------------------------------------- the original's recipe
def spec_augment_numpy(spec: np.ndarray, rng: np.random.Generator, n_masks: int = 2, max_fraction: float = 0.1):
    """Two frequency and two time masks of U[0, 10] % filled with the mean, on one (F, T) array (report 3.4.2)."""
    out = spec.copy()
    fill = spec.mean()
    for axis in (0, 1):
        size = spec.shape[axis]
        for _ in range(n_masks):
            width = int(np.floor(rng.uniform(0, max_fraction) * size))
            start = int(np.floor(rng.uniform(0, 1) * (size - width + 1)))
            index = [slice(None), slice(None)]
            index[axis] = slice(start, start + width)
            out[tuple(index)] = fill
    return out


class OriginalDataset(Dataset):
    """The original code's training set: each item is read from its wav file and turned into a model input
    with librosa, augmentations included, every time it is asked for (every epoch)."""

    def __init__(self, files, starts, targets, kind: str, profile, mean: float, std: float, seed: int):
        self.files, self.starts, self.targets = list(files), np.asarray(starts), np.asarray(targets, np.float32)
        self.kind, self.mean, self.std, self.seed = kind, mean, std, seed
        self.f, self.train = profile.features, profile.train
        self.sr = AST_SAMPLE_RATE if kind == "ast" else self.f.sample_rate
        self.epoch = 0
        self.augment = AudioAugment(mean, std)  # only its parameters: noise alpha, semitones, shift
        if kind == "ast":
            from transformers import ASTFeatureExtractor

            self.extractor = ASTFeatureExtractor(max_length=int(100 * WINDOW_SECONDS))

    def __len__(self) -> int:
        return len(self.files)

    def rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])

    def load(self, i: int) -> np.ndarray:
        """The item's window, read from its wav file."""
        import librosa

        y, sr = librosa.load(self.files[i], sr=self.sr, mono=True)
        size = int(round(WINDOW_SECONDS * sr))
        start = int(self.starts[i] * sr // self.f.sample_rate)
        piece = y[start:start + size]
        return np.pad(piece, (0, size - len(piece)))

    def pitch_shift(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import librosa

        semitones = self.augment.max_semitones
        return librosa.effects.pitch_shift(y, sr=self.sr, n_steps=rng.uniform(-semitones, semitones))

    def shift_and_noise(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        a = self.augment
        y = np.roll(y, -int(round(rng.uniform(-a.max_shift, a.max_shift) * len(y))))
        return y + a.noise_alpha * (self.mean + self.std * rng.standard_normal(len(y))).astype(np.float32)

    def model_input(self, y: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """The model input of an augmented window, with the spectrogram masks for mel and AST."""
        import librosa

        f, sr = self.f, self.sr
        if self.kind == "ast":  # AST takes the waveform as loaded (harmonylib.inputs.ASTInput)
            fbank = self.extractor(y, sampling_rate=sr, return_tensors="np")["input_values"][0]
            return torch.from_numpy(spec_augment_numpy(fbank.T, rng).T.copy())
        y = ((y - self.mean) / self.std).astype(np.float32)
        if self.kind == "raw":
            return torch.from_numpy(y).unsqueeze(0)
        if self.kind == "mfcc":
            m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=f.n_mfcc, n_fft=f.n_fft, hop_length=f.hop_length)
            return F.interpolate(torch.from_numpy(m)[None, None], size=(f.n_mfcc, 256), mode="bilinear",
                                 align_corners=False)[0]
        if self.kind == "mel":
            mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=f.n_fft, hop_length=f.hop_length,
                                                 n_mels=self.train.image_mels)
            db = spec_augment_numpy(librosa.power_to_db(mel, ref=np.max), rng)
            side = self.train.image_size
            return F.interpolate(torch.from_numpy(db)[None, None], size=(side, side), mode="bilinear",
                                 align_corners=False)[0].expand(3, -1, -1).contiguous()
        return torch.from_numpy(general_features(y, sr, f.n_fft, f.hop_length))

    def __getitem__(self, i: int):
        rng = self.rng(i)
        y = self.shift_and_noise(self.pitch_shift(self.load(i), rng), rng)
        return self.model_input(y, rng), torch.from_numpy(self.targets[i])


def original_batches(dataset: OriginalDataset, batch_size: int, seed: int, device):
    """Endless ready batches of the original recipe (one DataLoader pass per epoch, ``num_workers=0``)."""
    for epoch in itertools.count():
        dataset.epoch = epoch
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0,
                            generator=torch.Generator().manual_seed(seed + epoch))
        for x, target in loader:
            yield x.to(device), target.to(device)


# --------------------------------------------------------------------------- ours
class OursPipeline:
    """Windows from the waveform store, batched on the device: augmentations, then the model input."""

    def __init__(self, kind: str, store, clip_targets, profile, mean: float, std: float, device, seed: int):
        self.kind, self.profile, self.device = kind, profile, device
        self.dataset = WindowDataset(Windows(store, store.sr, WINDOW_SECONDS, last="drop"), clip_targets)
        self.augment = AudioAugment(mean, std)
        self.spec_augment = SpecAugment() if kind in SPEC_AUGMENTED else None
        self.model_input = (ASTInput(sample_rate=store.sr, max_length=int(100 * WINDOW_SECONDS)).to(device)
                            if kind == "ast" else make_input(kind, profile, mean, std).to(device))
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.seed = seed
        if kind == "features":  # row statistics from un-augmented training windows, as the notebooks do
            size = profile.train.batch_size
            self.model_input.fit(batch_of(self.dataset, range(first, min(first + size, len(self.dataset))), device)[0]
                                 for first in range(0, min(4 * size, len(self.dataset)), size))

    def loader(self, epoch: int):
        """One epoch of raw batches (waveforms, targets, clips) in a seeded order, as ``fit`` draws them:
        cut from the waveform store on the device (``harmonylib.train.batch_of``)."""
        order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.seed + epoch))
        size = self.profile.train.batch_size
        for first in range(0, len(order), size):
            yield batch_of(self.dataset, order[first:first + size].tolist(), self.device)

    def model_input_of(self, wave: torch.Tensor) -> torch.Tensor:
        """The model input of an augmented batch on the device, with the spectrogram masks for mel and AST."""
        if self.kind == "mel":
            return self.model_input(wave, self.spec_augment, self.generator)
        x = self.model_input(wave)
        if self.kind == "ast":
            x = self.spec_augment(x.transpose(1, 2), self.generator).transpose(1, 2)
        return x

    @torch.no_grad()
    def ready(self, wave: torch.Tensor) -> torch.Tensor:
        return self.model_input_of(self.augment(wave, self.generator))

    def batches(self):
        for epoch in itertools.count():
            for wave, target, _ in self.loader(epoch):
                yield self.ready(wave), target


# --------------------------------------------------------------------------- measurement
def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fastest(measure, repeats: int) -> tuple[int, float]:
    """The (items, seconds) of the fastest of ``repeats`` calls of ``measure`` (timeit's rule: on a shared
    machine the slower repeats measure the other processes, not the code)."""
    return max((measure() for _ in range(repeats)), key=lambda done: done[0] / done[1])


def timed_items(batches, n_items: int, device) -> tuple[int, float]:
    """(items, seconds) to draw at least ``n_items`` ready items from an iterator of batches."""
    synchronize(device)
    started, seen = time.perf_counter(), 0
    while seen < n_items:
        x, _ = next(batches)
        seen += len(x)
    synchronize(device)
    return seen, time.perf_counter() - started


def step_dtype(device: torch.device) -> torch.dtype:
    """The dtype of a training step's matrix products: that of ``harmonylib.train.autocast`` on CUDA
    (bfloat16 where the GPU has it, else float16), float32 on the CPU."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if native_bfloat16() else torch.float16


class Trainer:
    """One training step as ``harmonylib.train.fit`` takes it: BCE on logits, Adam, ``harmonylib.train.autocast``
    (loss scaling with float16 only)."""

    def __init__(self, model: torch.nn.Module, device, batch_size: int):
        self.model, self.device, self.batch_size = prepare_model(model, device).train(), device, batch_size
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.scaler = torch.amp.GradScaler("cuda", enabled=step_dtype(device) == torch.float16)
        self.criterion = torch.nn.BCEWithLogitsLoss()

    def step(self, x: torch.Tensor, target: torch.Tensor) -> None:
        with autocast(self.device):
            loss = self.criterion(self.model(in_model_layout(x)).float(), target.float())
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)


def interleaved_steps(trainer: Trainer, sources: dict, steps: int, device) -> dict[str, tuple[int, float]]:
    """``(samples, seconds)`` per source: ``steps`` training steps each, the sources taking turns step by step.

    A step includes drawing its batch, so the input pipeline is timed with the model. Taking turns puts
    every recipe under the same conditions (caches after a ResNet step, other processes, clock drift);
    the seconds returned are the number of samples times the *median* seconds per sample, robust
    against the steps another process slowed down.
    """
    per_sample = {name: [] for name in sources}
    for _ in range(steps):
        for name, batches in sources.items():
            synchronize(device)
            started = time.perf_counter()
            x, target = next(batches)
            trainer.step(x, target)
            synchronize(device)
            per_sample[name].append((time.perf_counter() - started) / len(x))
    samples = steps * trainer.batch_size
    return {name: (samples, samples * float(np.median(times))) for name, times in per_sample.items()}


STAGES = ("read window", "pitch shift", "time shift + noise", "model input")


@torch.no_grad()
def breakdown(original: OriginalDataset, ours: OursPipeline, n_items: int, device) -> list[dict]:
    """Seconds spent in each stage of both recipes for ``n_items`` items (ours: whole batches, as trained).

    Ours runs the stages of ``AudioAugment.__call__`` one by one to time them.
    """
    spent = {recipe: dict.fromkeys(STAGES, 0.0) for recipe in ("original", "ours")}
    seen = {"original": 0, "ours": 0}

    def timed(recipe: str, stage: str, function, *args):
        synchronize(device)
        t0 = time.perf_counter()
        out = function(*args)
        synchronize(device)
        spent[recipe][stage] += time.perf_counter() - t0
        return out

    for i in range(n_items):
        rng = original.rng(i)
        y = timed("original", "read window", original.load, i)
        y = timed("original", "pitch shift", original.pitch_shift, y, rng)
        y = timed("original", "time shift + noise", original.shift_and_noise, y, rng)
        timed("original", "model input", lambda v: original.model_input(v, rng).to(device), y)
        seen["original"] += 1
    a, generator = ours.augment, ours.generator
    batches = ours.loader(0)
    while seen["ours"] < n_items:
        wave, _, _ = timed("ours", "read window", next, batches)
        params = a.draw(len(wave), generator)
        wave = timed("ours", "pitch shift", pitch_shift, wave, params["semitones"])
        wave = timed("ours", "time shift + noise",
                     lambda w: add_noise(time_shift(w, params["shift"]), a.mean, a.std, a.noise_alpha, generator), wave)
        timed("ours", "model input", ours.model_input_of, wave)
        seen["ours"] += len(wave)
    return [dict(measure="breakdown", name=ours.kind, recipe=recipe, stage=stage, items=seen[recipe], seconds=seconds)
            for recipe, stages in spent.items() for stage, seconds in stages.items()]


def training_slice(data, n_items: int, seed: int):
    """A seeded slice of training clips holding at least ``n_items`` 1-s windows (all windows of each clip)."""
    frame = data.train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    windows_per_clip = np.maximum(1, np.floor(frame["duration"].to_numpy() / WINDOW_SECONDS)).astype(int)
    clips = int(np.searchsorted(np.cumsum(windows_per_clip), n_items) + 1)
    return frame.iloc[:clips].reset_index(drop=True)


def _profile_name(name: str) -> str:
    try:
        return get_profile(name).name
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def load_average() -> float:
    return os.getloadavg()[0]


def run(profile_name: str, n_items: int, device_name: str | None, steps: int, repeats: int, data_dir: str | None,
        kinds: tuple[str, ...], models: tuple[str, ...], image_size: int | None = None) -> pd.DataFrame:
    warnings.filterwarnings("ignore", category=UserWarning)
    profile = get_profile(profile_name)
    if image_size:  # the mel image's side and mel bands (the paper: 256 and 256)
        profile = dataclasses.replace(profile, train=dataclasses.replace(profile.train, image_size=image_size,
                                                                         image_mels=image_size))
    device = torch.device(device_name) if device_name else profile.torch_device()
    batch = profile.train.batch_size
    seed = profile.seed
    started_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = load_average()
    print(f"input pipeline benchmark: profile {profile.name}, device {device}, batch {batch}, {n_items} items per "
          f"input type (fastest of {repeats} repeats), {steps * repeats} interleaved training steps per model "
          f"and recipe (median), "
          f"torch threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load {load_start:.2f}, "
          f"{started_at}", flush=True)

    data = prepare(profile, data_dir)
    frame = training_slice(data, max(n_items, (steps + 2) * batch), seed)
    targets = multi_hot_matrix(frame["labels"])
    print(f"{profile.dataset_name}: {len(frame)} training clips of {len(data.train)}", flush=True)

    stores, store_seconds = {}, {}
    for sr in sorted({profile.features.sample_rate} | ({AST_SAMPLE_RATE} if "ast" in kinds else set())):
        t0 = time.perf_counter()
        stores[sr] = waveforms(frame, sr)
        store_seconds[sr] = time.perf_counter() - t0
        print(f"waveform store at {sr} Hz ready in {store_seconds[sr]:.1f} s (decoded once, cached across runs)",
              flush=True)

    def pipelines(kind: str):
        store = stores[AST_SAMPLE_RATE if kind == "ast" else profile.features.sample_rate]
        windows = Windows(store, store.sr, WINDOW_SECONDS, last="drop")
        files = frame["path"].to_numpy()[windows.clip]
        starts = windows.start * profile.features.sample_rate // store.sr
        original = OriginalDataset(files, starts, windows.targets(targets), kind, profile, data.mean, data.std, seed)
        ours = OursPipeline(kind, store, targets, profile, data.mean, data.std, device, seed)
        return original, ours

    rows, step_flops = [], {}
    for kind in kinds:
        original_set, ours = pipelines(kind)
        original, ours_batches = original_batches(original_set, batch, seed, device), ours.batches()
        for recipe, batches in (("original", original), ("ours", ours_batches)):
            shape = "x".join(map(str, next(batches)[0].shape[1:]))  # warm-up: numba compilation, first calls
            items, seconds = fastest(lambda: timed_items(batches, n_items, device), repeats)
            rows.append(dict(measure="throughput", name=kind, recipe=recipe, items=items, seconds=seconds,
                             input_shape=shape))
            print(f"  throughput {kind:8s} {recipe:8s} {items / seconds:8.1f} items/s", flush=True)
        rows += breakdown(original_set, ours, max(batch, n_items // 4), device)

    for name in models:
        kind = MODEL_INPUTS[name]
        original_set, ours = pipelines(kind)
        original, ours = original_batches(original_set, batch, seed, device), ours.batches()
        fixed = next(ours)
        trainer = Trainer(build_model(name, pretrained=False), device, batch)
        measured = {"model only": itertools.repeat(fixed), "original": original, "ours": ours}
        for batches in measured.values():
            trainer.step(*next(batches))  # warm-up
        timed = interleaved_steps(trainer, measured, steps * repeats, device)
        step_flops[name] = cost.training_step_flops(trainer.model, fixed[0])
        for recipe, (samples, seconds) in timed.items():
            rows.append(dict(measure="training", name=name, recipe=recipe, items=samples, seconds=seconds,
                             input_shape="x".join(map(str, fixed[0].shape[1:]))))
            print(f"  training   {name:8s} {recipe:10s} {samples / seconds:8.2f} samples/s", flush=True)
    matmul_rate = cost.matmul_rate(device, step_dtype(device))  # after the timed steps, on the same threads
    print(f"  matrix products {matmul_rate / 1e9:8.1f} GFLOP/s ({step_dtype(device)}, "
          f"{torch.get_num_threads()} threads)", flush=True)

    table = pd.DataFrame(rows)
    table["per_second"] = table["items"] / table["seconds"]
    table["ratio"] = np.nan
    for name, group in table[table["measure"] != "breakdown"].groupby(["measure", "name"]):
        if name[0] == "throughput":
            base = group.loc[group["recipe"] == "original", "per_second"].iloc[0]
            table.loc[group.index, "ratio"] = group["per_second"] / base
        else:
            limit = group.loc[group["recipe"] == "model only", "per_second"].iloc[0]
            table.loc[group.index, "ratio"] = group["per_second"] / limit
    training = table["measure"] == "training"
    table.loc[training, "step_flops"] = table.loc[training, "name"].map(step_flops)
    table["flop_per_second"] = table["step_flops"] / batch * table["per_second"]
    table.loc[training, "matmul_flop_per_second"] = matmul_rate
    table["flop_efficiency"] = table["flop_per_second"] / table["matmul_flop_per_second"]
    goals = {"throughput": SPEEDUP_GOALS, "training": EFFICIENCY_GOALS}
    table["goal"] = [goals[m][n] if r == "ours" and m in goals else np.nan
                     for m, n, r in zip(table["measure"], table["name"], table["recipe"])]
    table = table.assign(profile=profile.name, device=str(device), batch_size=batch, repeats=repeats,
                         torch_threads=torch.get_num_threads(), cpus=os.cpu_count(), started=started_at,
                         load_start=load_start, load_end=load_average(),
                         store_seconds=sum(store_seconds.values()))
    return table


def report(table: pd.DataFrame) -> tuple[str, str]:
    """(table, stage times, matrix-product rate, missed goals; the lines ``speedup <type>: X.Xx``,
    ``efficiency <model>: 0.XX`` and ``flop efficiency <model>: 0.XX``)."""
    shown = table.loc[table["measure"] != "breakdown",
                      ["measure", "name", "recipe", "input_shape", "items", "seconds", "per_second", "ratio", "goal",
                       "step_flops", "flop_per_second", "flop_efficiency"]]
    shown = shown.assign(step_flops=shown["step_flops"] / 1e9, flop_per_second=shown["flop_per_second"] / 1e9)
    shown = shown.rename(columns={"per_second": "per second", "ratio": "speedup / efficiency",
                                  "step_flops": "GFLOP per step", "flop_per_second": "GFLOP/s",
                                  "flop_efficiency": "flop efficiency"})
    lines = [shown.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.2f}")]
    stages = table[table["measure"] == "breakdown"]
    if len(stages):
        ms = stages.assign(ms=1000 * stages["seconds"] / stages["items"]).pivot_table(
            index=["name", "recipe"], columns="stage", values="ms", sort=False)[list(STAGES)]
        ms["total"] = ms.sum(axis=1)
        lines += ["", "milliseconds per item in each stage:", ms.to_string(float_format=lambda v: f"{v:.2f}")]
    lines.append(f"load average: {table['load_start'].iloc[0]:.2f} at start, {table['load_end'].iloc[0]:.2f} at end")
    training = table[table["measure"] == "training"]
    if len(training):
        lines.append(f"matrix products: {training['matmul_flop_per_second'].iloc[0] / 1e9:.1f} GFLOP/s "
                     f"(the limit of the flop efficiency)")
    ours = table[table["recipe"] == "ours"]
    missed = ours[ours["ratio"] < ours["goal"]]
    for _, row in missed.iterrows():
        what = "speedup" if row["measure"] == "throughput" else "efficiency"
        lines.append(f"goal missed: {what} {row['name']} {row['ratio']:.2f} < {row['goal']:.2f}")
    summary = []
    for _, row in ours[ours["measure"] == "throughput"].iterrows():
        summary.append(f"speedup {row['name']}: {row['ratio']:.1f}x")
    for _, row in ours[ours["measure"] == "training"].iterrows():
        summary.append(f"efficiency {row['name']}: {row['ratio']:.2f}")
    for _, row in training[training["recipe"] == "model only"].iterrows():
        summary.append(f"flop efficiency {row['name']}: {row['flop_efficiency']:.2f}")
    return "\n".join(lines), "\n".join(summary)


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("HARMONY_PROFILE", "default"), type=_profile_name,
                        help=f"{', '.join(PROFILE_NAMES)}, or one of them + {FAST_DEV_RUN_SUFFIX!r}")
    parser.add_argument("--items", type=int, default=128, help="ready inputs timed per input type and recipe")
    parser.add_argument("--steps", type=int, default=4,
                        help="timed training steps per model and recipe and repeat (steps x repeats in all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each measurement; the fastest counts")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: the profile's device")
    parser.add_argument("--data-dir", default=None, help="data folder (default: the profile's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads for the whole run, both recipes (default: torch's choice)")
    parser.add_argument("--inputs", nargs="+", default=list(INPUT_KINDS), choices=INPUT_KINDS)
    parser.add_argument("--models", nargs="+", default=list(MODEL_INPUTS), choices=list(MODEL_INPUTS))
    parser.add_argument("--image-size", type=int, default=None,
                        help="mel image side and mel bands of the ResNet input (default: the profile's; paper: 256)")
    parser.add_argument("--output", type=Path, default=None,
                        help="CSV to write (default: build/benchmarks/input_pipeline_<profile>_<device>[...].csv)")
    args = parser.parse_args(argv)
    if min(args.items, args.steps, args.repeats, args.image_size or 1) < 1 or (args.threads or 1) < 1:
        parser.error("--items, --steps, --repeats, --threads and --image-size must be positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    table = run(args.profile, args.items, args.device, args.steps, args.repeats, args.data_dir, tuple(args.inputs),
                tuple(args.models), args.image_size)
    suffix = (f"_threads{args.threads}" if args.threads else "") + (f"_image{args.image_size}" if args.image_size else "")
    target = args.output or (paths.build_dir() / "benchmarks"
                             / f"input_pipeline_{args.profile}_{table['device'].iloc[0]}{suffix}.csv")
    io.write_csv(target, table)
    body, summary = report(table)
    print(body)
    print(f"results written to {target}")
    print(summary)
    return target


if __name__ == "__main__":
    main()
