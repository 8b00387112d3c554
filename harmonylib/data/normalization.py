"""Waveform mean and standard deviation for input normalisation (report 3.3; notebook 10).

The original code averaged per-file means and per-file standard deviations, which is not the
standard deviation of the training samples (it ignores the spread *between* files). Here the
statistics are pooled over every sample of every training clip, as the models see them (mono
mixdown at the native rate), with float64 running sums, and cached in a JSON file keyed by the
content of the file list, so a changed data set never reuses stale numbers.
"""
from __future__ import annotations

import json

import numpy as np

from .. import audio, io, paths


def pooled_stats(file_paths) -> tuple[float, float, int]:
    """Mean, standard deviation and sample count over all samples of all files (mono, native rate)."""
    total, total_sq, count = 0.0, 0.0, 0
    for p in file_paths:
        samples, _ = audio.load(p, mono=True)
        x = samples.astype(np.float64)
        total += float(x.sum())
        total_sq += float(np.dot(x, x))
        count += x.size
    if count == 0:
        raise ValueError("no samples to compute statistics from")
    mean = total / count
    return mean, float(np.sqrt(max(total_sq / count - mean * mean, 0.0))), count


def waveform_stats(file_paths, name: str) -> tuple[float, float]:
    """Cached :func:`pooled_stats` of a data set's training files (``build/cache/stats/<name>-<key>.json``)."""
    file_paths = list(file_paths)
    target = paths.cache_dir() / "stats" / f"{name}-{io.files_digest(sorted(map(str, file_paths)))}.json"
    if target.exists():
        cached = json.loads(target.read_text())
        return cached["mean"], cached["std"]
    mean, std, count = pooled_stats(file_paths)
    io.write_json(target, dict(mean=mean, std=std, samples=count, files=len(file_paths)))
    return mean, std
