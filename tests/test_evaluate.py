"""harmonylib.evaluate: aggregation, metrics, thresholds, bootstrap and paired tests (chapter 5)."""
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from harmonylib import evaluate as ev
from harmonylib.labels import CLASSES, NUM_CLASSES


def _random_pair(n=40, seed=0, flip=0.1):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n, NUM_CLASSES)) < 0.25).astype(int)
    y_true[np.arange(n), rng.integers(0, NUM_CLASSES, n)] = 1
    y_pred = np.where(rng.random(y_true.shape) < flip, 1 - y_true, y_true)
    return y_true, y_pred


# ---------------------------------------------------------------- aggregation
def test_s1_is_classwise_mean_and_s2_divides_sum_by_max():
    windows = np.zeros((2, NUM_CLASSES))
    windows[:, 0] = [0.2, 0.4]  # sum 0.6
    windows[:, 1] = [0.8, 0.4]  # sum 1.2 (the maximum)
    windows[:, 2] = [0.5, 0.0]  # sum 0.5
    s1 = ev.aggregate(windows, "S1")
    s2 = ev.aggregate(windows, "S2")
    assert s1[:3] == pytest.approx([0.3, 0.6, 0.25])
    assert s2[:3] == pytest.approx([0.5, 1.0, 0.5 / 1.2])
    assert ev.binarize(s2).tolist()[:3] == [0, 1, 0]  # 0.5 is not *over* the threshold
    assert ev.binarize(s1).tolist()[:3] == [0, 1, 0]


def test_s2_top_class_is_always_one_and_range_is_unit():
    rng = np.random.default_rng(3)
    clips = [rng.random((int(rng.integers(1, 20)), NUM_CLASSES)) * rng.random() for _ in range(50)]
    scores = ev.aggregate(clips, "S2")
    assert scores.shape == (50, NUM_CLASSES)
    assert np.allclose(scores.max(axis=1), 1.0)
    assert scores.min() >= 0
    assert ev.binarize(scores).sum(axis=1).min() >= 1  # S2 always predicts at least one class


def test_s2_all_zero_clip_gives_zeros_not_nan():
    scores = ev.aggregate(np.zeros((4, NUM_CLASSES)), "S2")
    assert np.array_equal(scores, np.zeros(NUM_CLASSES))
    assert ev.binarize(scores).sum() == 0


def test_s1_can_predict_nothing():
    scores = ev.aggregate(np.full((3, NUM_CLASSES), 0.1), "S1")
    assert ev.binarize(scores).sum() == 0


@pytest.mark.parametrize("bad", [np.zeros((0, NUM_CLASSES)), np.zeros((3, 5)), np.full((2, NUM_CLASSES), np.nan),
                                 np.full((2, NUM_CLASSES), 1.5)])
def test_aggregate_rejects_bad_windows(bad):
    with pytest.raises(ValueError):
        ev.aggregate(bad, "S2")


def test_aggregate_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="S3"):
        ev.aggregate(np.zeros((1, NUM_CLASSES)), "S3")


def test_predict_per_class_thresholds():
    scores = np.tile(np.linspace(0, 1, NUM_CLASSES), (2, 1))
    thresholds = np.full(NUM_CLASSES, 0.95)
    thresholds[0] = -1
    assert ev.binarize(scores, thresholds)[0].tolist() == [1] + [0] * 9 + [1]
    with pytest.raises(ValueError):
        ev.binarize(scores, [0.5, 0.5])


# ---------------------------------------------------------------- metrics
def test_metrics_on_hand_computed_example():
    y_true = np.zeros((2, NUM_CLASSES), int)
    y_pred = np.zeros((2, NUM_CLASSES), int)
    y_true[0, [0, 1]] = 1
    y_pred[0, [0, 1]] = 1  # clip 0: exact
    y_true[1, 2] = 1
    y_pred[1, [2, 3]] = 1  # clip 1: one false positive
    m = ev.multilabel_metrics(y_true, y_pred)
    assert m["hamming_score"] == pytest.approx(1 - 1 / 22)
    assert m["exact_match"] == pytest.approx(0.5)
    # classes 0, 1, 2 occur and have F1 1; class 3's false positive counts in the label-wise metrics only
    assert m["macro_f1"] == m["macro_precision"] == m["macro_recall"] == pytest.approx(1.0)
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert m["jaccard_samples"] == pytest.approx((1 + 0.5) / 2)
    assert m["f1_per_class"]["cel"] == 1.0 and np.isnan(m["f1_per_class"]["gac"])
    assert list(m["f1_per_class"]) == list(CLASSES)
    assert m["support_per_class"]["flu"] == 1
    y_pred[1, 2] = 0  # clip 1's class missed: one of the three present classes has F1 0
    m = ev.multilabel_metrics(y_true, y_pred)
    assert m["macro_f1"] == pytest.approx(2 / 3) and m["macro_recall"] == pytest.approx(2 / 3)


def test_macro_metrics_need_a_true_label():
    with pytest.raises(ValueError, match="no clip has a true label"):
        ev.multilabel_metrics(np.zeros((3, NUM_CLASSES), int), np.ones((3, NUM_CLASSES), int))


def test_metrics_agree_with_sklearn_on_random_data():
    y_true, y_pred = _random_pair(60, seed=1)
    y_true[:, 4] = 0  # one class absent: the macro average runs over the other ten
    m = ev.multilabel_metrics(y_true, y_pred)
    present = [c for c in range(NUM_CLASSES) if c != 4]
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", labels=present,
                                                       zero_division=0))
    assert m["hamming_score"] == pytest.approx(np.mean(y_true == y_pred))
    assert m["exact_match"] == pytest.approx(np.mean((y_true == y_pred).all(axis=1)))


def test_metrics_reject_scores_and_shape_mismatch():
    y_true, _ = _random_pair(5)
    with pytest.raises(ValueError, match="multi-hot"):
        ev.multilabel_metrics(y_true, np.full(y_true.shape, 0.7))
    with pytest.raises(ValueError, match="shape"):
        ev.multilabel_metrics(y_true, y_true[:, :5])


# ---------------------------------------------------------------- thresholds
def test_tune_thresholds_per_class_and_global():
    rng = np.random.default_rng(5)
    y_true = (rng.random((200, NUM_CLASSES)) < 0.3).astype(int)
    # class 0's positives score around 0.3, negatives around 0.1: the best threshold is below 0.3
    scores = np.where(y_true == 1, 0.8, 0.2)
    scores[:, 0] = np.where(y_true[:, 0] == 1, 0.3, 0.1)
    per_class = ev.tune_thresholds(scores, y_true, per_class=True)
    assert per_class.shape == (NUM_CLASSES,)
    assert 0.1 <= per_class[0] < 0.3
    assert np.all((per_class[1:] >= 0.2) & (per_class[1:] < 0.8))
    assert ev.multilabel_metrics(y_true, ev.binarize(scores, per_class))["macro_f1"] == pytest.approx(1.0)
    glob = ev.tune_thresholds(scores, y_true, per_class=False)
    assert len(set(glob)) == 1


def test_holm_adjusts_the_p_values_of_the_whole_table():
    y_true, a = _random_pair(60, seed=9, flip=0.05)
    systems = {"A": (y_true, a)}
    for i, flip in enumerate([0.07, 0.09, 0.12, 0.2]):
        systems[f"S{i}"] = (y_true, _random_pair(60, seed=9, flip=flip)[1])
    table = ev.comparison_table(systems, [("A", name) for name in systems if name != "A"], np.repeat(np.arange(20), 3),
                                metrics=("macro_f1",), n_resamples=400)
    p = table["p_value"].to_numpy()  # Holm by hand: i-th smallest times (m - i), running maximum, at most 1
    order = np.argsort(p, kind="stable")
    holm = np.minimum(1, np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p)))))
    assert len(set(p)) > 1 and not np.allclose(holm, np.minimum(1, p[order] * len(p)))  # Holm is not Bonferroni here
    assert np.allclose(table["p_holm"].to_numpy()[order], holm)


def test_tuned_thresholds_maximise_f1_over_the_grid():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(11)
    y_true = (rng.random((150, NUM_CLASSES)) < 0.3).astype(int)
    scores = np.clip(0.25 * y_true + rng.random((150, NUM_CLASSES)) * 0.8, 0, 1)  # overlapping classes
    f1 = {t: f1_score(y_true, (scores >= t).astype(int), average=None, zero_division=0) for t in ev.DEFAULT_GRID}
    per_class = ev.tune_thresholds(scores, y_true, per_class=True)
    for c in range(NUM_CLASSES):
        assert f1[per_class[c]][c] == pytest.approx(max(f[c] for f in f1.values()))
    glob = ev.tune_thresholds(scores, y_true, per_class=False)[0]
    assert f1[glob].mean() == pytest.approx(max(f.mean() for f in f1.values()))


def test_tune_thresholds_keeps_half_when_validation_is_uninformative():
    y_true = np.zeros((10, NUM_CLASSES), int)  # no positives: every threshold gives F1 0
    scores = np.full((10, NUM_CLASSES), 0.99)
    assert np.allclose(ev.tune_thresholds(scores, y_true), 0.5)


# ---------------------------------------------------------------- bootstrap by song
def test_fast_counts_match_sklearn_on_resamples():
    y_true, y_pred = _random_pair(50, seed=2, flip=0.2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        idx = rng.integers(0, 50, 50)
        fast = ev._metrics_from_counts(ev._clip_counts(y_true[idx], y_pred[idx]).sum(0))
        slow = ev.multilabel_metrics(y_true[idx], y_pred[idx])
        for metric in ev.METRICS:
            assert fast[metric] == pytest.approx(slow[metric]), metric
        for code, name in zip(CLASSES, ev.PER_CLASS_F1):
            assert fast[name] == pytest.approx(slow["f1_per_class"][code], nan_ok=True), name


def test_bootstrap_interval_contains_value_and_is_deterministic():
    y_true, y_pred = _random_pair(80, seed=3, flip=0.15)
    groups = np.repeat(np.arange(20), 4)
    a = ev.bootstrap_ci(y_true, y_pred, groups, "macro_f1", n_resamples=300, seed=7)
    b = ev.bootstrap_ci(y_true, y_pred, groups, "macro_f1", n_resamples=300, seed=7)
    assert a == b
    assert a.low <= a.value <= a.high
    assert a.value == pytest.approx(ev.multilabel_metrics(y_true, y_pred)["macro_f1"])


def test_bootstrap_callable_metric_uses_same_resampling_as_counts():
    y_true, y_pred = _random_pair(30, seed=4, flip=0.2)
    groups = np.repeat(np.arange(10), 3)
    def exact(t, p):
        return float(np.mean((t == p).all(axis=1)))
    slow = ev.bootstrap_ci(y_true, y_pred, groups, exact, n_resamples=400, seed=1)
    fast = ev.bootstrap_ci(y_true, y_pred, groups, "exact_match", n_resamples=400, seed=1)
    assert slow.value == pytest.approx(fast.value)
    assert abs(slow.low - fast.low) < 0.1 and abs(slow.high - fast.high) < 0.1


def test_songs_move_together_in_the_bootstrap():
    """Songs of 10 identical clips each: all right or all wrong. Resampling clips as if independent
    pretends there are 100 observations; resampling songs knows there are 10, so its interval is wider."""
    n_songs, per_song = 10, 10
    y_true = np.zeros((n_songs * per_song, NUM_CLASSES), int)
    y_true[:, 0] = 1
    y_pred = y_true.copy()
    wrong_songs = [0, 1, 2, 3, 4]
    for s in wrong_songs:
        y_pred[s * per_song:(s + 1) * per_song, 0] = 0
        y_pred[s * per_song:(s + 1) * per_song, 1] = 1
    songs = np.repeat(np.arange(n_songs), per_song)
    by_song = ev.bootstrap_ci(y_true, y_pred, songs, "exact_match", n_resamples=2000, seed=0)
    by_clip = ev.bootstrap_ci(y_true, y_pred, np.arange(len(songs)), "exact_match", n_resamples=2000, seed=0)
    assert by_song.value == by_clip.value == pytest.approx(0.5)
    assert (by_song.high - by_song.low) > 2 * (by_clip.high - by_clip.low)
    # a song-level resample can only contain whole songs: exact match is a multiple of 1/10
    weights = ev._resample_weights(n_songs, 50, 0)
    values = ev._metrics_from_counts(weights @ ev._group_counts(y_true, y_pred, songs))["exact_match"]
    assert np.allclose(values * 10, np.round(values * 10))


def _rare_classes_perfectly_predicted():
    """30 songs of 2 clips: voice in every clip, cello and clarinet in one song each, all predicted right."""
    songs = np.repeat(np.arange(30), 2)
    y_true = np.zeros((60, NUM_CLASSES), int)
    y_true[:, CLASSES.index("voi")] = 1
    y_true[songs == 3, CLASSES.index("cel")] = 1
    y_true[songs == 17, CLASSES.index("cla")] = 1
    return y_true, songs


def test_perfect_predictions_give_the_interval_one_to_one_however_rare_the_classes():
    """A resample that misses the cello's one song has no cello F1 to average, not an F1 of 0."""
    y_true, songs = _rare_classes_perfectly_predicted()
    for metric in ("macro_f1", "macro_precision", "macro_recall"):
        interval = ev.bootstrap_ci(y_true, y_true, songs, metric, n_resamples=500, seed=0)
        assert (interval.value, interval.low, interval.high) == (1.0, 1.0, 1.0), metric
    table = ev.metric_table({"perfect": (y_true, y_true)}, songs, ("macro_f1", "f1_cel"), n_resamples=500)
    assert (table[["value", "ci_low", "ci_high"]].to_numpy() == 1.0).all()


def test_a_per_class_interval_comes_from_the_resamples_with_the_class():
    y_true, songs = _rare_classes_perfectly_predicted()
    y_pred = y_true.copy()
    y_pred[songs == 3, CLASSES.index("cel")] = 0  # the one cello song missed
    missed = ev.bootstrap_ci(y_true, y_pred, songs, "f1_cel", n_resamples=500, seed=0)
    assert (missed.value, missed.low, missed.high) == (0.0, 0.0, 0.0)
    absent = ev.bootstrap_ci(y_true, y_pred, songs, "f1_gel", n_resamples=100, seed=0)
    assert np.isnan(absent.value) and np.isnan(absent.low) and np.isnan(absent.high)
    # the macro F1 differs by the cello's share of the classes present: 1/3 on all songs, 0 in a resample
    # without the cello song (about a third of them), 1/2 in one with it but without the clarinet song
    paired = ev.paired_test(y_true, y_true, y_pred, songs, "macro_f1", n_resamples=500, seed=0)
    assert paired.difference == pytest.approx(1 / 3)
    assert (paired.low, paired.high) == (0.0, pytest.approx(1 / 2))


def test_group_length_mismatch_is_an_error():
    y_true, y_pred = _random_pair(10)
    with pytest.raises(ValueError, match="one song per clip"):
        ev.bootstrap_ci(y_true, y_pred, np.arange(9), "macro_f1", n_resamples=10)
    with pytest.raises(ValueError, match="unknown metric"):
        ev.bootstrap_ci(y_true, y_pred, np.arange(10), "f2", n_resamples=10)


# ---------------------------------------------------------------- paired tests
@pytest.mark.parametrize("method", ["permutation", "bootstrap"])
def test_paired_test_identical_systems_is_not_significant(method):
    y_true, y_pred = _random_pair(60, seed=6, flip=0.2)
    groups = np.repeat(np.arange(20), 3)
    r = ev.paired_test(y_true, y_pred, y_pred, groups, "macro_f1", method, n_resamples=500, seed=0)
    assert r.difference == 0 and r.low == 0 and r.high == 0
    assert r.p_value == 1.0


@pytest.mark.parametrize("method", ["permutation", "bootstrap"])
def test_paired_test_detects_a_clearly_better_system(method):
    y_true, good = _random_pair(120, seed=7, flip=0.02)
    _, bad = _random_pair(120, seed=7, flip=0.3)
    groups = np.repeat(np.arange(40), 3)
    r = ev.paired_test(y_true, good, bad, groups, "macro_f1", method, n_resamples=1000, seed=0)
    assert r.difference > 0.2
    assert r.low > 0
    assert r.p_value < 0.01


def test_permutation_p_values_are_roughly_uniform_for_equally_good_systems():
    """Two systems with the same error rate (independent errors): p should rarely be small."""
    y_true, _ = _random_pair(90, seed=8)
    groups = np.repeat(np.arange(30), 3)
    p_values = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        a = np.where(rng.random(y_true.shape) < 0.15, 1 - y_true, y_true)
        b = np.where(rng.random(y_true.shape) < 0.15, 1 - y_true, y_true)
        p_values.append(ev.paired_test(y_true, a, b, groups, "macro_f1", n_resamples=200, seed=seed).p_value)
    p_values = np.array(p_values)
    assert np.mean(p_values < 0.05) <= 0.2
    assert 0.25 < np.median(p_values) < 0.75


def test_comparison_table_holm_and_same_clip_check():
    y_true, a = _random_pair(60, seed=9, flip=0.05)
    _, b = _random_pair(60, seed=9, flip=0.3)
    groups = np.repeat(np.arange(20), 3)
    systems = {"A": (y_true, a), "B": (y_true, b), "C": (y_true, a)}
    table = ev.comparison_table(systems, [("A", "B"), ("A", "C")], groups, metrics=("macro_f1", "hamming_score"),
                                n_resamples=200)
    assert list(table.columns) == ["system_a", "system_b", "metric", "value_a", "value_b", "difference", "ci_low",
                                   "ci_high", "p_value", "p_holm"]
    assert (table["p_holm"] >= table["p_value"]).all()
    assert table.loc[(table.system_b == "C"), "p_value"].eq(1.0).all()
    other = _random_pair(60, seed=10)[0]
    with pytest.raises(ValueError, match="same clips"):
        ev.comparison_table({"A": (y_true, a), "D": (other, a)}, [("A", "D")], groups)


# ---------------------------------------------------------------- ensemble, error analysis, tables
def test_ensemble_is_mean_of_clip_scores():
    s1 = np.zeros((2, NUM_CLASSES))
    s2 = np.ones((2, NUM_CLASSES))
    assert np.allclose(ev.ensemble_scores(s1, s2), 0.5)
    assert np.allclose(ev.ensemble_scores(s1, s2, weights=[3, 1]), 0.25)
    with pytest.raises(ValueError):
        ev.ensemble_scores(s1)
    with pytest.raises(ValueError, match="same clips"):
        ev.ensemble_scores(s1, np.ones((3, NUM_CLASSES)))


def test_cooccurrence_errors_counts_false_positives_given_present_class():
    y_true = np.zeros((4, NUM_CLASSES), int)
    y_pred = np.zeros((4, NUM_CLASSES), int)
    y_true[:2, 0] = 1          # clips 0, 1: cello plays
    y_pred[:2, 0] = 1
    y_pred[0, 9] = 1           # violin wrongly predicted beside the cello in clip 0
    y_true[2:, 1] = 1          # clips 2, 3: clarinet
    y_pred[2:, 1] = 1
    table = ev.cooccurrence_errors(y_true, y_pred).set_index(["class", "present"])
    row = table.loc[("vio", "cel")]
    assert row["clips_b_not_a"] == 2 and row["false_positives"] == 1 and row["fp_rate"] == 0.5
    assert table.loc[("vio", "cla"), "fp_rate"] == 0.0
    assert table.loc[("vio", "cla"), "fp_rate_without_b"] == 0.5  # the cello clips
    assert np.isnan(table.loc[("cla", "cel"), "fn_rate"])  # never together
    assert len(table) == NUM_CLASSES * (NUM_CLASSES - 1)


def test_metric_table_and_per_class_f1():
    y_true, y_pred = _random_pair(40, seed=11)
    groups = np.repeat(np.arange(10), 4)
    table = ev.metric_table({"m": (y_true, y_pred)}, groups, n_resamples=100)
    assert set(table["metric"]) == set(ev.METRICS)
    assert (table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all()
    m = ev.multilabel_metrics(y_true, y_pred)
    assert table.set_index("metric").loc["macro_f1", "value"] == pytest.approx(m["macro_f1"])
    pc = ev.per_class_f1({"m": (y_true, y_pred)})
    assert list(pc["class"]) == list(CLASSES) + ["macro"]
    assert pc["m"].iloc[-1] == pytest.approx(m["macro_f1"])


def test_plot_metric_bars_draws_error_bars():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    y_true, y_pred = _random_pair(40, seed=12)
    table = ev.metric_table({"a": (y_true, y_pred), "b": (y_true, 1 - y_pred)}, np.arange(40), n_resamples=50)
    fig, ax = plt.subplots()
    ev.plot_metric_bars(table, ["hamming_score", "macro_f1"], ax)
    assert len(ax.containers) >= 4  # two bar containers, two error-bar containers
    plt.close(fig)


# ---------------------------------------------------------------- properties (hypothesis)
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

_probs = arrays(np.float64, st.tuples(st.integers(1, 12), st.just(NUM_CLASSES)),
                elements=st.floats(0, 1, allow_nan=False, allow_subnormal=False))
_multi_hot = st.integers(1, 25).flatmap(
    lambda n: st.tuples(arrays(np.int8, (n, NUM_CLASSES), elements=st.integers(0, 1)),
                        arrays(np.int8, (n, NUM_CLASSES), elements=st.integers(0, 1))))


@settings(max_examples=60, deadline=None)
@given(_probs)
def test_property_s2_top_is_one_unless_silent(windows):
    s2 = ev.aggregate(windows, "S2")
    assert np.all((s2 >= 0) & (s2 <= 1 + 1e-12))
    if windows.sum() > 0:
        assert s2.max() == pytest.approx(1.0)
        assert s2[ev.aggregate(windows, "S1").argmax()] == pytest.approx(1.0)  # S1's top class is S2's
    else:
        assert not s2.any()


@settings(max_examples=60, deadline=None)
@given(_multi_hot)
def test_property_fast_counts_equal_sklearn(pair):
    y_true, y_pred = pair
    assume(y_true.any())
    fast = ev._metrics_from_counts(ev._clip_counts(y_true, y_pred).sum(0))
    slow = ev.multilabel_metrics(y_true, y_pred)
    for metric in ev.METRICS:
        assert fast[metric] == pytest.approx(slow[metric], abs=1e-12), metric


def test_the_detectable_difference_is_what_the_paired_intervals_resolve_with_80_percent_power():
    tests = pd.DataFrame({"metric": ["macro_f1", "macro_f1", "macro_f1", "exact_match"],
                          "ci_low": [-0.02, -0.05, 0.00, -1.0], "ci_high": [0.02, 0.01, 0.14, 1.0]})
    # median half-width 0.03 = 1.96 standard errors; 80 % power at 5 %: (1.96 + 0.84) standard errors
    assert ev.detectable_difference(tests, family=1) == pytest.approx(0.03 / 1.95996 * (1.95996 + 0.84162), rel=1e-4)
    # Holm's first step over the table's 4 tests: 5 % / 4, z = 2.498
    assert ev.detectable_difference(tests) == pytest.approx(0.03 / 1.95996 * (2.49771 + 0.84162), rel=1e-4)
    assert np.isnan(ev.detectable_difference(tests, "hamming_score"))


def test_more_test_songs_detect_smaller_differences():
    rng = np.random.default_rng(0)

    def detectable(songs: int) -> float:
        y_true = np.eye(11, dtype=int)[rng.integers(0, 11, 4 * songs)]
        noisy = [np.where(rng.random(y_true.shape) < p, 1 - y_true, y_true) for p in (0.10, 0.12)]
        groups = np.repeat(np.arange(songs), 4)
        tests = ev.comparison_table({"a": (y_true, noisy[0]), "b": (y_true, noisy[1])}, [("a", "b")], groups,
                                    n_resamples=400, seed=1)
        return ev.detectable_difference(tests)

    assert detectable(200) < detectable(30)
