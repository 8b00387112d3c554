"""Fake run folders in the format of ``harmonylib.runs`` (synthetic predictions, no training).

They let the evaluation notebooks 50-57 and their tests run before (or without) the training grid:

    HARMONY_BUILD_DIR=/tmp/x-build .venv/bin/python tests/fake_runs.py --profile smoke

Each run's window probabilities are drawn around the true labels with a run-specific amount of
noise, so some systems are clearly better than others. Nothing here is a result.
"""
from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harmonylib import paths, runs  # noqa: E402
from harmonylib.config import get_profile  # noqa: E402
from harmonylib.grid import BY_NAME, experiments_for, run_name  # noqa: E402
from harmonylib.labels import NUM_CLASSES  # noqa: E402

# How well each fake model separates present from absent classes (higher: better).
QUALITY = {"raw_cnn": 0.8, "mfcc_cnn": 0.7, "features_cnn": 0.5, "resnet50": 1.6, "ast": 1.4}


def _clips(dataset: str, split: str, n_songs: int, rng: np.random.Generator):
    """Clip ids, songs, labels and durations of a fake test/val split (the same for every run)."""
    ids, songs, labels, durations = [], [], [], []
    for s in range(n_songs):
        present = rng.choice(NUM_CLASSES, size=int(rng.integers(1, 4)), replace=False)
        excerpts = 1 if dataset == "audioset" else int(rng.integers(1, 4))
        for k in range(excerpts):
            song = f"{dataset}_{split}_song{s:03d}"
            ids.append(song if dataset == "audioset" else f"{song}-{k + 1}")
            songs.append(song)
            y = np.zeros(NUM_CLASSES, np.uint8)
            y[present] = 1
            labels.append(y)
            durations.append(10.0 if dataset == "audioset" else float(rng.uniform(5, 20)))
    return np.array(ids), np.array(songs), np.stack(labels), np.array(durations)


def fake_predictions(folder: Path, dataset: str, split: str, window: int, quality: float, seed: int,
                     n_songs: int = 12) -> Path:
    """The predictions of one split of one data set, written by the run folder's own ``save_predictions``."""
    ids, songs, labels, durations = _clips(dataset, split, n_songs, np.random.default_rng(zlib.crc32(
        f"{dataset}/{split}".encode())))
    rng = np.random.default_rng(seed)
    probs, targets, clip_index = [], [], []
    for i, (y, duration) in enumerate(zip(labels, durations)):
        n = max(1, int(duration // window))
        clip = rng.normal(np.where(y == 1, quality, -quality), 1.5)  # the clip's difficulty, shared by its windows
        logits = clip + rng.normal(0, 1.5, size=(n, NUM_CLASSES))
        probs.append(1 / (1 + np.exp(-logits)))
        targets.append(np.tile(y, (n, 1)))
        clip_index += [i] * n
    window = {"probs": np.concatenate(probs), "targets": np.concatenate(targets), "clip_index": np.array(clip_index)}
    return runs.save_predictions(folder, dataset, split, window, ids, songs)


def write_fake_run(name: str, profile: str, n_songs: int = 12) -> Path:
    """One fake run folder of experiment ``name`` at ``profile`` (configuration, summary, metrics, predictions)."""
    experiment = BY_NAME[name]
    p = experiment.parameters
    folder = paths.runs_dir() / run_name(name, get_profile(profile))
    seed = zlib.crc32(name.encode())
    rng = np.random.default_rng(seed)
    quality = QUALITY[experiment.model] + (0.3 if p["sampling"] != "static" else 0.0)
    weights = "fake run (tests/fake_runs.py)"
    per_epoch = get_profile(profile).train.windows_per_epoch(experiment.model, p["window"])
    runs.write_config(folder, {"settings": {"model": experiment.model, "epochs": 3, "seed": seed,
                                            "samples_per_epoch": per_epoch, "extra": {**p, "run_name": folder.name}},
                                        "model": experiment.model, "weights": weights, "world_size": 1})
    epochs = np.arange(3)
    runs.write_metrics(folder, pd.DataFrame({
        "epoch": epochs, "train_loss": 0.5 / (epochs + 1), "val_loss": 0.4 + 0.05 * rng.random(3),
        "val_macro_f1": 0.3 + 0.1 * rng.random(3), "train_seconds": rng.uniform(1, 100, 3),
        "samples_per_second": rng.uniform(5, 500, 3)}))
    splits = [(p["dataset"], "val"), (p["dataset"], "test")] + [(d, "test") for d in p["eval_datasets"]]
    for i, (dataset, split) in enumerate(dict.fromkeys(splits)):
        fake_predictions(folder, dataset, split, p["window"], quality, seed + i, n_songs)
    runs.write_summary(folder, {
        "status": "finished", "model": experiment.model, "weights": weights,
        "parameters": int(rng.integers(10**5, 10**8)), "device": "cpu", "world_size": 1, "best_epoch": 2,
        "optimiser_steps": 600 if experiment.model == "ast" else 120,
        "seconds_per_epoch": float(rng.uniform(1, 100)), "samples_per_second": float(rng.uniform(5, 500)),
        "peak_memory_bytes": int(rng.uniform(2e8, 4e9)), "peak_memory_measure": "process max RSS (CPU)"})
    return folder


def write_fake_runs(profile: str, n_songs: int = 12) -> list[Path]:
    """Fake run folders for every experiment the profile runs."""
    return [write_fake_run(e.name, profile, n_songs) for e in experiments_for(get_profile(profile))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--songs", type=int, default=12)
    args = parser.parse_args()
    for folder in write_fake_runs(args.profile, args.songs):
        print(folder)
