"""harmonylib.stats against scipy/statsmodels on small known cases."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from harmonylib.labels import CLASSES
from harmonylib.stats import (anova_table, class_counts, label_cooccurrence, labels_per_clip,
                              tonnetz_verdict)


def known_case():
    rng = np.random.default_rng(7)
    groups = np.repeat(["cel", "gel", "vio"], [6, 8, 7])
    shifted = rng.normal(size=21) + np.where(groups == "gel", 3.0, 0.0)  # clearly different means
    same = rng.normal(size=21)  # equal means
    return np.column_stack([shifted, same]), groups, [("centroid", "value"), ("tonnetz", "m3_x")]


def test_anova_table_matches_scipy_f_oneway_and_kruskal():
    values, groups, columns = known_case()
    table = anova_table(values, groups, columns, alpha=0.001)
    assert tuple(table.columns) == ("feature", "dimension", "F", "p", "p_holm", "welch_p", "kruskal_p", "eta2",
                                    "significant")
    for j in range(2):
        samples = [values[groups == g, j] for g in ("cel", "gel", "vio")]
        f, p = sps.f_oneway(*samples)
        assert table.loc[j, "F"] == pytest.approx(f)
        assert table.loc[j, "p"] == pytest.approx(p)
        assert table.loc[j, "kruskal_p"] == pytest.approx(sps.kruskal(*samples).pvalue)
        grand = values[:, j].mean()
        ss_between = sum(s.size * (s.mean() - grand) ** 2 for s in samples)
        assert table.loc[j, "eta2"] == pytest.approx(ss_between / ((values[:, j] - grand) ** 2).sum())
    np.testing.assert_allclose(table["p_holm"], multipletests(table["p"], method="holm")[1])
    assert table["significant"].tolist() == [True, False]


def test_welch_differs_from_classic_when_variances_differ():
    rng = np.random.default_rng(3)
    groups = np.repeat(["cel", "gel"], [30, 6])
    x = np.concatenate([rng.normal(0, 0.1, 30), rng.normal(0.5, 3.0, 6)])
    table = anova_table(x[:, None], groups, [("rms", "value")])
    welch = sps.ttest_ind(x[:30], x[30:], equal_var=False).pvalue  # Welch's ANOVA on 2 groups = Welch's t-test
    assert table.loc[0, "welch_p"] == pytest.approx(welch, rel=1e-6)
    assert table.loc[0, "welch_p"] != pytest.approx(table.loc[0, "p"], rel=0.05)


def test_welch_is_nan_where_undefined_and_the_other_tests_still_run():
    groups = np.array(["cel", "cel", "gel", "gel", "vio"])  # vio has one clip: no variance to weigh by
    values = np.array([[1.0, 1.0], [2.0, 1.0], [5.0, 4.0], [6.0, 5.0], [3.0, 2.0]])
    table = anova_table(values, groups, [("rms", "value"), ("zcr", "value")])
    assert table["welch_p"].isna().all()
    assert table[["F", "p", "kruskal_p", "eta2"]].notna().all().all()
    defined = anova_table(values[:4], groups[:4], [("rms", "value"), ("zcr", "value")])
    assert defined["welch_p"].isna().tolist() == [False, True]  # zcr is constant within cel


def test_anova_table_rejects_constant_columns_and_bad_shapes():
    groups = np.repeat(["cel", "gel"], 3)
    with pytest.raises(ValueError, match="constant"):
        anova_table(np.ones((6, 1)), groups, [("flatness", "value")])
    with pytest.raises(ValueError):
        anova_table(np.ones((5, 1)), groups, [("flatness", "value")])


def verdict_table(tonnetz_sig, other_sig):
    rows = [("tonnetz", d, s, e) for d, s, e in tonnetz_sig] + [("mfcc", d, s, e) for d, s, e in other_sig]
    return pd.DataFrame(rows, columns=["feature", "dimension", "significant", "eta2"])


def test_tonnetz_verdict_judges_features_as_the_report_does():
    holds = tonnetz_verdict(verdict_table([("m3_x", False, 0.01), ("P5_x", True, 0.2)],
                                          [("0", True, 0.5), ("1", False, 0.4)]))
    assert holds["verdict"] == "holds" and holds["weakest"]
    assert holds["tonnetz_not_significant"] == ["m3_x"] and holds["other_dimensions_not_significant"] == ["mfcc/1"]
    fails = tonnetz_verdict(verdict_table([("m3_x", True, 0.3)], [("0", True, 0.1)]))
    assert fails["verdict"] == "does not hold" and not fails["weakest"]
    partly = tonnetz_verdict(verdict_table([("m3_x", False, 0.01)], [("0", False, 0.02)]))
    assert partly["verdict"] == "partly" and partly["other_features_not_differing"] == ["mfcc"]
    with pytest.raises(ValueError):
        tonnetz_verdict(verdict_table([], [("0", True, 0.1)]))


def test_label_summaries():
    labels = [("gel", "voi"), ("voi",), ("gel", "pia", "voi"), ("cel",)]
    counts = class_counts(labels)
    assert list(counts.index) == list(CLASSES)
    assert counts["voi"] == 3 and counts["gel"] == 2 and counts["cla"] == 0
    assert labels_per_clip(labels).to_dict() == {1: 2, 2: 1, 3: 1}
    co = label_cooccurrence(labels)
    assert co.loc["gel", "voi"] == co.loc["voi", "gel"] == 2
    assert co.loc["pia", "voi"] == 1 and np.all(np.diag(co) == 0)
    assert (co.values == co.values.T).all()
