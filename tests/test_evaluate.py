"""harmonylib.evaluate: aggregation, metrics, thresholds, bootstrap and paired tests (chapter 5)."""
import numpy as np
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
    assert ev.predict(s2).tolist()[:3] == [0, 1, 0]  # 0.5 is not *over* the threshold
    assert ev.predict(s1).tolist()[:3] == [0, 1, 0]


def test_s2_top_class_is_always_one_and_range_is_unit():
    rng = np.random.default_rng(3)
    clips = [rng.random((int(rng.integers(1, 20)), NUM_CLASSES)) * rng.random() for _ in range(50)]
    scores = ev.aggregate(clips, "S2")
    assert scores.shape == (50, NUM_CLASSES)
    assert np.allclose(scores.max(axis=1), 1.0)
    assert scores.min() >= 0
    assert ev.predict(scores).sum(axis=1).min() >= 1  # S2 always predicts at least one class


def test_s2_all_zero_clip_gives_zeros_not_nan():
    scores = ev.aggregate(np.zeros((4, NUM_CLASSES)), "S2")
    assert np.array_equal(scores, np.zeros(NUM_CLASSES))
    assert ev.predict(scores).sum() == 0


def test_s1_can_predict_nothing():
    scores = ev.aggregate(np.full((3, NUM_CLASSES), 0.1), "S1")
    assert ev.predict(scores).sum() == 0


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
    assert ev.predict(scores, thresholds)[0].tolist() == [1] + [0] * 9 + [1]
    with pytest.raises(ValueError):
        ev.predict(scores, [0.5, 0.5])


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
    # classes 0,1,2 have F1 1; class 3 has F1 0 (a false positive); 7 absent classes score 0
    assert m["macro_f1"] == pytest.approx(3 / 11)
    assert m["macro_precision"] == pytest.approx(3 / 11)
    assert m["macro_recall"] == pytest.approx(3 / 11)
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert m["jaccard_samples"] == pytest.approx((1 + 0.5) / 2)
    assert m["f1_per_class"]["cel"] == 1.0 and m["f1_per_class"]["gac"] == 0.0
    assert list(m["f1_per_class"]) == list(CLASSES)
    assert m["support_per_class"]["flu"] == 1


def test_metrics_agree_with_sklearn_on_random_data():
    y_true, y_pred = _random_pair(60, seed=1)
    m = ev.multilabel_metrics(y_true, y_pred)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert m["hamming_score"] == pytest.approx(np.mean(y_true == y_pred))
    assert m["exact_match"] == pytest.approx(np.mean((y_true == y_pred).all(axis=1)))


def test_metrics_reject_scores_and_shape_mismatch():
    y_true, _ = _random_pair(5)
    with pytest.raises(ValueError, match="multi-hot"):
        ev.multilabel_metrics(y_true, np.full(y_true.shape, 0.7))
    with pytest.raises(ValueError, match="shape"):
        ev.multilabel_metrics(y_true, y_true[:, :5])
