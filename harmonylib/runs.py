"""The run folder: everything a training run leaves on disk, written and read here only (chapters 4-5).

The training engine (:mod:`harmonylib.train`) and the recipes of chapter 4 (:mod:`harmonylib.recipes`)
write it; the comparisons of chapter 5 (:mod:`harmonylib.comparisons`) and ``python -m harmonylib
predict`` (:mod:`harmonylib.predict`) read it. No other module knows a file name of it.

Run folder ``paths.runs_dir() / <run name>`` (``<profile>-<experiment>`` for the experiment grid)::

    config.json             settings (``train.TrainSettings``; ``settings.extra`` holds the notebook
                            parameters: dataset, window, sampling ...), model name and ``model_config``
                            (for ``models.build_model``), ``weights`` (where the initial weights came from),
                            world size
    metrics.csv             one row per finished epoch: ``epoch`` (from 0), ``train_loss``, ``val_loss``
                            (window BCE), ``val_clip_bce``, ``val_macro_f1`` ..., learning rates, timing
    run.json                written when the run finishes: ``status`` ("finished"), best epoch,
                            optimiser steps, parameter count, device, seconds and samples per second,
                            peak memory
    best/model.safetensors  the selected checkpoint's weights (safetensors: no pickled code), with
    best/info.json          its epoch and validation metrics, and
    best/val_windows.npz    its validation window probabilities, targets and clip indices, from the
                            validation pass that chose it (``predictions_<dataset>_val.npz`` is made
                            from them, not by a second pass)
    last/epoch_NNN/         ``model.safetensors`` + ``state.pt`` (optimisers, schedulers, scaler) of the
                            newest finished epoch, while the run is unfinished
    last.json               points at that folder; written last, so a resumed run finds a complete one.
                            Both are removed when the run finishes: it needs only its best weights (and
                            an AST's optimiser state alone is 0.7 GB)
    input.json              how the model input is made: ``profile``, training waveform ``mean`` and
                            ``std``, ``window`` (s)
    input.safetensors       the input module's fitted state (the general features' row statistics)
    predictions_<dataset>_<split>.npz
                            window probabilities of the selected checkpoint (format below)

A predictions file (dataset ``irmas`` | ``audioset``, split ``val`` | ``test``):

============  ===========================  ==================================================
key           shape, dtype                 meaning
============  ===========================  ==================================================
probs         (n_windows, 11) float32      sigmoid output of every window
clip_index    (n_windows,) int             row of the window's clip in ``clip_ids``
clip_ids      (n_clips,) str               clip identifier (IRMAS: file path; AudioSet: ytid)
labels        (n_clips, 11) int8           multi-hot labels in ``CLASSES`` order
classes       (11,) str                    ``CLASSES``
groups        (n_clips,) str, optional     song of each clip; default: IRMAS file name without
                                           the trailing ``-N`` (``data.irmas.song_of``),
                                           AudioSet clip id (every clip its own "song")
============  ===========================  ==================================================
"""
from __future__ import annotations

import io as _io
import json
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import io
from .errors import ConfigError, HarmonyError
from .evaluate import aggregate, binarize
from .labels import CLASSES, NUM_CLASSES

CONFIG = "config.json"
METRICS = "metrics.csv"
SUMMARY = "run.json"
WEIGHTS = "model.safetensors"
BEST = "best"
BEST_INFO = "info.json"
BEST_VAL_WINDOWS = "val_windows.npz"
LAST = "last"
LAST_POINTER = "last.json"
STATE = "state.pt"
INPUT_RECORD = "input.json"
INPUT_STATE = "input.safetensors"


class MissingRunError(HarmonyError):
    """A run folder, or a file of one that a reader needs, does not exist (yet)."""


def read_json(path: Path) -> dict:
    """A JSON file of a run folder; :class:`MissingRunError` or :class:`HarmonyError` naming it."""
    path = Path(path)
    if not path.exists():
        raise MissingRunError(f"missing {path.name}: not a complete run folder", path.parent)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise HarmonyError(f"not valid JSON ({error})", path) from None


# ------------------------------------------------------------------------------- settings and progress
def write_config(run_dir: Path, config: dict) -> None:
    io.write_json(Path(run_dir) / CONFIG, config)


def recorded_settings(run_dir: Path) -> dict | None:
    """The settings a run folder was made with, or None where it has none yet."""
    path = Path(run_dir) / CONFIG
    return read_json(path)["settings"] if path.exists() else None


def set_aside(run_dir: Path) -> Path:
    """Rename a stale run folder to ``<name>.superseded-N`` (never deleted: nothing is lost)."""
    number = 1
    while (kept := run_dir.with_name(f"{run_dir.name}.superseded-{number}")).exists():
        number += 1
    run_dir.rename(kept)
    return kept


def write_summary(run_dir: Path, summary: dict) -> None:
    io.write_json(Path(run_dir) / SUMMARY, summary)


def finished_summary(run_dir: Path) -> dict | None:
    """``run.json`` of a finished run, else None."""
    path = Path(run_dir) / SUMMARY
    if not path.exists():
        return None
    summary = read_json(path)
    return summary if summary.get("status") == "finished" else None


def write_metrics(run_dir: Path, rows: list[dict] | pd.DataFrame) -> None:
    """One row per finished epoch."""
    io.write_csv(Path(run_dir) / METRICS, pd.DataFrame(rows), float_format="%.8g")


def read_metrics(run_dir: Path) -> pd.DataFrame:
    path = Path(run_dir) / METRICS
    if not path.exists():
        raise MissingRunError(f"run folder has no {METRICS}", path)
    return pd.read_csv(path)


# ------------------------------------------------------------------------------- checkpoints
def _save_state_dict(path: Path, module: nn.Module, metadata: dict | None = None) -> None:
    """A module's tensors as safetensors (of the model itself where DDP wraps it), written atomically."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in getattr(module, "module", module).state_dict().items()}
    io.write_bytes(path, save(state, metadata=metadata))


def save_best(run_dir: Path, model: nn.Module, epoch: int, info: dict, val_windows: dict[str, np.ndarray]) -> None:
    """The selected checkpoint: weights, ``info`` (its epoch, selection and validation metrics) and the
    validation window predictions (``train.predict_windows``' arrays) it was selected by."""
    _save_state_dict(Path(run_dir) / BEST / WEIGHTS, model, {"epoch": str(epoch)})
    buffer = _io.BytesIO()
    np.savez(buffer, **val_windows)
    io.write_bytes(Path(run_dir) / BEST / BEST_VAL_WINDOWS, buffer.getvalue())
    io.write_json(Path(run_dir) / BEST / BEST_INFO, info)


def best_info(run_dir: Path) -> dict | None:
    """The selected checkpoint's ``info`` (:func:`save_best`), or None where there is none yet."""
    path = Path(run_dir) / BEST / BEST_INFO
    return read_json(path) if path.exists() else None


def best_val_windows(run_dir: Path) -> dict[str, np.ndarray]:
    """The validation window predictions of the selected checkpoint (:func:`save_best`)."""
    path = Path(run_dir) / BEST / BEST_VAL_WINDOWS
    if not path.exists():
        raise MissingRunError(f"no validation predictions of the selected checkpoint ({BEST}/{BEST_VAL_WINDOWS})",
                              run_dir)
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


def save_last(run_dir: Path, model: nn.Module, training_state: dict, epoch: int, best: dict,
              history: list[dict]) -> None:
    """The newest epoch's weights and optimiser state, then the metrics, then the pointer that makes them
    the resume point; older epochs are removed only after the pointer has moved."""
    run_dir = Path(run_dir)
    folder = f"{LAST}/epoch_{epoch:03d}"
    _save_state_dict(run_dir / folder / WEIGHTS, model, {"epoch": str(epoch)})
    buffer = _io.BytesIO()
    torch.save({**training_state, "info": {"epoch": epoch}}, buffer)
    io.write_bytes(run_dir / folder / STATE, buffer.getvalue())
    write_metrics(run_dir, history)
    io.write_json(run_dir / LAST_POINTER, {"epoch": epoch, "folder": folder, "best": best})
    for old in (run_dir / LAST).iterdir():
        if old.name != Path(folder).name:
            shutil.rmtree(old, ignore_errors=True)


def drop_resume_point(run_dir: Path) -> None:
    """Remove the resume point of a finished run (pointer first, so no half-removed one is ever resumed)."""
    run_dir = Path(run_dir)
    (run_dir / LAST_POINTER).unlink(missing_ok=True)
    shutil.rmtree(run_dir / LAST, ignore_errors=True)


def resume_point(run_dir: Path, device) -> dict | None:
    """Where an interrupted run resumes: ``epoch``, ``best``, ``history`` (the metrics rows up to that epoch)
    and ``state`` (optimisers, schedulers, scaler); None for a run that finished no epoch."""
    run_dir = Path(run_dir)
    if not (run_dir / LAST_POINTER).exists():
        return None
    last = read_json(run_dir / LAST_POINTER)
    state = torch.load(run_dir / last["folder"] / STATE, map_location=device, weights_only=True)
    done = read_metrics(run_dir)
    return {"epoch": last["epoch"], "best": last["best"], "state": state,
            "history": done[done["epoch"] <= last["epoch"]].to_dict("records")}


def load_checkpoint(model: nn.Module, run_dir: str | Path, which: str = "best") -> dict:
    """Load the run's ``best`` or ``last`` weights into ``model``; returns the checkpoint's info."""
    from safetensors.torch import load_file

    run_dir = Path(run_dir)
    if which == "best":
        folder, info_file = run_dir / BEST, run_dir / BEST / BEST_INFO
    elif which == "last":
        info_file = run_dir / LAST_POINTER
        folder = run_dir / read_json(info_file)["folder"] if info_file.exists() else None
    else:
        raise ConfigError(f"checkpoint must be 'best' or 'last', not {which!r}")
    if folder is None or not (folder / WEIGHTS).exists():
        raise HarmonyError(f"no {which} checkpoint", run_dir)
    getattr(model, "module", model).load_state_dict(load_file(str(folder / WEIGHTS)))
    return read_json(info_file)


def best_checkpoint(run_dir: Path) -> Path:
    """The selected checkpoint's weights file; :class:`HarmonyError` if the run finished no epoch."""
    path = Path(run_dir) / BEST / WEIGHTS
    if not path.exists():
        raise HarmonyError(f"no best checkpoint ({BEST}/{WEIGHTS}): the run did not finish an epoch", run_dir)
    return path


# ------------------------------------------------------------------------------- the model input
def save_model_input(run_dir: str | Path, model_input: nn.Module, profile, mean: float, std: float,
                     window: float) -> None:
    """Record how the run's model input is made, so ``predict.load_predictor`` can rebuild it: the profile
    and training mean/std given to ``inputs.make_input``, the module's own ``options`` where it has them
    (e.g. an MFCC count other than the profile's), the window in seconds, the module's fitted state."""
    run_dir = Path(run_dir)
    _save_state_dict(run_dir / INPUT_STATE, model_input)
    io.write_json(run_dir / INPUT_RECORD, {"profile": getattr(profile, "name", profile), "mean": float(mean),
                                           "std": float(std), "window": float(window),
                                           "options": dict(getattr(model_input, "options", {}))})


def read_model_input(run_dir: Path) -> tuple[dict, Path]:
    """(the input record, the path of the input module's state) of a run folder."""
    run_dir = Path(run_dir)
    if not (run_dir / INPUT_RECORD).exists():
        raise HarmonyError(f"missing {INPUT_RECORD} (how the model's input is made): the training notebook "
                           "records it with harmonylib.runs.save_model_input", run_dir)
    return read_json(run_dir / INPUT_RECORD), run_dir / INPUT_STATE


# ------------------------------------------------------------------------------- predictions
def predictions_path(run_dir: Path, dataset: str, split: str) -> Path:
    return Path(run_dir) / f"predictions_{dataset}_{split}.npz"


def save_predictions(run_dir: str | Path, dataset: str, split: str, window: dict[str, np.ndarray], clip_ids,
                     groups=None) -> Path:
    """Window probabilities (``probs``, ``targets``, ``clip_index`` of ``train.predict_windows``) of one split
    of one data set as the run's predictions file (format: module docstring), written atomically."""
    path = predictions_path(run_dir, dataset, split)
    clip_ids = np.asarray([str(c) for c in clip_ids])
    n_clips = len(clip_ids)
    index = np.asarray(window["clip_index"], dtype=np.int64)
    if index.min() < 0 or index.max() >= n_clips:
        raise HarmonyError(f"clip_index out of range for {n_clips} clip ids", path)
    labels = np.zeros((n_clips, NUM_CLASSES), dtype=np.int8)
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


@dataclass(frozen=True)
class Predictions:
    """One run's predictions on one split of one data set, clips sorted by ``clip_ids``."""

    clip_ids: np.ndarray
    groups: np.ndarray
    labels: np.ndarray
    window_probs: list[np.ndarray]
    path: Path

    def scores(self, strategy: str = "S2") -> np.ndarray:
        """Aggregated clip scores (n_clips, 11)."""
        return aggregate(self.window_probs, strategy)

    def binarize(self, strategy: str = "S2", threshold=0.5) -> np.ndarray:
        """0/1 predictions of the aggregated clip scores at ``threshold``."""
        return binarize(self.scores(strategy), threshold)


def _default_groups(clip_ids: np.ndarray, dataset: str) -> np.ndarray:
    from .data.irmas import song_of

    if dataset == "audioset":
        return clip_ids.astype(str)
    return np.array([song_of(Path(c).stem) for c in clip_ids.astype(str)])


def read_predictions(path: Path, dataset: str = "irmas") -> Predictions:
    """Read and check one predictions file; ``dataset`` names the songs' rule where it has no ``groups``."""
    path = Path(path)
    if not path.exists():
        raise MissingRunError("prediction file does not exist", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in ("clip_ids", "labels", "probs", "clip_index")}
            groups = npz["groups"] if "groups" in npz.files else None
    except KeyError as error:
        raise HarmonyError(f"prediction file lacks the array {error}", path) from None
    except (ValueError, OSError, EOFError) as error:
        raise HarmonyError(f"unreadable prediction file ({error})", path) from None
    clip_ids = data["clip_ids"].astype(str)
    n = len(clip_ids)
    groups = _default_groups(clip_ids, dataset) if groups is None else groups.astype(str)
    probs = data["probs"].astype(np.float64)
    index = data["clip_index"].astype(np.int64)
    problems = []
    if groups.shape != (n,) or data["labels"].shape != (n, NUM_CLASSES):
        problems.append(f"groups {groups.shape} / labels {data['labels'].shape} do not match {n} clips")
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or not np.all(np.isfinite(probs)) \
            or probs.min(initial=0) < 0 or probs.max(initial=0) > 1:
        problems.append(f"probs must be finite sigmoid outputs of shape (n_windows, {NUM_CLASSES})")
    elif index.shape != (len(probs),) or not np.array_equal(np.unique(index), np.arange(n)):
        problems.append("clip_index must give every window's clip, with at least one window per clip")
    if not np.isin(data["labels"], (0, 1)).all():
        problems.append("labels must be multi-hot (0/1)")
    if len(set(clip_ids.tolist())) != n:
        problems.append("clip_ids repeat")
    if problems:
        raise HarmonyError("; ".join(problems), path)
    order = np.argsort(clip_ids, kind="stable")
    by_window = np.argsort(index, kind="stable")  # windows of a clip stay in their recorded order
    blocks = np.split(probs[by_window], np.cumsum(np.bincount(index, minlength=n))[:-1])
    return Predictions(clip_ids[order], groups[order], data["labels"][order].astype(np.int8),
                       [blocks[i] for i in order], path)


# ------------------------------------------------------------------------------- the reader
@dataclass(frozen=True)
class Run:
    """A finished run folder: its configuration, summary, metrics and predictions. Open with :func:`open_run`."""

    path: Path
    config: dict
    summary: dict
    label: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def metrics(self) -> pd.DataFrame:
        return read_metrics(self.path)

    @property
    def parameters(self) -> dict:
        """The notebook parameters recorded with the run (dataset, window, sampling ...)."""
        return self.config.get("settings", {}).get("extra", {})

    @property
    def train_dataset(self) -> str:
        return self.parameters.get("dataset", "irmas")

    def predictions(self, dataset: str = "irmas", split: str = "test") -> Predictions:
        path = predictions_path(self.path, dataset, split)
        if not path.exists():
            raise MissingRunError(f"run {self.name!r} has no {dataset} {split} predictions; was it run with "
                                  f"eval_datasets including {dataset!r}?", path)
        return read_predictions(path, dataset)


def open_run(run_dir: str | Path, label: str = "", how_to_make: str = "") -> Run:
    """The finished run in ``run_dir``; :class:`MissingRunError` saying what is missing, followed by
    ``how_to_make`` (the command that produces the run), where the run has not been made or not finished."""
    run_dir = Path(run_dir)
    summary = finished_summary(run_dir) if (run_dir / CONFIG).exists() else None
    if summary is None:
        state = (f"has not been run (no {CONFIG})" if not (run_dir / CONFIG).exists()
                 else f"has not finished ({SUMMARY} missing or not 'finished')")
        raise MissingRunError(f"run {run_dir.name!r} {state}." + (f" Produce it with:\n  {how_to_make}"
                                                                   if how_to_make else ""), run_dir)
    return Run(run_dir, read_json(run_dir / CONFIG), summary, label)
