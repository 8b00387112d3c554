"""The report's claims as data (harmonylib.reference.CLAIMS) and their verdicts (harmonylib.comparisons)."""
import functools
import json

import numpy as np
import pandas as pd
import pytest

from harmonylib import comparisons as cmp
from harmonylib import evaluate as ev
from harmonylib import paths
from harmonylib import reference
from harmonylib.config import get_profile
from harmonylib.labels import NUM_CLASSES

SMOKE = get_profile("smoke")


def _evaluation(key: str, predictions: dict[str, np.ndarray], y_true: np.ndarray, songs: np.ndarray,
                n_resamples: int = 400) -> cmp.Evaluation:
    """An evaluation of figure ``key`` whose systems (by experiment) predict ``predictions``."""
    comparison = cmp.COMPARISONS[key].named(SMOKE)
    systems = {s.label: (y_true, predictions[s.run]) for s in comparison.systems if s.run in predictions}
    pairs = [(a, b) for a, b in comparison.pairs if a in systems and b in systems]
    collected = cmp.Collected(comparison, systems, {}, {label: songs for label in systems}, {}, [], pairs, {})
    tests = ev.comparison_table(systems, pairs, songs, comparison.metrics, n_resamples=n_resamples)
    return cmp.Evaluation(key, SMOKE, collected, pd.DataFrame(), pd.DataFrame(), tests, pd.DataFrame(), pd.DataFrame())


def _truth(n_songs: int = 40, per_song: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((n_songs * per_song, NUM_CLASSES)) < 0.2).astype(int)
    y_true[np.arange(len(y_true)), rng.integers(0, NUM_CLASSES, len(y_true))] = 1
    return y_true, np.repeat(np.arange(n_songs), per_song)


def _noisy(y_true, flip: float, seed: int):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(y_true.shape) < flip, 1 - y_true, y_true)


def test_every_paired_claim_is_tested_by_its_figure():
    """Each pair of a claim is one of its figure's paired tests, on a metric the figure tests."""
    assert len(reference.CLAIMS) >= 12 and len({c.key for c in reference.CLAIMS}) == len(reference.CLAIMS)
    for claim in reference.CLAIMS:
        assert claim.expect in ("higher", "similar", "descriptive"), claim.key
        if claim.expect == "descriptive":
            assert not claim.pairs
            continue
        comparison = cmp.COMPARISONS[claim.figure]
        assert claim.metric in comparison.metrics, claim.key
        labels = {(s.run, s.test): s.label for s in comparison.systems}
        tested = {frozenset(pair) for pair in comparison.pairs}
        for a, b in claim.pairs:
            pair = frozenset((labels[reference.claim_system(a)], labels[reference.claim_system(b)]))
            assert pair in tested, (claim.key, a, b)


@pytest.mark.parametrize(("expect", "difference", "low", "high", "p_holm", "verdict"), [
    ("higher", 0.08, 0.03, 0.13, 0.01, "holds"),
    ("higher", -0.08, -0.13, -0.03, 0.01, "does not hold"),
    ("higher", 0.08, -0.01, 0.17, 0.20, "inconclusive"),
    ("similar", 0.01, -0.02, 0.04, 0.60, "holds"),
    ("similar", 0.01, -0.07, 0.09, 0.60, "inconclusive"),
    ("similar", 0.12, 0.07, 0.17, 0.01, "does not hold"),
    ("similar", 0.05, 0.03, 0.07, 0.01, "inconclusive"),
    ("similar", 0.01, 0.005, 0.015, 0.001, "holds"),  # significant, yet smaller than the margin
])
def test_a_pairs_verdict_follows_the_test_and_the_interval(expect, difference, low, high, p_holm, verdict):
    assert cmp.pair_verdict(expect, difference, low, high, p_holm, alpha=0.05, margin=0.05) == verdict


def test_a_claim_over_several_pairs_holds_only_where_every_pair_does():
    assert cmp.combine_verdicts(["holds", "holds"]) == "holds"
    assert cmp.combine_verdicts(["holds", "inconclusive"]) == "inconclusive"
    assert cmp.combine_verdicts(["holds", "does not hold", "inconclusive"]) == "does not hold"
    assert cmp.combine_verdicts(["not tested", "not tested"]) == "not tested"
    assert cmp.combine_verdicts(["holds", "not tested"]) == "not tested"


def test_verdicts_are_computed_from_the_runs_predictions():
    """Figure 5.1: the 1-s model nearly perfect, the 2-s model poor (the claim holds), the 3-s model nearly
    perfect too (the 1-s model is not significantly better: inconclusive); reversed, the claim fails."""
    y_true, songs = _truth()
    good, bad = _noisy(y_true, 0.02, 1), _noisy(y_true, 0.3, 2)
    verdicts = cmp.claim_verdicts(_evaluation("5.1", {"resnet50_w1": good, "resnet50_w2": bad,
                                                      "resnet50_w3": _noisy(y_true, 0.02, 3)}, y_true, songs))
    verdicts = verdicts.set_index("claim")
    assert list(verdicts.columns) == [c for c in cmp.CLAIM_COLUMNS if c != "claim"]
    assert verdicts.loc["window-1s-beats-2s", "verdict"] == "holds"
    assert verdicts.loc["window-1s-beats-3s", "verdict"] == "inconclusive"
    assert "resnet50_w1 0.5507 vs resnet50_w2 0.5432" in verdicts.loc["window-1s-beats-2s", "report"]
    assert verdicts.loc["window-1s-beats-2s", "half_width"] > 0
    reversed_ = cmp.claim_verdicts(_evaluation("5.1", {"resnet50_w1": bad, "resnet50_w2": good,
                                                       "resnet50_w3": good}, y_true, songs)).set_index("claim")
    assert reversed_.loc["window-1s-beats-2s", "verdict"] == "does not hold"


def test_a_similar_claim_needs_an_interval_inside_the_margin():
    """Identical predictions are similar; two models far apart are not."""
    y_true, songs = _truth()
    same = _noisy(y_true, 0.1, 4)
    similar = cmp.claim_verdicts(_evaluation("5.5a", {"ast_audioset_w1": same, "resnet50_audioset_w1": same},
                                             y_true, songs))
    assert similar.set_index("claim").loc["ast-similar-to-resnet", "verdict"] == "holds"
    apart = cmp.claim_verdicts(_evaluation("5.5a", {"ast_audioset_w1": _noisy(y_true, 0.02, 5),
                                                    "resnet50_audioset_w1": _noisy(y_true, 0.35, 6)}, y_true, songs))
    assert apart.set_index("claim").loc["ast-similar-to-resnet", "verdict"] == "does not hold"


def test_a_claim_whose_system_the_profile_skips_is_not_tested():
    y_true, songs = _truth()
    verdicts = cmp.claim_verdicts(_evaluation("5.1", {"resnet50_w1": y_true, "resnet50_w3": y_true}, y_true, songs))
    assert verdicts.set_index("claim").loc["window-1s-beats-2s", "verdict"] == "not tested"


def test_claims_csv_gathers_every_notebooks_verdicts_in_the_reports_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path))
    y_true, songs = _truth()
    late = cmp.claim_verdicts(_evaluation("5.5b", {"ast_w1_l2high": y_true, "ast_w1_l2low": _noisy(y_true, 0.3, 7)},
                                          y_true, songs))
    early = cmp.claim_verdicts(_evaluation("5.1", {e: y_true for e in ("resnet50_w1", "resnet50_w2", "resnet50_w3")},
                                           y_true, songs))
    cmp.record_claims(late, SMOKE)
    cmp.record_claims(early, SMOKE)
    cmp.record_claims(early, SMOKE)  # a notebook run again replaces its rows
    table = pd.read_csv(tmp_path / "claims.csv")
    assert list(table["claim"]) == ["window-1s-beats-2s", "window-1s-beats-3s", "ast-more-l2-better"]
    assert set(table["profile"]) == {"smoke"} and set(table["data"]) == {SMOKE.dataset_name}
    cmp.record_claims(early, get_profile("default"))  # another profile's rows are dropped
    assert list(pd.read_csv(tmp_path / "claims.csv")["profile"]) == ["default", "default"]


def test_descriptive_verdicts_name_their_basis():
    row = cmp.descriptive_verdict("ast-trains-fastest", False, "AST 12 s per epoch, raw-audio CNN 3 s",
                                  "mean seconds per training epoch of the five runs")
    assert row.loc[0, "verdict"] == "does not hold" and row.loc[0, "basis"].startswith("descriptive")
    with pytest.raises(KeyError, match="no claim"):
        cmp.descriptive_verdict("ast-trains-slowest", True, "", "")


def test_the_paragraph_names_the_causes_that_apply():
    y_true, songs = _truth(n_songs=8)
    verdicts = cmp.claim_verdicts(_evaluation("5.1", {"resnet50_w1": _noisy(y_true, 0.15, 8),
                                                      "resnet50_w2": _noisy(y_true, 0.15, 9),
                                                      "resnet50_w3": _noisy(y_true, 0.15, 10)}, y_true, songs))
    text = cmp.claims_markdown(verdicts, SMOKE, {})
    assert "2 inconclusive" in text and "rendered from SoundFonts" in text
    assert "paired 95 % intervals of the inconclusive claims are" in text and "the report's own differences" in text
    holding = verdicts.assign(verdict="holds")
    assert "What stands between" not in cmp.claims_markdown(holding, SMOKE, {})


# ---------------------------------------------------------------- trivial baselines
def test_trivial_baselines_predict_nothing_one_class_and_everything():
    y_true, songs = _truth()
    baselines = ev.trivial_baselines(y_true, "voi")
    assert list(baselines) == list(ev.BASELINES)
    assert not baselines["predict nothing"].any() and baselines["all positive"].all()
    assert (baselines["most frequent class"].sum(axis=0) == np.eye(NUM_CLASSES, dtype=int)[-1] * len(y_true)).all()
    nothing = ev.multilabel_metrics(y_true, baselines["predict nothing"])
    assert nothing["macro_f1"] == 0 and nothing["hamming_score"] == pytest.approx(1 - y_true.mean())


def test_the_baselines_of_each_test_set_use_its_own_training_split(monkeypatch):
    """Figure 5.4 tests on two data sets: each gets the baselines of its own clips, and the most frequent
    class of its own training split."""
    from harmonylib import data

    majority = {"irmas": "gel", "audioset": "org"}
    monkeypatch.setattr(data, "training_labels", lambda profile, dataset, data_dir=None: pd.Series(
        [(majority[dataset],)] * 3 + [("cel", "voi")]))
    # a fresh cache, so that neither a class other tests read nor the fake one outlives this test
    monkeypatch.setattr(cmp, "_most_frequent_class", functools.lru_cache(cmp._most_frequent_class.__wrapped__))
    y_irmas, songs_irmas = _truth(n_songs=10, seed=1)
    y_audioset, songs_audioset = _truth(n_songs=14, seed=2)
    comparison = cmp.COMPARISONS["5.4"].named(SMOKE)
    truth = {"irmas": (y_irmas, songs_irmas), "audioset": (y_audioset, songs_audioset)}
    systems = {s.label: (truth[s.test][0], truth[s.test][0]) for s in comparison.systems}
    groups = {s.label: truth[s.test][1] for s in comparison.systems}
    collected = cmp.Collected(comparison, systems, {}, groups, {}, [], [], {})
    table = cmp.baseline_table(collected, SMOKE, n_resamples=50)
    assert set(table["test"]) == {"irmas", "audioset"}
    assert set(table["system"]) == set(ev.BASELINES)
    assert table.groupby("test")["most_frequent"].unique().to_dict() == {"irmas": ["gel"], "audioset": ["org"]}
    all_positive = table[(table["system"] == "all positive") & (table["metric"] == "hamming_score")].set_index("test")
    assert all_positive.loc["audioset", "value"] == pytest.approx(y_audioset.mean())
    evaluation = cmp.Evaluation("5.4", SMOKE, collected, pd.DataFrame(columns=table.columns[:-2]), pd.DataFrame(),
                                pd.DataFrame(), pd.DataFrame(), table)
    rows = evaluation.baseline_rows
    assert {"baseline on SynthAudioSet: all positive", "baseline on SynthAudioSet: always org (most frequent in "
            "training)", "baseline on SynthIRMAS: always gel (most frequent in training)"} <= set(rows["system"])
    assert list(rows.columns) == ["system", "metric", "value", "ci_low", "ci_high"]
    by_system = evaluation.baselines_by_system()
    assert set(by_system["SynthIRMAS -> SynthAudioSet"]["test"]) == {"audioset"}


def test_the_bars_carry_a_tick_per_baseline():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y_true, songs = _truth(n_songs=10)
    systems = {"a": (y_true, _noisy(y_true, 0.1, 1)), "b": (y_true, _noisy(y_true, 0.2, 2))}
    table = ev.metric_table(systems, songs, n_resamples=20)
    baselines = ev.metric_table({name: (y_true, p) for name, p in ev.trivial_baselines(y_true, "voi").items()}, songs,
                                n_resamples=20)
    fig, ax = plt.subplots()
    ev.plot_metric_bars(table, ["hamming_score", "macro_f1"], ax, baselines=dict.fromkeys(systems, baselines))
    ticks = [c for c in ax.collections if c.get_label().startswith("baseline")]
    assert [c.get_label() for c in ticks] == [f"baseline: {name}" for name in ev.BASELINES]
    hamming = baselines[(baselines["system"] == "predict nothing") & (baselines["metric"] == "hamming_score")]
    assert any(np.allclose(segment[:, 1], hamming["value"].iloc[0]) for c in ax.collections
               for segment in c.get_segments())
    plt.close(fig)


@pytest.mark.parametrize("profile", ["default", "full", "paper-synth"])
def test_holm_over_a_whole_table_can_reach_significance(profile):
    """The smallest permutation p-value is 1 / (resamples + 1); Holm multiplies the smallest by the number of
    tests in the table, so a table of m tests needs more than 20 m resamples to reach 0.05 at all."""
    resamples = get_profile(profile).evaluate.permutation_resamples
    for key, comparison in cmp.COMPARISONS.items():
        tests = len(comparison.pairs) * len(comparison.metrics)
        if key == "5.8":  # notebook 57 tests every pair of the candidates and the ensemble on every metric
            tests = len(comparison.systems + (None,)) * len(comparison.systems) // 2 * len(comparison.metrics)
        assert tests / (resamples + 1) < 0.05, (key, tests, resamples)


def test_the_paragraph_names_the_pretraining_each_random_model_lacks(tmp_path):
    from harmonylib.runs import Run

    y_true, songs = _truth(n_songs=8)
    verdicts = cmp.claim_verdicts(_evaluation("5.5a", {"ast_audioset_w1": _noisy(y_true, 0.15, 1),
                                                       "resnet50_audioset_w1": _noisy(y_true, 0.15, 2)}, y_true, songs))
    opened = {name: Run(tmp_path / name, {"model": model, "weights": weights}, {"optimiser_steps": 132})
              for name, model, weights in (("a", "ast", "random init"), ("r", "resnet50", "random init (offline)"),
                                           ("c", "raw_cnn", "random init"))}
    text = cmp.claims_markdown(verdicts, SMOKE, opened)
    assert "AST started from random weights, where the report's was pretrained on AudioSet" in text
    assert "ResNet-50 started from random weights, where the report's was pretrained on ImageNet" in text
    assert "they trained for 132 optimiser steps per run" in text and "44,030 steps" in text


def test_a_paired_test_of_an_undefined_metric_is_an_error():
    y_true, songs = _truth()
    y_true[:, 4] = 0  # no gel in the test clips: no gel F1 to compare
    with pytest.raises(ValueError, match="undefined"):
        ev.paired_test(y_true, y_true, _noisy(y_true, 0.2, 1), songs, "f1_gel", n_resamples=20)


def test_the_resolution_compares_the_detectable_difference_with_the_reports_differences_of_its_claims():
    keys = [c.key for c in reference.CLAIMS if c.expect == "higher" and c.metric == "macro_f1" and cmp._report_pairs(c)]
    verdicts = pd.DataFrame({"claim": keys[:2]})
    low, high = cmp.report_differences(verdicts["claim"])
    assert (low, high) != cmp.report_differences(keys)  # the notebook's own claims, not the whole report's

    def resolution(detectable: float) -> str:  # one test in the table: Holm's first step is the plain 5 % level
        half_width = detectable / (1.95996 + 0.84162) * 1.95996
        return cmp.resolution_markdown(pd.DataFrame({"metric": ["macro_f1"], "ci_low": [-half_width],
                                                     "ci_high": [half_width]}), verdicts)

    assert 0 < low < high
    assert resolution(low * 0.9).endswith("can resolve all of them.")
    assert resolution((low + high) / 2).endswith("can resolve only the larger of them.")
    assert resolution(high * 1.1).endswith("can resolve none of them.")
    assert "zero width" in resolution(0.0)
    assert "No paired test" in cmp.resolution_markdown(pd.DataFrame({"metric": [], "ci_low": [], "ci_high": []}),
                                                       verdicts)


def test_the_resolution_of_several_tables_takes_each_tables_holm_family():
    verdicts = pd.DataFrame({"claim": [c.key for c in reference.CLAIMS if c.metric == "macro_f1"][:1]})
    small = pd.DataFrame({"metric": ["macro_f1"], "ci_low": [-0.3], "ci_high": [0.3]})  # one wide test
    large = pd.DataFrame({"metric": ["macro_f1"] * 20, "ci_low": [-0.03] * 20, "ci_high": [0.03] * 20})
    one, twenty = ev.detectable_difference(small), ev.detectable_difference(large)
    assert one > twenty
    text = cmp.resolution_markdown([small, large], verdicts)
    assert text.startswith(f"**Resolution: {one:.3f} macro F1 between two systems**")  # the least resolving table
    assert f"{one:.3f} over 1 tests; {twenty:.3f} over 20 tests" in text


def test_the_resolution_between_two_systems_is_one_test_at_five_percent_and_the_verdicts_holms_first_step():
    """What one paired test resolves between two systems, and what the same power takes at Holm's first step over a
    table of 20 tests, are both stated, each from the table's median half-width."""
    verdicts = pd.DataFrame({"claim": [c.key for c in reference.CLAIMS if c.metric == "macro_f1"][:1]})
    table = pd.DataFrame({"metric": ["macro_f1"] * 20, "ci_low": [-0.02] * 20, "ci_high": [0.02] * 20})
    pair, holm = ev.detectable_difference(table, family=1), ev.detectable_difference(table)
    assert round(pair, 4) == round(0.02 / 1.95996 * (1.95996 + 0.84162), 4) and holm > pair
    text = cmp.resolution_markdown(table, verdicts)
    assert text.startswith(f"**Resolution: {pair:.3f} macro F1 between two systems**")
    assert (f"Holm-adjusted over the table's 20 tests (5 % / 20 at Holm's first step, the level the smallest p-value "
            f"faces; later steps are less strict), where the same power takes **{holm:.3f}**") in text


def test_a_table_of_two_test_sets_is_resolved_per_test_set_within_its_holm_family():
    """Figure 5.4 tests pairs on two test sets of very different sizes: each gets the resolution of its own intervals,
    at Holm's first step over the whole table's tests, not the median of the two."""
    verdicts = pd.DataFrame({"claim": [c.key for c in reference.CLAIMS if c.metric == "macro_f1"][:1]})
    narrow = pd.DataFrame({"metric": ["macro_f1"] * 3, "ci_low": [-0.01] * 3, "ci_high": [0.01] * 3, "test": "A"})
    wide = pd.DataFrame({"metric": ["macro_f1"] * 3, "ci_low": [-0.06] * 3, "ci_high": [0.06] * 3, "test": "B"})
    text = cmp.resolution_markdown(pd.concat([narrow, wide], ignore_index=True), verdicts)
    pairs = [ev.detectable_difference(t, family=1) for t in (narrow, wide)]
    holms = [ev.detectable_difference(t, family=6) for t in (narrow, wide)]
    assert text.startswith(f"**Resolution: macro F1 between two systems: {pairs[0]:.3f} on A, {pairs[1]:.3f} on B**")
    assert f"over the table's 6 tests (5 % / 6 at Holm's first step" in text
    assert f"the same power takes {holms[0]:.3f} on A, {holms[1]:.3f} on B." in text


def _committed_tables(figures=paths.REPO_ROOT / "figures") -> dict[str, pd.DataFrame]:
    """The committed default profile's chapter-5 tables of paired tests on the SynthIRMAS test songs alone."""
    index = json.loads((figures / "index.json").read_text())
    return {name: pd.read_csv(figures / name) for name, entry in index.items()
            if name.endswith("_tests.csv") and entry["profile"] == "default"
            and entry["evaluated"].startswith("SynthIRMAS test") and ";" not in entry["evaluated"]}


def test_the_committed_default_test_songs_resolve_three_hundredths_of_macro_f1_between_two_systems():
    """The committed figures of the default profile: every pair of systems of a chapter-5 table of paired macro-F1 tests
    on the SynthIRMAS test songs has an interval narrow enough for one test at 5 % to detect a true difference of 0.03
    with 80 % power."""
    tables = {name: t[t["metric"] == "macro_f1"] for name, t in _committed_tables().items()}
    tables = {name: t for name, t in tables.items() if len(t)}
    assert len(tables) >= 6, sorted(tables)
    resolution = {(name, r.system_a, r.system_b): round(ev.detectable_difference(pd.DataFrame([r._asdict()]), family=1), 3)
                  for name, t in tables.items() for r in t.itertuples(index=False)}
    assert max(resolution.values()) <= 0.03, {k: v for k, v in resolution.items() if v > 0.03}


def test_the_committed_claims_carry_a_verdict_on_every_claim_and_the_readme_counts_them():
    claims = pd.read_csv(paths.REPO_ROOT / "figures" / "claims.csv")
    assert (claims["profile"] == "default").all()
    assert sorted(claims["claim"]) == sorted(c.key for c in reference.CLAIMS)
    assert set(claims["verdict"]) <= set(cmp.VERDICTS)
    counts = claims["verdict"].value_counts()
    readme = " ".join((paths.REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert (f"**{counts.get('holds', 0)} of the {len(claims)} claims hold, {counts.get('does not hold', 0)} do not, "
            f"{counts.get('inconclusive', 0)} are inconclusive.**") in readme
