"""Chapter 5: from window probabilities to clip predictions, metrics, confidence intervals and tests.

Used by the training notebooks (30-34, validation) and the evaluation notebooks 50-57.

* :func:`aggregate` turns the sigmoid outputs of a clip's windows into one score per class
  (S1 / S2 of Han et al. 2017, report 4.7); :func:`predict` thresholds them (0.5 as in the report).
* :func:`multilabel_metrics` computes the report's metrics (5.1) with scikit-learn.
* :func:`tune_thresholds` picks thresholds on *validation* scores (never on test).
* :func:`bootstrap_ci` and :func:`paired_test` resample *songs*, not clips: excerpts of one song
  share instruments, recording and mix, so they are not independent, and resampling them one by
  one would give intervals that are too narrow.

Zero division. Every macro average runs over all eleven classes in ``CLASSES`` order. A class's
precision is 0 when it is never predicted, its recall is 0 when it never occurs, and its F1 is 0
when it is neither predicted nor present (scikit-learn's ``zero_division=0``, passed explicitly).
A subset of clips in which a class never occurs therefore has a lower macro score than one in which
it does; the IRMAS test split contains every class. ``jaccard_samples`` scores a clip with no true
and no predicted label as 0 for the same reason.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .labels import CLASSES, NUM_CLASSES

STRATEGIES = ("S1", "S2")
METRICS = ("hamming_score", "exact_match", "macro_f1", "macro_precision", "macro_recall", "micro_f1",
           "jaccard_samples")
METRIC_LABELS = {
    "hamming_score": "Hamming score",
    "exact_match": "exact match",
    "macro_f1": "macro F1",
    "macro_precision": "macro precision",
    "macro_recall": "macro recall",
    "micro_f1": "micro F1",
    "jaccard_samples": "Jaccard (samples)",
}
ZERO_DIVISION = 0.0


def _window_matrix(window_probs) -> np.ndarray:
    probs = np.asarray(window_probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or probs.shape[0] == 0:
        raise ValueError(f"window probabilities must have shape (n_windows >= 1, {NUM_CLASSES}), got {probs.shape}")
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.max() > 1:
        raise ValueError("window probabilities must be finite and within [0, 1] (sigmoid outputs)")
    return probs


def aggregate(window_probs, strategy: str = "S2") -> np.ndarray:
    """Clip scores from the sigmoid outputs of its windows (report 4.7).

    ``window_probs`` is one clip's array of shape (n_windows, 11) -> scores (11,), or a list of
    such arrays (clips may have different numbers of windows) -> (n_clips, 11).

    S1: the class-wise mean. S2: the class-wise sum divided by its maximum over classes, so the
    strongest class always scores 1 and the others are judged relative to it. A clip whose windows
    are all exactly 0 has no strongest class; S2 returns zeros for it (no class predicted) instead
    of dividing 0 by 0.

    >>> aggregate([[0.2] * 10 + [0.6], [0.4] * 10 + [0.2]], "S2")[[0, 10]].round(3).tolist()
    [0.75, 1.0]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown aggregation strategy {strategy!r}; choose one of {STRATEGIES}")
    if isinstance(window_probs, (list, tuple)) and window_probs and np.ndim(window_probs[0]) == 2:
        return np.stack([aggregate(clip, strategy) for clip in window_probs])
    probs = _window_matrix(window_probs)
    if strategy == "S1":
        return probs.mean(axis=0)
    sums = probs.sum(axis=0)
    top = sums.max()
    return sums / top if top > 0 else np.zeros(NUM_CLASSES)


def predict(scores, threshold=0.5) -> np.ndarray:
    """Binary predictions: a class is predicted when its score exceeds the threshold.

    ``threshold`` is one number or one per class (shape (11,)). "Over the threshold" as in the
    report: with S2 the top class scores 1 and is always predicted for thresholds below 1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    threshold = np.asarray(threshold, dtype=np.float64)
    if threshold.ndim not in (0, 1) or (threshold.ndim == 1 and threshold.shape != (NUM_CLASSES,)):
        raise ValueError(f"threshold must be a number or an array of {NUM_CLASSES}, got shape {threshold.shape}")
    return (scores > threshold).astype(np.int8)


def _binary_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != NUM_CLASSES:
        raise ValueError(f"y_true and y_pred must both have shape (n_clips, {NUM_CLASSES}); "
                         f"got {y_true.shape} and {y_pred.shape}")
    if y_true.shape[0] == 0:
        raise ValueError("no clips to evaluate")
    for name, array in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.isin(array, (0, 1)).all():
            raise ValueError(f"{name} must be multi-hot (0/1); threshold scores with predict() first")
    return y_true.astype(np.int8), y_pred.astype(np.int8)


def multilabel_metrics(y_true, y_pred) -> dict:
    """The report's metrics (5.1) plus micro F1, Jaccard and per-class scores, with scikit-learn.

    Returns a dict with ``hamming_score`` (1 - Hamming loss: label-wise accuracy, the competition's
    metric), ``exact_match`` (subset accuracy), ``macro_f1``, ``macro_precision``, ``macro_recall``,
    ``micro_f1``, ``jaccard_samples`` and ``f1_per_class`` / ``precision_per_class`` /
    ``recall_per_class`` / ``support_per_class`` (dicts class code -> value). Zero division: see the
    module docstring.
    """
    y_true, y_pred = _binary_pair(y_true, y_pred)
    zd = {"zero_division": ZERO_DIVISION}
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=list(range(NUM_CLASSES)), **zd)
    return {
        "hamming_score": 1.0 - float(skm.hamming_loss(y_true, y_pred)),
        "exact_match": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", **zd)),
        "macro_precision": float(skm.precision_score(y_true, y_pred, average="macro", **zd)),
        "macro_recall": float(skm.recall_score(y_true, y_pred, average="macro", **zd)),
        "micro_f1": float(skm.f1_score(y_true, y_pred, average="micro", **zd)),
        "jaccard_samples": float(skm.jaccard_score(y_true, y_pred, average="samples", **zd)),
        "f1_per_class": dict(zip(CLASSES, map(float, f1))),
        "precision_per_class": dict(zip(CLASSES, map(float, precision))),
        "recall_per_class": dict(zip(CLASSES, map(float, recall))),
        "support_per_class": dict(zip(CLASSES, map(int, support))),
    }
