"""Chapter 5: from window probabilities to clip predictions, metrics, confidence intervals and tests.

Used by the training notebooks (30-34, validation) and the evaluation notebooks 50-57.

* :func:`aggregate` turns the sigmoid outputs of a clip's windows into one score per class
  (S1 / S2 of Han et al. 2017, report 4.7); :func:`binarize` thresholds them (0.5 as in the report).
* :func:`multilabel_metrics` computes the report's metrics (5.1) with scikit-learn.
* :func:`tune_thresholds` picks thresholds on *validation* scores (never on test).
* :func:`bootstrap_ci` and :func:`paired_test` resample *songs*, not clips: excerpts of one song
  share instruments, recording and mix, so they are not independent, and resampling them one by
  one would give intervals that are too narrow.

Classes present. Every macro average (F1, precision, recall) runs over the classes that occur in the
clips scored, in ``CLASSES`` order: a class with no true label in them has no recall and no F1 to
speak of, so it is left out rather than counted as 0 (scikit-learn's ``labels=`` restricted to the
classes present). This matters for the intervals: the synthetic test splits hold some classes in one
or two songs, and a bootstrap resample that misses such a class would otherwise score it 0 and drag
the interval down (a test set with perfect predictions would get an interval below 1). A class's
per-class F1 is undefined (NaN) in clips without it, and its interval comes from the resamples that
contain it. Within a present class, precision is 0 when the class is never predicted (scikit-learn's
``zero_division=0``, passed explicitly); a false positive of an absent class still counts against
the Hamming score, exact match, micro F1 and Jaccard, which average over clips or labels, not
classes. ``jaccard_samples`` scores a clip with no true and no predicted label as 0.
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
PER_CLASS_F1 = tuple(f"f1_{code}" for code in CLASSES)  # per-class F1 as resamplable metric names
METRIC_LABELS.update({name: f"F1 {code}" for name, code in zip(PER_CLASS_F1, CLASSES)})
ZERO_DIVISION = 0.0
PER_CLASS_CAPTION = ("support = test clips with the class; a class without test clips has no F1 (empty) "
                     "and macro averages the classes present")


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


def binarize(scores, threshold=0.5) -> np.ndarray:
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
            raise ValueError(f"{name} must be multi-hot (0/1); threshold scores with binarize() first")
    return y_true.astype(np.int8), y_pred.astype(np.int8)


def classes_present(y_true) -> np.ndarray:
    """Indices of the classes with at least one true label in ``y_true`` (the classes macro averages run over)."""
    present = np.flatnonzero(np.asarray(y_true).sum(axis=0) > 0)
    if not len(present):
        raise ValueError("no clip has a true label: macro metrics are undefined")
    return present


def multilabel_metrics(y_true, y_pred) -> dict:
    """The report's metrics (5.1) plus micro F1, Jaccard and per-class scores, with scikit-learn.

    Returns a dict with ``hamming_score`` (1 - Hamming loss: label-wise accuracy, the competition's
    metric), ``exact_match`` (subset accuracy), ``macro_f1``, ``macro_precision``, ``macro_recall``,
    ``micro_f1``, ``jaccard_samples`` and ``f1_per_class`` / ``precision_per_class`` /
    ``recall_per_class`` / ``support_per_class`` (dicts class code -> value). Macro averages run over
    the classes present in ``y_true``; the per-class scores of an absent class are NaN (module docstring).
    """
    y_true, y_pred = _binary_pair(y_true, y_pred)
    zd = {"zero_division": ZERO_DIVISION}
    present = {"labels": classes_present(y_true), **zd}
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=list(range(NUM_CLASSES)), **zd)
    undefined = support == 0
    precision, recall, f1 = (np.where(undefined, np.nan, score) for score in (precision, recall, f1))
    return {
        "hamming_score": 1.0 - float(skm.hamming_loss(y_true, y_pred)),
        "exact_match": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", **present)),
        "macro_precision": float(skm.precision_score(y_true, y_pred, average="macro", **present)),
        "macro_recall": float(skm.recall_score(y_true, y_pred, average="macro", **present)),
        "micro_f1": float(skm.f1_score(y_true, y_pred, average="micro", **zd)),
        "jaccard_samples": float(skm.jaccard_score(y_true, y_pred, average="samples", **zd)),
        "f1_per_class": dict(zip(CLASSES, map(float, f1))),
        "precision_per_class": dict(zip(CLASSES, map(float, precision))),
        "recall_per_class": dict(zip(CLASSES, map(float, recall))),
        "support_per_class": dict(zip(CLASSES, map(int, support))),
    }


# ---------------------------------------------------------------- thresholds tuned on validation
DEFAULT_GRID = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))


def tune_thresholds(val_scores, val_true, per_class: bool = True, grid: Sequence[float] = DEFAULT_GRID) -> np.ndarray:
    """Thresholds that maximise F1 on the *validation* clips (never call this with test data).

    ``per_class=True``: each class gets the grid value maximising its own F1; ``False``: one value
    for all classes, maximising macro F1. Ties go to the value closest to the report's 0.5, so a
    class that validation says nothing about keeps 0.5. Returns an array of 11 thresholds for
    :func:`binarize`.
    """
    scores = np.asarray(val_scores, dtype=np.float64)
    y_true = np.asarray(val_true)
    if scores.shape != y_true.shape or scores.ndim != 2 or scores.shape[1] != NUM_CLASSES:
        raise ValueError(f"validation scores and labels must both have shape (n_clips, {NUM_CLASSES})")
    grid = np.asarray(grid, dtype=np.float64)
    # f1[g, c]: F1 of class c at grid value g
    f1 = np.stack([skm.f1_score(y_true, binarize(scores, t), average=None, labels=list(range(NUM_CLASSES)),
                                zero_division=ZERO_DIVISION) for t in grid])
    closeness = -np.abs(grid - 0.5)
    if per_class:
        best = [np.lexsort((closeness, f1[:, c]))[-1] for c in range(NUM_CLASSES)]
        return grid[best]
    return np.full(NUM_CLASSES, grid[np.lexsort((closeness, f1.mean(axis=1)))[-1]])


# ---------------------------------------------------------------- song-level resampling
# Every metric of METRICS is a function of sums over clips of the per-clip counts below, so a
# resample of songs is a weighted sum of per-song counts: thousands of resamples cost one matrix
# product. tests/test_evaluate.py checks the result against multilabel_metrics (scikit-learn).
def _clip_counts(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per clip: tp (11), fp (11), fn (11), exact match, Jaccard, 1 (the clip count)."""
    tp = y_true & y_pred
    fp = (1 - y_true) & y_pred
    fn = y_true & (1 - y_pred)
    union = (y_true | y_pred).sum(axis=1)
    jaccard = np.divide(tp.sum(axis=1), union, out=np.zeros(len(union)), where=union > 0)
    exact = (y_true == y_pred).all(axis=1)
    return np.column_stack([tp, fp, fn, exact, jaccard, np.ones(len(y_true))]).astype(np.float64)


def _safe_ratio(num, den):
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, ZERO_DIVISION), where=den > 0)


def _mean_over_present(scores: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Mean of per-class ``scores`` over the ``present`` classes (NaN where none is present)."""
    n_present = present.sum(-1)
    total = np.where(present, scores, 0.0).sum(-1)
    return np.divide(total, n_present, out=np.full(n_present.shape, np.nan), where=n_present > 0)


def _metrics_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Metric values from summed counts of shape (..., 36); macro averages over the classes present."""
    k = NUM_CLASSES
    tp, fp, fn = counts[..., :k], counts[..., k:2 * k], counts[..., 2 * k:3 * k]
    exact, jaccard, n = counts[..., 3 * k], counts[..., 3 * k + 1], counts[..., 3 * k + 2]
    TP, FP, FN = tp.sum(-1), fp.sum(-1), fn.sum(-1)
    present = tp + fn > 0
    f1 = _safe_ratio(2 * tp, 2 * tp + fp + fn)
    return {
        **{name: np.where(present[..., c], f1[..., c], np.nan) for c, name in enumerate(PER_CLASS_F1)},
        "hamming_score": 1.0 - (FP + FN) / (n * k),
        "exact_match": exact / n,
        "macro_f1": _mean_over_present(f1, present),
        "macro_precision": _mean_over_present(_safe_ratio(tp, tp + fp), present),
        "macro_recall": _mean_over_present(_safe_ratio(tp, tp + fn), present),
        "micro_f1": _safe_ratio(2 * TP, 2 * TP + FP + FN),
        "jaccard_samples": jaccard / n,
    }


def _group_counts(y_true, y_pred, groups) -> np.ndarray:
    """Counts summed per group: shape (n_groups, 36), groups in sorted order."""
    y_true, y_pred = _binary_pair(y_true, y_pred)
    groups = np.asarray(groups)
    if groups.shape != (len(y_true),):
        raise ValueError(f"groups must give one song per clip: {groups.shape} for {len(y_true)} clips")
    classes_present(y_true)
    _, inverse = np.unique(groups, return_inverse=True)
    counts = _clip_counts(y_true, y_pred)
    summed = np.zeros((inverse.max() + 1, counts.shape[1]))
    np.add.at(summed, inverse, counts)
    return summed


def _resample_weights(n_groups: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each song is drawn in each bootstrap resample (songs drawn with replacement)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_resamples).astype(np.float64)


def _percentile_interval(samples, confidence: float) -> tuple[float, float]:
    """Percentile interval of the resamples in which the metric is defined (a per-class F1 is not
    where the resample lacks the class); NaN, NaN if it is defined in none."""
    samples = np.asarray(samples, dtype=np.float64)
    defined = samples[~np.isnan(samples)]
    if not len(defined):
        return np.nan, np.nan
    alpha = (1 - confidence) / 2
    low, high = np.quantile(defined, [alpha, 1 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class Interval:
    """A metric value on all clips with its bootstrap percentile interval."""

    metric: str
    value: float
    low: float
    high: float
    confidence: float


def _metric_fn(metric) -> tuple[str, Callable]:
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric not in METRICS + PER_CLASS_F1:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}, f1_<class> or pass a callable")
    return metric, None


def bootstrap_ci(y_true, y_pred, groups, metric="macro_f1", n_resamples: int = 1000, seed: int = 0,
                 confidence: float = 0.95) -> Interval:
    """Percentile bootstrap interval of ``metric``, resampling *groups* (songs) with replacement.

    All clips of a drawn song enter the resample together (as often as the song is drawn). Each
    resample's macro averages run over the classes present in it; a per-class F1's interval comes
    from the resamples that contain the class. ``metric`` is a name from :data:`METRICS`, ``f1_<class>``
    or a callable ``f(y_true, y_pred) -> float``.
    """
    name, fn = _metric_fn(metric)
    if fn is None:
        counts = _group_counts(y_true, y_pred, groups)
        value = float(_metrics_from_counts(counts.sum(0))[name])
        samples = _metrics_from_counts(_resample_weights(len(counts), n_resamples, seed) @ counts)[name]
    else:
        y_true, y_pred = _binary_pair(y_true, y_pred)
        members = _members(groups, len(y_true))
        rng = np.random.default_rng(seed)
        value = float(fn(y_true, y_pred))
        samples = []
        for _ in range(n_resamples):
            idx = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
            samples.append(fn(y_true[idx], y_pred[idx]))
    low, high = _percentile_interval(samples, confidence)
    return Interval(name, value, low, high, confidence)


def _members(groups, n: int) -> list[np.ndarray]:
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"groups must give one song per clip: {groups.shape} for {n} clips")
    _, inverse = np.unique(groups, return_inverse=True)
    return [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]


@dataclass(frozen=True)
class PairedResult:
    """System A minus system B on the same clips: the difference, its bootstrap CI and a p-value."""

    metric: str
    value_a: float
    value_b: float
    difference: float
    low: float
    high: float
    p_value: float
    method: str
    n_resamples: int


def paired_test(y_true, pred_a, pred_b, groups, metric: str = "macro_f1", method: str = "permutation",
                n_resamples: int = 2000, seed: int = 0, confidence: float = 0.95) -> PairedResult:
    """Is system A's ``metric`` different from system B's on the same clips? (two-sided)

    The interval of the difference always comes from a paired bootstrap over songs (both systems
    see the same resampled songs). The p-value comes from ``method``:

    * ``"permutation"``: under the null hypothesis that A and B are exchangeable, each song's
      predictions are swapped between A and B with probability 1/2 (all clips of a song together);
      p = (1 + #{|d*| >= |d|}) / (1 + n_resamples).
    * ``"bootstrap"``: twice the smaller tail of the paired bootstrap distribution beyond 0.
    """
    if method not in ("permutation", "bootstrap"):
        raise ValueError(f"unknown method {method!r}; choose 'permutation' or 'bootstrap'")
    name, fn = _metric_fn(metric)
    if fn is not None:
        raise ValueError("paired_test takes a metric name from METRICS")
    counts_a = _group_counts(y_true, pred_a, groups)
    counts_b = _group_counts(y_true, pred_b, groups)
    value_a = float(_metrics_from_counts(counts_a.sum(0))[name])
    value_b = float(_metrics_from_counts(counts_b.sum(0))[name])
    if np.isnan(value_a) or np.isnan(value_b):
        raise ValueError(f"{name} is undefined on these clips (its class never occurs): nothing to test")
    observed = value_a - value_b
    weights = _resample_weights(len(counts_a), n_resamples, seed)
    boot = _metrics_from_counts(weights @ counts_a)[name] - _metrics_from_counts(weights @ counts_b)[name]
    low, high = _percentile_interval(boot, confidence)
    if method == "permutation":
        swap = np.random.default_rng(seed + 1).integers(0, 2, size=(n_resamples, len(counts_a))).astype(np.float64)
        perm_a = (1 - swap) @ counts_a + swap @ counts_b
        perm_b = swap @ counts_a + (1 - swap) @ counts_b
        null = _metrics_from_counts(perm_a)[name] - _metrics_from_counts(perm_b)[name]
        # a small tolerance so that floating-point noise in equal differences counts as "as extreme"
        p_value = (1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + n_resamples)
    else:
        boot = boot[~np.isnan(boot)]
        p_value = min(1.0, 2 * min(np.mean(boot <= 0), np.mean(boot >= 0)))
    return PairedResult(name, value_a, value_b, observed, low, high, float(p_value), method,
                        n_resamples)


# ---------------------------------------------------------------- trivial baselines
BASELINES = ("predict nothing", "most frequent class", "all positive")
BASELINE_STYLES = {"predict nothing": ":", "most frequent class": "--", "all positive": "-."}


def trivial_baselines(y_true, most_frequent: str) -> dict[str, np.ndarray]:
    """What a model must beat to have learnt anything, as predictions for the clips of ``y_true``: no
    instrument on any clip, the training set's ``most_frequent`` class on every clip, every class on every
    clip (notebooks 50-57; :data:`BASELINES` order)."""
    y_true = np.asarray(y_true)
    frequent = np.zeros_like(y_true)
    frequent[:, CLASSES.index(most_frequent)] = 1
    return dict(zip(BASELINES, (np.zeros_like(y_true), frequent, np.ones_like(y_true))))


# ---------------------------------------------------------------- ensembles and error analysis
def ensemble_scores(*clip_scores, weights: Sequence[float] | None = None) -> np.ndarray:
    """The ensemble of several systems: the (weighted) mean of their *aggregated* clip scores.

    Averaging clip scores rather than window probabilities lets models with different windows
    (the report's final candidates use 1-s and 3-s windows) be combined. Each input has shape
    (n_clips, 11), rows aligned on the same clips; threshold the result with :func:`binarize`.
    """
    if len(clip_scores) < 2:
        raise ValueError("an ensemble needs at least two systems")
    arrays = [np.asarray(s, dtype=np.float64) for s in clip_scores]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"systems must score the same clips: shapes {[a.shape for a in arrays]}")
    return np.average(np.stack(arrays), axis=0, weights=weights)


def cooccurrence_errors(y_true, y_pred) -> pd.DataFrame:
    """Where a model errs because of what else plays: one row per ordered class pair (a, b).

    ``fp_rate``: of the clips where b plays and a does not, the share in which a is predicted
    (a false positive of a "caused" by b); ``fp_rate_without_b``: the same share where neither
    plays, the baseline to compare with. ``fn_rate``: of the clips where both play, the share in
    which a is missed. Rates over no clips are NaN (shown blank), counts say how many clips.
    """
    y_true, y_pred = _binary_pair(y_true, y_pred)
    rows = []
    for a, code_a in enumerate(CLASSES):
        for b, code_b in enumerate(CLASSES):
            if a == b:
                continue
            with_b = (y_true[:, b] == 1) & (y_true[:, a] == 0)
            without_b = (y_true[:, b] == 0) & (y_true[:, a] == 0)
            both = (y_true[:, b] == 1) & (y_true[:, a] == 1)
            rows.append({
                "class": code_a, "present": code_b,
                "clips_b_not_a": int(with_b.sum()), "false_positives": int(y_pred[with_b, a].sum()),
                "fp_rate": y_pred[with_b, a].mean() if with_b.any() else np.nan,
                "fp_rate_without_b": y_pred[without_b, a].mean() if without_b.any() else np.nan,
                "clips_both": int(both.sum()), "misses": int((1 - y_pred[both, a]).sum()),
                "fn_rate": (1 - y_pred[both, a]).mean() if both.any() else np.nan,
            })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- tables for the notebooks
def metric_table(systems: dict[str, tuple[np.ndarray, np.ndarray]], groups, metrics: Sequence[str] = METRICS,
                 n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Long table (system, metric, value, ci_low, ci_high) for ``systems``: name -> (y_true, y_pred).

    ``groups`` is one array of songs for all systems, or a dict name -> songs (cross-dataset runs).
    Every system is resampled with the same seed, so the intervals are comparable.
    """
    rows = []
    for system, (y_true, y_pred) in systems.items():
        songs = groups[system] if isinstance(groups, dict) else groups
        counts = _group_counts(y_true, y_pred, songs)
        values = _metrics_from_counts(counts.sum(0))
        samples = _metrics_from_counts(_resample_weights(len(counts), n_resamples, seed) @ counts)
        for metric in metrics:
            low, high = _percentile_interval(samples[metric], confidence)
            rows.append({"system": system, "metric": metric, "value": float(values[metric]),
                         "ci_low": float(low), "ci_high": float(high)})
    return pd.DataFrame(rows)


def comparison_table(systems: dict[str, tuple[np.ndarray, np.ndarray]], pairs: Sequence[tuple[str, str]], groups,
                     metrics: Sequence[str] = ("macro_f1",), n_resamples: int = 2000, seed: int = 0,
                     confidence: float = 0.95, method: str = "permutation") -> pd.DataFrame:
    """Paired tests A vs B for each pair and metric, with Holm-adjusted p-values over the table.

    Both systems of a pair must be evaluated on the same clips with the same labels; ``groups`` is
    one array of songs or a dict system name -> songs, as for :func:`metric_table`.
    """
    from statsmodels.stats.multitest import multipletests

    rows = []
    for a, b in pairs:
        songs = groups[a] if isinstance(groups, dict) else groups
        y_true, pred_a = systems[a]
        y_true_b, pred_b = systems[b]
        if np.shape(y_true) != np.shape(y_true_b) or not np.array_equal(y_true, y_true_b):
            raise ValueError(f"{a!r} and {b!r} are not evaluated on the same clips; a paired test needs them to be")
        for metric in metrics:
            r = paired_test(y_true, pred_a, pred_b, songs, metric, method, n_resamples, seed, confidence)
            rows.append({"system_a": a, "system_b": b, "metric": metric, "value_a": r.value_a, "value_b": r.value_b,
                         "difference": r.difference, "ci_low": r.low, "ci_high": r.high, "p_value": r.p_value})
    table = pd.DataFrame(rows)
    if len(table):
        table["p_holm"] = multipletests(table["p_value"], method="holm")[1]
    return table


def detectable_difference(tests: pd.DataFrame, metric: str = "macro_f1", power: float = 0.8, alpha: float = 0.05,
                          confidence: float = 0.95, family: int | None = None) -> float:
    """The smallest true difference in ``metric`` that a paired test like those of ``tests``
    (:func:`comparison_table`) detects with probability ``power`` when it must pass Holm's first step over a
    table of ``family`` tests (default: every row of ``tests``): two-sided level ``alpha / family``. That is
    ``z(1 - alpha / (2 family)) + z(power)`` standard errors, the standard error read off the median
    half-width of the rows' ``confidence`` intervals of ``metric`` (``z(1/2 + confidence/2)`` standard errors
    each). It holds for systems that disagree as often as the median pair here. NaN where ``tests`` has no
    test of ``metric``. Notebooks 50-54 and 57.

    >>> tests = pd.DataFrame({"metric": ["macro_f1"], "ci_low": [-0.0196], "ci_high": [0.0196]})
    >>> round(detectable_difference(tests), 4)
    0.028
    """
    from scipy.stats import norm

    rows = tests[tests["metric"] == metric]
    if rows.empty:
        return float("nan")
    family = len(tests) if family is None else family
    standard_error = ((rows["ci_high"] - rows["ci_low"]) / 2).median() / norm.ppf(0.5 + confidence / 2)
    return float(standard_error * (norm.ppf(1 - alpha / (2 * family)) + norm.ppf(power)))


def per_class_f1(systems: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Per-class F1 of each system (rows: classes in CLASSES order plus 'macro'; a support column)."""
    table = pd.DataFrame({"class": list(CLASSES) + ["macro"]})
    for system, (y_true, y_pred) in systems.items():
        m = multilabel_metrics(y_true, y_pred)
        if "support" not in table:
            table["support"] = [m["support_per_class"][c] for c in CLASSES] + [int(np.sum(y_true))]
        table[system] = [m["f1_per_class"][c] for c in CLASSES] + [m["macro_f1"]]
    return table


def plot_metric_bars(table: pd.DataFrame, metrics: Sequence[str], ax, palette=None, systems: Sequence[str] | None = None,
                     annotate: bool = True, hatches: dict[str, str] | None = None,
                     baselines: dict[str, pd.DataFrame] | None = None):
    """Grouped bars of :func:`metric_table` output with the bootstrap intervals as error bars
    (``annotate``: print each value on its bar; ``palette`` / ``hatches``: system -> colour / hatch pattern).
    ``baselines``: system -> the :func:`metric_table` of the :func:`trivial_baselines` on its test clips, drawn
    as a black tick across the system's bar per baseline (line style: :data:`BASELINE_STYLES`)."""
    systems = list(systems or dict.fromkeys(table["system"]))
    palette = palette or dict(zip(systems, _default_colors(len(systems))))
    hatches = hatches or {}
    width = 0.8 / len(systems)
    x = np.arange(len(metrics))
    for i, system in enumerate(systems):
        rows = table[table["system"] == system].set_index("metric").loc[list(metrics)]
        err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
        positions = x + (i - (len(systems) - 1) / 2) * width
        ax.bar(positions, rows["value"], width, yerr=err, capsize=3, label=system, color=palette[system],
               hatch=hatches.get(system), edgecolor="black", linewidth=0.5, error_kw={"elinewidth": 0.9})
        reference_values = baselines.get(system) if baselines else None
        for name in BASELINES if reference_values is not None else ():
            values = reference_values[reference_values["system"] == name].set_index("metric").loc[list(metrics), "value"]
            ax.hlines(values, positions - width / 2, positions + width / 2, colors="black", linewidth=1.1,
                      linestyles=BASELINE_STYLES[name], zorder=4,
                      label=f"baseline: {name}" if i == len(systems) - 1 else None)
        for position, value, top in zip(positions, rows["value"], rows["ci_high"]) if annotate else ():
            # at the foot of a bar tall enough to hold it, clear of the error bar; above the error bar otherwise
            tall = value >= 0.15
            ax.text(position - width / 4 if tall else position, 0.015 if tall else top + 0.02, f"{value:.3f}",
                    rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, [METRIC_LABELS.get(m, m) for m in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("metric")
    ax.set_ylabel("score")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.text(1.02, 0.0, "error bars:\nbootstrap CI\nover songs", transform=ax.transAxes, fontsize=7, va="bottom")
    ax.grid(axis="x", visible=False)
    return ax


def _default_colors(n: int):
    import seaborn as sns

    return sns.color_palette("colorblind", n)
