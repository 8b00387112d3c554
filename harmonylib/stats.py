"""Statistics of chapter 2: label counts and co-occurrence (notebook 12) and the one-way ANOVA of
report 2.5 with what a statistician would add (notebook 13).

The tests come from scipy, pingouin and statsmodels; nothing here re-derives a test statistic.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from .labels import CLASS_INDEX, CLASSES


def class_counts(label_lists: Iterable[Iterable[str]]) -> pd.Series:
    """How many clips carry each class, indexed by CLASSES (zeros included). Notebook 12."""
    counts = pd.Series(0, index=pd.Index(CLASSES, name="class"), name="clips")
    for labels in label_lists:
        for code in labels:
            counts[code] += 1
    return counts


def labels_per_clip(label_lists: Iterable[Iterable[str]]) -> pd.Series:
    """Number of clips with 1, 2, ... labels (index: number of labels). Notebook 12."""
    sizes = pd.Series([len(tuple(labels)) for labels in label_lists], dtype=int)
    return sizes.value_counts().sort_index().rename_axis("labels per clip").rename("clips")


def label_cooccurrence(label_lists: Iterable[Iterable[str]]) -> pd.DataFrame:
    """Symmetric 11x11 count of clips in which two classes occur together (diagonal: 0). Notebook 12."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    for labels in label_lists:
        index = sorted({CLASS_INDEX[code] for code in labels})
        for a in index:
            for b in index:
                if a != b:
                    matrix[a, b] += 1
    return pd.DataFrame(matrix, index=pd.Index(CLASSES, name="class"), columns=pd.Index(CLASSES, name="class"))


def anova_table(values: np.ndarray, groups: Sequence[str], columns: Sequence[tuple[str, str]],
                alpha: float = 0.001) -> pd.DataFrame:
    """One row per column of ``values`` (clips x dimensions): one-way ANOVA across ``groups`` and more.

    ``F``, ``p``: classic one-way ANOVA (scipy.stats.f_oneway, equal variances assumed, as report 2.5).
    ``p_holm``: ``p`` adjusted for all the table's tests at once (Holm, statsmodels).
    ``welch_p``: Welch's ANOVA (pingouin), which drops the equal-variance assumption; NaN where it is
    undefined (a group with fewer than two clips, or with no variance in that column, gets an
    infinite weight), which notebook 13 counts and says.
    ``kruskal_p``: Kruskal-Wallis H test (scipy), which drops normality.
    ``eta2``: eta squared, the share of the dimension's variance explained by the group (pingouin).
    ``significant``: ``p_holm < alpha``. Raises ``ValueError`` for a column that is constant within
    every group, where none of these tests is defined. Notebook 13.
    """
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups)
    if values.ndim != 2 or values.shape[0] != groups.size or values.shape[1] != len(columns):
        raise ValueError(f"values {values.shape} must be (len(groups)={groups.size}, len(columns)={len(columns)})")
    levels = [g for g in CLASSES if g in set(groups)] + sorted(set(groups) - set(CLASSES))
    if len(levels) < 2:
        raise ValueError("ANOVA needs at least two groups")
    constant = [f"{f}/{d}" for j, (f, d) in enumerate(columns)
                if all(np.ptp(values[groups == g, j]) == 0 for g in levels)]
    if constant:
        raise ValueError(f"no test is defined for columns constant within every group: {', '.join(constant)}")
    samples = [values[groups == g] for g in levels]
    classic = sps.f_oneway(*samples, axis=0)
    kruskal = sps.kruskal(*samples, axis=0)
    welch_p, eta2 = [], []
    for j in range(values.shape[1]):
        frame = pd.DataFrame({"x": values[:, j], "g": groups})
        welch_defined = all(len(sample) >= 2 and np.ptp(sample[:, j]) > 0 for sample in samples)
        welch_p.append(float(pg.welch_anova(data=frame, dv="x", between="g")["p_unc"].iloc[0])
                       if welch_defined else float("nan"))
        eta2.append(float(pg.anova(data=frame, dv="x", between="g", effsize="n2")["n2"].iloc[0]))
    _, p_holm, _, _ = multipletests(classic.pvalue, alpha=alpha, method="holm")
    table = pd.DataFrame({
        "feature": [f for f, _ in columns],
        "dimension": [d for _, d in columns],
        "F": classic.statistic,
        "p": classic.pvalue,
        "p_holm": p_holm,
        "welch_p": welch_p,
        "kruskal_p": kruskal.pvalue,
        "eta2": eta2,
    })
    table["significant"] = table["p_holm"] < alpha
    return table


def tonnetz_verdict(table: pd.DataFrame) -> dict:
    """Does report 2.5's conclusion hold: every feature differs between instruments except tonnetz?

    Judged per feature, as the report does: a feature *differs* when at least one of its dimensions is
    significant. ``verdict`` is 'holds' (some tonnetz dimension is not significant and every other
    feature differs), 'partly' (tonnetz has non-significant dimensions, but some other feature does not
    differ either) or 'does not hold' (every tonnetz dimension is significant). ``weakest`` says whether
    tonnetz has the smallest median effect size of all features. Notebook 13.
    """
    is_tonnetz = table["feature"] == "tonnetz"
    if not is_tonnetz.any():
        raise ValueError("the ANOVA table has no tonnetz rows")
    tonnetz_ns = table.loc[is_tonnetz & ~table["significant"], "dimension"].tolist()
    differs = table[~is_tonnetz].groupby("feature", sort=False)["significant"].any()
    not_differing = differs.index[~differs].tolist()
    other_ns = table.loc[~is_tonnetz & ~table["significant"], ["feature", "dimension"]]
    median_eta2 = table.groupby("feature", sort=False)["eta2"].median().sort_values(kind="stable")
    verdict = "does not hold" if not tonnetz_ns else ("partly" if not_differing else "holds")
    return {
        "verdict": verdict,
        "tonnetz_not_significant": tonnetz_ns,
        "other_features_not_differing": not_differing,
        "other_dimensions_not_significant": [f"{f}/{d}" for f, d in other_ns.itertuples(index=False)],
        "weakest": median_eta2.index[0] == "tonnetz",
        "median_eta2": median_eta2,
    }
