"""Chapter 5: the comparisons of the report's figures, evaluated from the runs of the grid (notebooks 50-57).

* :data:`COMPARISONS` names, for each figure of chapter 5, its systems (an experiment of
  :mod:`harmonylib.grid` tested on one data set), its metrics and the paired tests its text needs;
  :data:`LOSS_CURVES` (5.6) and :data:`COST_MODELS` (5.7) the runs of the other two figures.
* :func:`experiment_run` opens an experiment's run folder (:mod:`harmonylib.runs`) and says how to
  produce it where it is missing; :func:`collect` loads a comparison's predictions;
  :func:`evaluate_comparison` gives every table a chapter-5 notebook shows: metrics with bootstrap
  intervals over songs, the S1 and tuned-threshold variants, the paired tests and per-class F1.
* :func:`winners`, :func:`describe_tests`, :func:`winners_markdown`: verdicts computed from the tests;
  :func:`beside_paper` and :func:`published_results`: the original study's and the literature's numbers
  (:mod:`harmonylib.reference`) beside ours, shown only on the real data.
* :func:`cost_table`, :func:`step_memory_table` (notebook 56) and :func:`choose_final_model` (notebook 57).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import paths, reference
from .config import Profile
from .errors import HarmonyError
from .evaluate import (METRIC_LABELS, METRICS, binarize, comparison_table, detectable_difference, metric_table,
                       multilabel_metrics, per_class_f1, plot_metric_bars, trivial_baselines, tune_thresholds)
from .grid import BY_NAME, command_for, run_name, skipped
from .io import Provenance, audio_per_epoch
from .labels import NUM_CLASSES
from .runs import MissingRunError, Run, open_run


# ---------------------------------------------------------------- opening the grid's runs
def experiment_run(name: str, profile: Profile) -> Run:
    """The finished run folder of experiment ``name`` at ``profile``; a missing or unfinished one raises
    :class:`~harmonylib.runs.MissingRunError` naming the run and the command that produces it."""
    if name not in BY_NAME:
        raise HarmonyError(f"unknown experiment {name!r}; the grid has {sorted(BY_NAME)}")
    folder = paths.runs_dir() / run_name(name, profile)
    if name in skipped(profile):
        raise MissingRunError(f"experiment {name!r} is skipped at profile {profile.name!r} "
                              "(EvalConfig.skip_experiments, or no SynthIRMAS-DR on real data)", folder)
    return open_run(folder, BY_NAME[name].label, command_for(name, profile))


def available_runs(names, profile: Profile) -> tuple[dict[str, Run], list[str]]:
    """Open the runs ``names`` that exist at ``profile``: (runs, names skipped by the profile).

    A run the profile skips is reported, not raised; a run the profile should have but lacks raises.
    """
    left_out = [n for n in names if n in skipped(profile)]
    return {n: experiment_run(n, profile) for n in names if n not in left_out}, left_out


# ---------------------------------------------------------------- what each report figure compares
@dataclass(frozen=True)
class System:
    """A bar in a figure: experiment ``run`` evaluated on ``test`` (``irmas`` | ``audioset``)."""

    label: str
    run: str
    test: str = "irmas"


@dataclass(frozen=True)
class Comparison:
    """One report figure: its systems (bars), metrics and the paired tests its text needs.

    Titles and labels say ``{irmas}`` / ``{audioset}`` where a data set is named: :meth:`named`
    fills in the profile's names, so SynthIRMAS results are never labelled IRMAS.
    """

    title: str
    systems: tuple[System, ...]
    metrics: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # system labels (A, B): A minus B

    def named(self, profile: Profile) -> Comparison:
        names = profile.data_names
        return Comparison(self.title.format(**names),
                          tuple(replace(s, label=s.label.format(**names)) for s in self.systems), self.metrics,
                          tuple((a.format(**names), b.format(**names)) for a, b in self.pairs))


_CORE = ("hamming_score", "exact_match", "macro_f1")
_PR = ("macro_precision", "macro_recall")
_W1 = System("static, window 1 s", "resnet50_w1")
_W3 = System("static, window 3 s", "resnet50_w3")
_TDS4, _TDS5 = System("TDS-4, window 1 s", "resnet50_w1_tds4"), System("TDS-5, window 1 s", "resnet50_w1_tds5")
_BSP1, _BSP3 = System("BSPDS-5, window 1 s", "resnet50_w1_bspds5"), System("BSPDS-5, window 3 s", "resnet50_w3_bspds5")

COMPARISONS: dict[str, Comparison] = {
    "5.1": Comparison("ResNet-50 with different window sizes",
                      (System("window 1 s", "resnet50_w1"), System("window 2 s", "resnet50_w2"),
                       System("window 3 s", "resnet50_w3")),
                      _CORE, (("window 1 s", "window 2 s"), ("window 1 s", "window 3 s"), ("window 2 s", "window 3 s"))),
    "5.2a": Comparison("Non-pretrained CNNs, window 1 s",
                       (System("1-D CNN raw audio", "raw_cnn_w1"), System("2-D CNN MFCC", "mfcc_cnn_w1"),
                        System("1-D CNN audio features", "features_cnn_w1"), System("ResNet-50", "resnet50_w1")),
                       _CORE, (("1-D CNN raw audio", "2-D CNN MFCC"), ("1-D CNN raw audio", "1-D CNN audio features"),
                               ("2-D CNN MFCC", "1-D CNN audio features"), ("ResNet-50", "1-D CNN raw audio"),
                               ("ResNet-50", "2-D CNN MFCC"), ("ResNet-50", "1-D CNN audio features"))),
    "5.2b": Comparison("Macro precision and recall: raw audio vs audio features",
                       (System("1-D CNN raw audio", "raw_cnn_w1"), System("1-D CNN audio features", "features_cnn_w1")),
                       _PR, (("1-D CNN raw audio", "1-D CNN audio features"),)),
    "5.3a": Comparison("Dynamic sampling vs static (ResNet-50)",
                       (_W1, _TDS4, _TDS5, _BSP1, _W3, _BSP3), _CORE,
                       ((_TDS4.label, _W1.label), (_TDS5.label, _W1.label), (_BSP1.label, _W1.label),
                        (_BSP3.label, _W3.label), (_TDS4.label, _TDS5.label), (_TDS4.label, _BSP1.label),
                        (_TDS5.label, _BSP1.label), (_BSP3.label, _BSP1.label), (_BSP3.label, _TDS4.label),
                        (_BSP3.label, _TDS5.label))),
    "5.3b": Comparison("Macro precision and recall: dynamic vs static",
                       (_W1, _TDS5, _W3, _BSP3), _PR, ((_TDS5.label, _W1.label), (_BSP3.label, _W3.label))),
    "5.4": Comparison("ResNet-50 trained and tested on {audioset} / {irmas}",
                      (System("{audioset} -> {irmas}", "resnet50_audioset_w1", "irmas"),
                       System("{audioset} -> {audioset}", "resnet50_audioset_w1", "audioset"),
                       System("{irmas} -> {audioset}", "resnet50_w1", "audioset"),
                       System("{irmas} -> {irmas}", "resnet50_w1", "irmas")),
                      _CORE, (("{irmas} -> {irmas}", "{audioset} -> {irmas}"),
                              ("{audioset} -> {audioset}", "{irmas} -> {audioset}"))),
    "5.5a": Comparison("AST vs ResNet-50, trained on {audioset}, tested on {irmas}",
                       (System("ResNet-50", "resnet50_audioset_w1"), System("AST", "ast_audioset_w1")),
                       _CORE, (("AST", "ResNet-50"),)),
    "5.5b": Comparison("AST on {irmas} with lower and higher L2 regularisation",
                       (System("AST, lower L2", "ast_w1_l2low"), System("AST, higher L2", "ast_w1_l2high")),
                       _CORE, (("AST, higher L2", "AST, lower L2"),)),
    "5.8": Comparison("Final candidates",
                      (System("ResNet-50 static, w1", "resnet50_w1"), System("ResNet-50 BSPDS-5, w3", "resnet50_w3_bspds5"),
                       System("AST higher L2, w1", "ast_w1_l2high")),
                      _CORE + _PR + ("micro_f1",),
                      (("ResNet-50 BSPDS-5, w3", "ResNet-50 static, w1"), ("ResNet-50 BSPDS-5, w3", "AST higher L2, w1"),
                       ("ResNet-50 static, w1", "AST higher L2, w1"))),
}
LOSS_CURVES = {"5.6": ("ast_w1_l2low", "ast_w1_l2high")}
COST_MODELS = {"5.7": ("raw_cnn_w1", "mfcc_cnn_w1", "features_cnn_w1", "resnet50_w1", "ast_w1_l2high")}


@dataclass
class Collected:
    """The systems of one :class:`Comparison`, ready for ``harmonylib.evaluate``'s tables.

    ``systems``: label -> (y_true, y_pred); ``scores``: label -> clip scores; ``groups``: label ->
    songs; ``skipped``: labels left out because the profile skips their run; ``pairs``: the tests
    whose two systems both exist.
    """

    comparison: Comparison
    systems: dict[str, tuple[np.ndarray, np.ndarray]]
    scores: dict[str, np.ndarray]
    groups: dict[str, np.ndarray]
    runs: dict[str, Run]
    skipped: list[str]
    pairs: list[tuple[str, str]]
    thresholds: dict[str, np.ndarray]

    def systems_by_test(self) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """The systems grouped by the data set they were tested on: ``{test: {label: (y_true, y_pred)}}``, in the
        comparison's order (systems on one test set share their clips and labels)."""
        grouped: dict[str, dict] = {}
        for system in self.comparison.systems:
            if system.label in self.systems:
                grouped.setdefault(system.test, {})[system.label] = self.systems[system.label]
        return grouped


def tuned_thresholds(run: Run, strategy: str = "S2", per_class: bool = True) -> np.ndarray:
    """Thresholds tuned on the validation split of the data set ``run`` was trained on (never on test)."""
    val = run.predictions(run.train_dataset, "val")
    return tune_thresholds(val.scores(strategy), val.labels, per_class=per_class)


def collect(key: str, profile: Profile, strategy: str = "S2", threshold="fixed") -> Collected:
    """Load the runs of ``COMPARISONS[key]`` and predict with ``strategy`` and ``threshold``.

    ``threshold``: ``"fixed"`` (the profile's, 0.5 as in the report), ``"tuned"`` (per class on
    each run's validation split) or a number.
    """
    comparison = COMPARISONS[key].named(profile)
    runs, skipped_runs = available_runs(dict.fromkeys(s.run for s in comparison.systems), profile)
    systems, scores, groups, thresholds, clips = {}, {}, {}, {}, {}
    for system in comparison.systems:
        if system.run in skipped_runs:
            continue
        run = runs[system.run]
        predictions = run.predictions(system.test, "test")
        first = clips.setdefault(system.test, predictions)
        if not np.array_equal(first.clip_ids, predictions.clip_ids):
            raise HarmonyError(f"{first.path} and {predictions.path} score different {system.test} test clips; "
                               "rerun the older run on the current data", predictions.path)
        if threshold == "fixed":
            cut = np.full(NUM_CLASSES, profile.evaluate.threshold)
        elif threshold == "tuned":
            cut = tuned_thresholds(run, strategy)
        else:
            cut = np.full(NUM_CLASSES, float(threshold))
        scores[system.label] = predictions.scores(strategy)
        systems[system.label] = (predictions.labels, binarize(scores[system.label], cut))
        groups[system.label] = predictions.groups
        thresholds[system.label] = cut
    skipped = [s.label for s in comparison.systems if s.run in skipped_runs]
    pairs = [(a, b) for a, b in comparison.pairs if a in systems and b in systems]
    return Collected(comparison, systems, scores, groups, runs, skipped, pairs, thresholds)


# ---------------------------------------------------------------- one figure's evaluation
@dataclass
class Evaluation:
    """Everything a chapter-5 notebook shows for one :class:`Comparison`.

    ``metrics``: system, metric, value, ci_low, ci_high of the report's setting (S2 at the
    profile's threshold, 0.5); ``variants``: the same with S1 at 0.5 and S2 with thresholds tuned
    per class on validation beside it; ``tests``: the paired tests of the comparison on every
    metric of the figure (Holm-adjusted over the table); ``per_class``: per-class F1; ``baselines``: the
    trivial baselines on each test set (:func:`baseline_table`).
    """

    key: str
    profile: Profile
    collected: Collected
    metrics: pd.DataFrame
    variants: pd.DataFrame
    tests: pd.DataFrame
    per_class: pd.DataFrame
    baselines: pd.DataFrame

    def tests_with_test_set(self) -> pd.DataFrame:
        """``tests`` with a ``test`` column: the display name of the test set each pair was tested on (for
        :func:`resolution_markdown`, which reads a figure with two test sets per test set)."""
        names = self.profile.data_names
        tested_on = {s.label: names[s.test] for s in self.collected.comparison.systems}
        return self.tests.assign(test=self.tests["system_a"].map(tested_on))

    @property
    def main_variant(self) -> str:
        return f"{self.profile.evaluate.strategy} @ {self.profile.evaluate.threshold:g}"

    @property
    def baseline_rows(self) -> pd.DataFrame:
        """The baselines as rows of ``metrics``, named "baseline: <what it predicts>" ("baseline on <test
        data>: ..." where the figure has two test sets)."""
        names = self.profile.data_names
        two_tests = self.baselines["test"].nunique() > 1
        labels = []
        for r in self.baselines.itertuples():
            what = f"always {r.most_frequent} (most frequent in training)" if r.system == "most frequent class" \
                else r.system
            labels.append(f"baseline on {names[r.test]}: {what}" if two_tests else f"baseline: {what}")
        return self.baselines.assign(system=labels).drop(columns=["test", "most_frequent"])

    @property
    def with_baselines(self) -> pd.DataFrame:
        """``metrics`` followed by :attr:`baseline_rows` (the chapter-5 tables)."""
        return pd.concat([self.metrics, self.baseline_rows], ignore_index=True)

    def baselines_by_system(self) -> dict[str, pd.DataFrame]:
        """System label -> the baselines on its test set (for :func:`harmonylib.evaluate.plot_metric_bars`)."""
        return {s.label: self.baselines[self.baselines["test"] == s.test] for s in self.collected.comparison.systems
                if s.label in self.collected.systems}


def most_frequent_class(profile: Profile, dataset: str, data_dir=None) -> str:
    """The class most often labelled in the training split of ``dataset`` (``harmonylib.data.training_labels``);
    ties go to the first in alphabetical order. The "most frequent class" baseline predicts it for every clip."""
    from .data import locations

    return _most_frequent_class(profile, dataset, locations(profile, data_dir)[0])


@functools.lru_cache(maxsize=None)
def _most_frequent_class(profile: Profile, dataset: str, base) -> str:
    """:func:`most_frequent_class` of the data under ``base``, read once per kernel: a notebook's comparisons share it."""
    from .data import training_labels

    counts = pd.Series([code for labels in training_labels(profile, dataset, base) for code in labels]).value_counts()
    return counts.sort_index().idxmax()


def baseline_table(collected: Collected, profile: Profile, data_dir=None, n_resamples: int = 1000, seed: int = 0,
                   confidence: float = 0.95) -> pd.DataFrame:
    """The :func:`harmonylib.evaluate.trivial_baselines` on the test clips of each test set of ``collected``,
    as a :func:`metric_table` (systems: :data:`harmonylib.evaluate.BASELINES`) with a ``test`` column and a
    ``most_frequent`` one: the most frequent class of the test set's own training split
    (:func:`most_frequent_class`)."""
    tables = []
    for test, systems in collected.systems_by_test().items():
        label = next(iter(systems))
        y_true, groups = systems[label][0], collected.groups[label]
        most_frequent = most_frequent_class(profile, test, data_dir)
        predictions = {name: (y_true, predicted) for name, predicted in trivial_baselines(y_true, most_frequent).items()}
        table = metric_table(predictions, groups, METRICS, n_resamples, seed, confidence)
        tables.append(table.assign(test=test, most_frequent=most_frequent))
    return pd.concat(tables, ignore_index=True)


def evaluate_comparison(key: str, profile: Profile, variants: bool = True, data_dir=None) -> Evaluation:
    """Load, score and test the systems of ``COMPARISONS[key]`` (the evaluation notebooks' one call);
    ``data_dir``: where the profile's data are, for the training labels of the baselines."""
    cfg = profile.evaluate
    main = collect(key, profile, cfg.strategy, "fixed")
    resample = {"n_resamples": cfg.bootstrap_resamples, "seed": profile.seed, "confidence": cfg.confidence}
    metrics = metric_table(main.systems, main.groups, METRICS, **resample)
    tables = [metrics.assign(variant=f"{cfg.strategy} @ {cfg.threshold:g}")]
    if variants:
        for strategy, threshold, name in (("S1", "fixed", f"S1 @ {cfg.threshold:g}"),
                                          (cfg.strategy, "tuned", f"{cfg.strategy} @ tuned on validation")):
            other = collect(key, profile, strategy, threshold)
            tables.append(metric_table(other.systems, other.groups, METRICS, **resample).assign(variant=name))
    tests = comparison_table(main.systems, main.pairs, main.groups, main.comparison.metrics,
                             n_resamples=cfg.permutation_resamples, seed=profile.seed, confidence=cfg.confidence)
    # per-class F1 needs systems on one test set per table
    per_class = pd.concat([per_class_f1(systems).assign(test=test) for test, systems in main.systems_by_test().items()],
                          ignore_index=True)
    variants_table = pd.concat(tables, ignore_index=True)[["variant", "system", "metric", "value", "ci_low", "ci_high"]]
    baselines = baseline_table(main, profile, data_dir, **resample)
    return Evaluation(key, profile, main, metrics, variants_table, tests, per_class, baselines)


def weights_label(opened: dict[str, Run]) -> str:
    """The runs' initial weights for a figure's provenance: models grouped by their weights' description."""
    models: dict[str, list[str]] = {}
    for r in opened.values():
        names = models.setdefault(str(r.config.get("weights", "unknown")), [])
        if r.config.get("model", "?") not in names:
            names.append(r.config.get("model", "?"))
    return "; ".join(f"{', '.join(names)}: {weights}" for weights, names in models.items())


def _most_common_then_others(values: dict[str, set], unit: str) -> str:
    """The most common of ``values`` (system -> values of its runs; ties: the smallest), then the systems whose
    runs have other values."""
    def order(value) -> tuple:  # numbers by value ("48" before "132"), words after them
        leading = str(value).split()[0]
        return (0, float(leading), "") if leading.replace(".", "", 1).isdigit() else (1, 0.0, str(value))

    flat = [v for system_values in values.values() for v in system_values]
    common = max(sorted(set(flat), key=order), key=flat.count)
    others = [f"{system}: {', '.join(map(str, sorted(v - {common}, key=order)))}" for system, v in values.items()
              if v - {common}]
    return f"{common}{unit}" + (f" ({'; '.join(others)})" if others else "")


def training_label(opened: dict[str, Run]) -> str:
    """How long the runs trained, for a figure's provenance: optimiser steps per run and seconds of training
    audio per epoch, per model and window length where they differ (e.g. "132 optimiser steps per run
    (ast w1: 600), training audio per epoch: 352 s (ast w1: 640 s)")."""
    steps: dict[str, set] = {}
    audio: dict[str, set] = {}
    for r in opened.values():
        window = float(r.parameters.get("window", 1))
        system = f"{r.config.get('model', '?')} w{window:g}"
        steps.setdefault(system, set()).add(int(r.summary["optimiser_steps"]))
        audio.setdefault(system, set()).add(audio_per_epoch(r.config.get("settings", {}).get("samples_per_epoch"),
                                                            window))
    return (f"{_most_common_then_others(steps, ' optimiser steps per run')}, training audio per epoch: "
            f"{_most_common_then_others(audio, '')}")


def evaluated_label(profile: Profile, collected: list[Collected]) -> str:
    """The test clips of the systems of ``collected``, for a figure's provenance: songs and clips of each test set
    (a song groups the excerpts the intervals resample together; an AudioSet clip is its own group)."""
    parts = {}
    for c in collected:
        for system in c.comparison.systems:
            if system.label in c.systems and system.test not in parts:
                songs, clips = len(set(c.groups[system.label])), len(c.systems[system.label][0])
                count = f"{clips} clips" if songs == clips else f"{songs} songs ({clips} clips)"
                parts[system.test] = f"{profile.data_names[system.test]} test, {count}"
    return "; ".join(parts.values())


def provenance(profile: Profile, source: dict[str, Run] | Collected | list[Collected],
               dataset: str | None = None) -> Provenance:
    """A chapter-5 figure's provenance: its data (default: the profile's data set), profile, the runs' initial
    weights (:func:`weights_label`) and how long they trained (:func:`training_label`); for the systems of one or
    more comparisons (``source`` a :class:`Collected` or a list of them) also the test clips they were scored on
    (:func:`evaluated_label`)."""
    collected = [source] if isinstance(source, Collected) else source if isinstance(source, list) else []
    opened = {name: run for c in collected for name, run in c.runs.items()} if collected else source
    return Provenance(dataset or profile.dataset_name, profile.name, weights_label(opened), training_label(opened),
                      evaluated_label(profile, collected))


def run_colour(run: str):
    """The colour of an experiment's bars in every chapter-5 figure (the grid's order, colour-blind palette)."""
    import seaborn as sns

    order = list(BY_NAME)
    # the colour-blind palette without its light blue, which is kept for a run never drawn beside
    # resnet50_w1 (blue); then hues apart from the palette's
    extra = ["#333333", "#6a3d9a", "#1b7f7f", sns.color_palette("colorblind")[9], "#8c1c13", "#b15928", "#4d7c0f",
             "#9d174d"]
    colours = sns.color_palette("colorblind", 9) + extra[:len(order) - 9]
    return colours[order.index(run)]


def system_style(systems) -> tuple[dict, dict]:
    """Colour and hatch per system label: one colour per experiment, the same in every figure; hatched
    where a model is tested on the other data set than it was trained on (Fig. 5.4, 5.5a)."""
    palette = {s.label: run_colour(s.run) for s in systems}
    hatches = {s.label: "//" for s in systems if s.test != BY_NAME[s.run].parameters["dataset"]}
    return palette, hatches


def plot_evaluation(evaluation: Evaluation, ax, metrics: tuple[str, ...] | None = None):
    """Figure bars of an evaluation (report setting) with bootstrap CIs as error bars and the trivial
    baselines of each bar's test set as ticks across it."""
    metrics = metrics or evaluation.collected.comparison.metrics
    shown = [s for s in evaluation.collected.comparison.systems if s.label in evaluation.collected.systems]
    palette, hatches = system_style(shown)
    plot_metric_bars(evaluation.metrics, metrics, ax, systems=[s.label for s in shown], palette=palette,
                     hatches=hatches, baselines=evaluation.baselines_by_system())
    title, tests = evaluation.collected.comparison.title, test_data_names(evaluation)
    named = "tested on" in title or "trained and tested" in title  # the title already names the test data
    ax.set_title(f"{title}\n({evaluation.main_variant}" + ("" if named else f"; test data: {' and '.join(tests)}")
                 + ")", fontsize=10)
    if any(" -> " in s.label for s in shown):
        ax.get_legend().set_title("trained -> tested", prop={"size": 8})
    ax.figure.tight_layout(rect=(0, 0.04, 1, 1))  # room for the provenance line save_figure adds
    return ax


def test_data_names(evaluation: Evaluation) -> list[str]:
    """Display names of the test sets of an evaluation (SynthIRMAS / IRMAS, SynthAudioSet / AudioSet)."""
    names = evaluation.profile.data_names
    return list(dict.fromkeys(names[s.test] for s in evaluation.collected.comparison.systems))


def wide(table: pd.DataFrame, metrics, digits: int = 4) -> pd.DataFrame:
    """A long metric table as one row per system: ``metric`` and ``metric [CI]`` columns."""
    rows = []
    for system, part in table.groupby("system", sort=False):
        part = part.set_index("metric")
        row = {"system": system}
        for m in metrics:
            row[m] = round(part.loc[m, "value"], digits)
            row[f"{m} CI"] = f"[{part.loc[m, 'ci_low']:.{digits}f}, {part.loc[m, 'ci_high']:.{digits}f}]"
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- beside the original study
def beside_paper(evaluation: Evaluation) -> pd.DataFrame:
    """Our value and CI next to the original study's number for every system and metric it reported.

    Only meaningful on the real IRMAS/AudioSet (``profile.data.source == "real"``); the notebooks
    say so and show it only then. The original's split of the IRMAS testing data was random per file,
    ours is by song, so even then the test clips differ.
    """
    rows = []
    for system in evaluation.collected.comparison.systems:
        ours = evaluation.metrics[evaluation.metrics["system"] == system.label].set_index("metric")
        for metric, value in reference.paper_results(system.run, system.test).items():
            if system.label in evaluation.collected.systems and metric in evaluation.collected.comparison.metrics:
                low, high = ours.loc[metric, "ci_low"], ours.loc[metric, "ci_high"]
                rows.append({"system": system.label, "metric": metric, "ours": ours.loc[metric, "value"],
                             "ci_low": low, "ci_high": high, "original": value,
                             "original inside our CI": bool(low <= value <= high)})
    return pd.DataFrame(rows)


def not_comparable(*evaluations: Evaluation, metric: str = "macro_f1") -> str:
    """Markdown for a synthetic profile: the evaluations' numbers are not comparable to the report's,
    which it quotes for their systems (:data:`harmonylib.reference.PAPER_RESULTS`)."""
    real_names = {"irmas": "IRMAS", "audioset": "AudioSet"}
    quoted = dict.fromkeys(
        f"{system.label.format(**real_names)} {value:.4g}"
        for e in evaluations for system in COMPARISONS[e.key].systems
        if (value := reference.paper_results(system.run, system.test).get(metric)) is not None)
    names = " and ".join(dict.fromkeys(name for e in evaluations for name in test_data_names(e)))
    return (f"Trained and tested on **{names}**, synthetic stand-ins: these numbers are **not comparable** to the "
            f"report's IRMAS/AudioSet results ({METRIC_LABELS[metric]}: {'; '.join(quoted)}). Run the `full` "
            "profile on the real data sets for that comparison.")


def published_results() -> pd.DataFrame:
    """Published micro and macro F1 on the full IRMAS test set (``reference.PUBLISHED_RESULTS``)."""
    return pd.DataFrame(reference.PUBLISHED_RESULTS, columns=["system", "micro_f1", "macro_f1"]).astype(
        {"macro_f1": float})


# ---------------------------------------------------------------- verdicts, computed from the tests
def describe_tests(tests: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """One sentence per paired test: the difference, its CI, p and Holm-adjusted p, and the verdict."""
    lines = []
    for r in tests.itertuples():
        verdict = "significant" if r.p_holm < alpha else "not significant"
        lines.append(f"{r.system_a} - {r.system_b}: {METRIC_LABELS.get(r.metric, r.metric)} difference "
                     f"{r.difference:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}], p = {r.p_value:.3g} "
                     f"(Holm {r.p_holm:.3g}): {verdict} at alpha = {alpha:g}")
    return lines


def winners(metrics: pd.DataFrame, tests: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per metric: the system with the highest value, whom it beats significantly (Holm-adjusted paired
    tests) and from whom it is not distinguishable. Systems tied on the value are listed together."""
    rows = []
    for metric, part in metrics.groupby("metric", sort=False):
        if metric not in set(tests["metric"]):
            continue
        top = part["value"].max()
        best = part.loc[part["value"] == top, "system"].tolist()
        beats, ties = [], []
        for other in part.loc[part["value"] < top, "system"]:
            pair = tests[(tests["metric"] == metric)
                         & (((tests["system_a"] == best[0]) & (tests["system_b"] == other))
                            | ((tests["system_a"] == other) & (tests["system_b"] == best[0])))]
            if pair.empty:
                continue
            (beats if pair["p_holm"].iloc[0] < alpha else ties).append(f"{other} (Holm p = {pair['p_holm'].iloc[0]:.3g})")
        rows.append({"metric": metric, "best": " = ".join(best), "value": top,
                     "significantly better than": "; ".join(beats) or "none",
                     "not distinguishable from": "; ".join(ties + best[1:]) or "none"})
    return pd.DataFrame(rows)


def winners_markdown(verdict: pd.DataFrame, core: tuple[str, ...] = _CORE) -> str:
    """A :func:`winners` table in words: one line per metric, then which system tops the report's three
    metrics and whether it is significantly better than all the others on any of them."""
    lines = [f"- **{METRIC_LABELS[r.metric]}**: {r.best} ({r.value:.4f}); significantly better than: "
             f"{r._4}; not distinguishable from: {r._5}." for r in verdict.itertuples()]
    on_core = verdict[verdict["metric"].isin(core)]
    tops = on_core["best"].str.split(" = ").explode().value_counts()
    clear = on_core[on_core["not distinguishable from"] == "none"]
    lines.append(f"\nOn the report's three metrics (Hamming, exact match, macro F1), **{tops.index[0]}** is on top "
                 f"{tops.iloc[0]} time(s). " + (
                     "On none of them is the top system significantly better than all the others."
                     if clear.empty else
                     "The top system is significantly better than all the others on: "
                     + "; ".join(f"{METRIC_LABELS[r.metric]} ({r.best})" for r in clear.itertuples()) + "."))
    return "\n".join(lines)


# ---------------------------------------------------------------- the report's claims, one verdict each
VERDICTS = ("holds", "does not hold", "inconclusive", "not tested")
PRETRAINED_ON = {"resnet50": "ImageNet", "ast": "AudioSet"}  # the report's starting weights (report 4.4, 4.5)
CLAIM_COLUMNS = ["claim", "section", "figure", "statement", "metric", "report", "here", "half_width", "verdict",
                 "basis"]


def pair_verdict(expect: str, difference: float, low: float, high: float, p_holm: float, alpha: float,
                  margin: float) -> str:
    """One pair's verdict: "higher" holds where A - B is significantly positive (Holm-adjusted paired test)
    and does not hold where it is significantly negative; "similar" (an equivalence claim) holds where the
    95 % interval of A - B lies inside +-``margin`` and does not hold where it lies wholly outside. Otherwise
    the test songs cannot tell: inconclusive."""
    if expect == "higher":
        return ("holds" if difference > 0 else "does not hold") if p_holm < alpha else "inconclusive"
    if expect == "similar":
        if -margin <= low and high <= margin:
            return "holds"
        return "does not hold" if low > margin or high < -margin else "inconclusive"
    raise ValueError(f"a paired claim expects 'higher' or 'similar', not {expect!r}")


def combine_verdicts(verdicts) -> str:
    """A claim over several pairs holds where every pair does and fails where any pair does."""
    verdicts = list(verdicts)
    if "does not hold" in verdicts:
        return "does not hold"
    if not verdicts or "not tested" in verdicts:
        return "not tested"
    return "holds" if all(v == "holds" for v in verdicts) else "inconclusive"


def _report_pairs(claim: reference.Claim) -> list[tuple[str, str, float, float]]:
    """(A, B, A's value, B's value) in the report for each pair of a claim where the report gave both."""
    pairs = []
    for a, b in claim.pairs:
        values = [reference.paper_results(*reference.claim_system(side)).get(claim.metric) for side in (a, b)]
        if None not in values:
            pairs.append((a, b, *values))
    return pairs


def report_numbers(claim: reference.Claim) -> str:
    """The report's own numbers for a paired claim's systems ("A 0.5507 vs B 0.5432"), where it gave them."""
    return "; ".join(f"{a} {va:.4g} vs {b} {vb:.4g}" for a, b, va, vb in _report_pairs(claim)) or \
        "not read off the report's figures"


def _test_row(tests: pd.DataFrame, a: str, b: str, metric: str):
    """The paired test of labels a and b on ``metric`` and the sign that turns it into A - B (None if absent)."""
    for first, second, sign in ((a, b, 1.0), (b, a, -1.0)):
        row = tests[(tests["system_a"] == first) & (tests["system_b"] == second) & (tests["metric"] == metric)]
        if len(row):
            return row.iloc[0], sign
    return None, 1.0


def claim_verdicts(*evaluations: Evaluation, alpha: float = 0.05,
                   margin: float = reference.EQUIVALENCE_MARGIN) -> pd.DataFrame:
    """The verdict on each paired claim of :data:`harmonylib.reference.CLAIMS` tested by ``evaluations``'
    figures, from their paired tests (Holm-adjusted over each figure's table) and 95 % intervals of the
    difference (:func:`pair_verdict`). Columns :data:`CLAIM_COLUMNS` (notebooks 50-57)."""
    by_figure = {e.key: e for e in evaluations}
    rows = []
    for claim in reference.CLAIMS:
        evaluation = by_figure.get(claim.figure)
        if evaluation is None or claim.expect == "descriptive":
            continue
        labels = {(s.run, s.test): s.label for s in evaluation.collected.comparison.systems}
        verdicts, evidence, half_widths = [], [], []
        for a, b in claim.pairs:
            label_a, label_b = labels[reference.claim_system(a)], labels[reference.claim_system(b)]
            if label_a not in evaluation.collected.systems or label_b not in evaluation.collected.systems:
                verdicts.append("not tested")
                evidence.append(f"{label_a} vs {label_b}: not run at this profile")
                continue
            row, sign = _test_row(evaluation.tests, label_a, label_b, claim.metric)
            if row is None:
                raise KeyError(f"figure {claim.figure} has no paired test of {label_a!r} and {label_b!r} on "
                               f"{claim.metric} (claim {claim.key!r})")
            difference = sign * row["difference"]
            low, high = sorted((sign * row["ci_low"], sign * row["ci_high"]))
            verdicts.append(pair_verdict(claim.expect, difference, low, high, row["p_holm"], alpha, margin))
            half_widths.append((high - low) / 2)
            evidence.append(f"{label_a} - {label_b}: {difference + 0.0:+.3f} [{low + 0.0:+.3f}, {high + 0.0:+.3f}], "
                            f"p {row['p_value']:.2g}, Holm p {row['p_holm']:.2g}")
        basis = (f"higher: paired permutation test over songs, Holm over Fig. {claim.figure}'s table, alpha {alpha:g}"
                 if claim.expect == "higher" else
                 f"similar: the unadjusted 95 % paired-bootstrap interval of the difference inside +-{margin:g}")
        rows.append(claim_row(claim, report_numbers(claim), "; ".join(evidence), combine_verdicts(verdicts), basis,
                              float(np.median(half_widths)) if half_widths else np.nan))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def claim_row(claim: reference.Claim, report: str, here: str, verdict: str, basis: str,
              half_width: float = np.nan) -> dict:
    """A row of a claims table: the claim, the report's numbers, ours (``here``), the median half-width of
    the paired 95 % intervals that tested it (what the test songs can resolve), the verdict and its basis."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
    return {"claim": claim.key, "section": claim.section, "figure": claim.figure, "statement": claim.statement,
            "metric": METRIC_LABELS.get(claim.metric, claim.metric), "report": report, "here": here,
            "half_width": half_width, "verdict": verdict, "basis": basis}


def descriptive_verdict(key: str, holds: bool, here: str, basis: str, report: str = "") -> pd.DataFrame:
    """A claims table of one claim decided from a notebook's numbers rather than a paired test."""
    claim = reference.claim(key)
    return pd.DataFrame([claim_row(claim, report or "see the report's figure", here,
                                   "holds" if holds else "does not hold", f"descriptive: {basis}")],
                        columns=CLAIM_COLUMNS)


def record_claims(verdicts: pd.DataFrame, profile: Profile) -> Path:
    """Add ``verdicts`` to ``figures/claims.csv``, every claim of the report in :data:`CLAIMS` order with the
    profile and data that decided it (rows of other profiles are dropped; notebooks run two at a time)."""
    from filelock import FileLock

    from .io import write_csv

    target = paths.figures_dir() / "claims.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = verdicts.assign(profile=profile.name, data=profile.dataset_name,
                            half_width=[f"{w:.4g}" if pd.notna(w) else "" for w in verdicts["half_width"]])
    with FileLock(str(target.with_name(f".{target.name}.lock"))):
        kept = pd.read_csv(target, dtype=str, keep_default_na=False) if target.exists() else fresh.iloc[:0]
        kept = kept[(kept["profile"] == profile.name) & ~kept["claim"].isin(fresh["claim"])]
        table = pd.concat([kept, fresh.astype(str)], ignore_index=True)
        order = {c.key: i for i, c in enumerate(reference.CLAIMS)}
        table = table.sort_values("claim", key=lambda keys: keys.map(order), kind="stable")
        write_csv(target, table)
    return target


def report_differences(claims, metric: str = "macro_f1") -> tuple[float, float] | None:
    """The smallest and largest difference in ``metric``, in the report's own numbers, between the systems of
    those of ``claims`` (keys of :data:`harmonylib.reference.CLAIMS`) that say one system is higher; None
    where there are none."""
    gaps = [abs(va - vb) for key in claims for c in [reference.claim(key)] if c.expect == "higher" and c.metric == metric
            for *_, va, vb in _report_pairs(c)]
    return (min(gaps), max(gaps)) if gaps else None


def _span(low: float, high: float) -> str:
    return f"{low:.3f}" if f"{low:.3f}" == f"{high:.3f}" else f"{low:.3f}-{high:.3f}"


def resolution_markdown(tests: pd.DataFrame | list[pd.DataFrame], verdicts: pd.DataFrame,
                        metric: str = "macro_f1") -> str:
    """What differences the notebook's paired ``tests`` can detect (:func:`harmonylib.evaluate.detectable_difference`):
    between two systems by one test at 5 %, and at Holm's first step over each table (``tests`` is one table or a list
    of them, each its own Holm family; a table with a ``test`` column of several test sets,
    :meth:`Evaluation.tests_with_test_set`, is read per test set); that against the report's own differences in its
    claims ``verdicts``, and how narrow an interval its claims of similarity would need."""
    tables = [t for t in (tests if isinstance(tests, list) else [tests]) if (t["metric"] == metric).any()]
    label = METRIC_LABELS[metric]
    if not tables:
        return f"No paired test of {label} here, so no detectable difference to state."
    found = []  # (test set or None, between two systems, at Holm's first step, tests in the family)
    for table in tables:
        parts = (table.groupby("test", sort=False) if "test" in table and table["test"].nunique() > 1
                 else [(None, table)])
        found += [(test, detectable_difference(rows, metric, family=1),
                   detectable_difference(rows, metric, family=len(table)), len(table))
                  for test, rows in parts if (rows["metric"] == metric).any()]
    detectable = max(holm for _, _, holm, _ in found)
    if detectable == 0:
        return (f"The median paired interval of {label} has zero width: most pairs of systems predict alike on every "
                "clip, so the intervals do not show what difference these test songs could detect.")
    if len(tables) == 1 and found[0][0] is not None:  # one table, read per test set
        between = f"{label} between two systems: " + ", ".join(f"{pair:.3f} on {test}" for test, pair, _, _ in found)
        takes = ", ".join(f"{value:.3f} on {test}" for test, _, value, _ in found)
    else:
        between = f"{max(pair for _, pair, _, _ in found):.3f} {label} between two systems"
        takes = (f"**{detectable:.3f}**" if len(found) == 1
                 else "; ".join(f"{value:.3f} over {n} tests" for _, _, value, n in found))
    where = (f"the table's {found[0][3]} tests (5 % / {found[0][3]} at Holm's first step" if len(tables) == 1
             else "each table (5 % / n at Holm's first step over n tests")
    text = (f"**Resolution: {between}** is the smallest true difference one paired test at the 5 % level detects with "
            "80 % power on these test songs, for systems that disagree as often as the median pair here. The verdicts' "
            f"tests are Holm-adjusted over {where}, the level the smallest p-value faces; later steps are less strict), "
            f"where the same power takes {takes}. A verdict judges the direction of a difference; whether its size "
            "matches the report's, the interval in the claim's row says.")
    gaps = report_differences(verdicts["claim"], metric)
    if gaps:
        low, high = gaps
        reach = ("all of them" if detectable <= low else "only the larger of them" if detectable <= high
                 else "none of them")
        text += (f" The report's claims tested here rest on differences of {_span(low, high)}, so at Holm's first "
                 f"step these test songs can resolve {reach}.")
    if any(reference.claim(key).expect == "similar" for key in verdicts["claim"]):
        rows = pd.concat(tables)
        half = ((rows["ci_high"] - rows["ci_low"]) / 2)[rows["metric"] == metric].median()
        text += (f" A claim that two systems are similar holds only where the whole interval of their difference lies "
                 f"within ±{reference.EQUIVALENCE_MARGIN:g}; the median half-width here is {half:.3f}"
                 + (", so at this profile such a claim can hold only for an unusually narrow interval."
                    if half > reference.EQUIVALENCE_MARGIN else "."))
    return text


def claims_markdown(verdicts: pd.DataFrame, profile: Profile, opened: dict[str, Run],
                    tests: pd.DataFrame | list[pd.DataFrame] | None = None) -> str:
    """The verdicts in words and why a claim does not hold or cannot be decided here: the causes that apply
    at ``profile`` to the runs ``opened`` (synthetic data, optimiser steps, random initial weights, the
    number of test songs against the width of the paired intervals); with the notebook's paired ``tests``,
    the smallest difference they detect (:func:`resolution_markdown`)."""
    counts = verdicts["verdict"].value_counts()
    lines = [f"**{len(verdicts)} claim(s) of the report tested here: "
             + ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS if counts.get(v, 0)) + ".**", ""]
    lines += [f"- {r.section} *{r.statement}*: **{r.verdict}** ({r.here})." for r in verdicts.itertuples()]
    if tests is not None:
        lines += ["", resolution_markdown(tests, verdicts)]
    open_claims = verdicts[verdicts["verdict"].isin(["does not hold", "inconclusive"])]
    if open_claims.empty:
        return "\n".join(lines) + "\n"
    causes = []
    if profile.data.source == "synth":
        causes.append(f"the models learnt and were tested on {profile.dataset_name} (and "
                      f"{profile.audioset_name}), rendered from SoundFonts, not on the report's recordings")
    if opened:
        from .models import DISPLAY_NAMES

        paper_steps = reference.PAPER_EPOCHS * -(-sum(reference.IRMAS_TRAIN_COUNTS.values()) * 3
                                                 // reference.PAPER_BATCH_SIZE)
        if max(int(r.summary["optimiser_steps"]) for r in opened.values()) < paper_steps:
            causes.append(f"they trained for {training_label(opened)}, against the report's 35 epochs over every "
                          f"window ({paper_steps:,} steps for a 1-s model)")
        random = sorted({r.config["model"] for r in opened.values()
                         if r.config.get("model") in PRETRAINED_ON and "random" in str(r.config.get("weights"))})
        causes += [f"{DISPLAY_NAMES[model]} started from random weights, where the report's was pretrained on "
                   f"{PRETRAINED_ON[model]}" for model in random]
    inconclusive = open_claims[open_claims["verdict"] == "inconclusive"]
    widths = pd.to_numeric(inconclusive["half_width"], errors="coerce")
    if widths.notna().any():
        gaps = report_differences(inconclusive["claim"])
        causes.append(f"the paired 95 % intervals of the inconclusive claims are +-{widths.median():.3f} wide (median)"
                      + (f", where the report's own differences for these claims are {_span(*gaps)}"
                         if gaps else "") + (" (the resolution above)" if tests is not None else ""))
    if causes:
        lines += ["", "What stands between these runs and the report's: " + "; ".join(causes) + "."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- notebooks 56 and 57
def cost_table(opened: dict[str, Run]) -> pd.DataFrame:
    """Figure 5.7's numbers per run: parameters (ours and the original's), time per epoch, throughput and
    training time per second of audio (mean, fastest and slowest epoch), the process's peak memory, and the
    original's training hours."""
    from .models import DISPLAY_NAMES

    rows = []
    for name, run in opened.items():
        model, s, per_epoch = BY_NAME[name].model, run.summary, run.metrics
        audio_per_second = per_epoch["samples_per_second"] * float(run.parameters.get("window", 1))
        rows.append({
            "model": DISPLAY_NAMES[model], "key": model, "run": run.name, "device": s.get("device"),
            "epochs": len(per_epoch), "parameters": s.get("parameters"),
            "paper parameters": reference.PAPER_PARAMETERS[model],
            "seconds per epoch": per_epoch["train_seconds"].mean(),
            "s/epoch min": per_epoch["train_seconds"].min(), "s/epoch max": per_epoch["train_seconds"].max(),
            "windows per second": per_epoch["samples_per_second"].mean(),
            "win/s min": per_epoch["samples_per_second"].min(), "win/s max": per_epoch["samples_per_second"].max(),
            "ms per second of audio": (1000 / audio_per_second).mean(),
            "ms/s min": (1000 / audio_per_second).min(), "ms/s max": (1000 / audio_per_second).max(),
            "peak memory (MiB)": s.get("peak_memory_bytes", np.nan) / 2**20,
            "memory measure": s.get("peak_memory_measure"),
            "original hours (35 epochs, RTX 2080 Ti)": reference.ORIGINAL_HOURS[model],
        })
    return pd.DataFrame(rows)


def step_memory_table(opened: dict[str, Run], batch_size: int) -> pd.DataFrame:
    """MiB that one training step of each run's model holds (:func:`harmonylib.train.training_step_memory`:
    parameters, gradients, Adam's state, saved activations) for a batch of ``batch_size`` windows of the
    run's length, its model input computed first (notebook 56)."""
    import torch

    from .models import DISPLAY_NAMES
    from .predict import load_predictor
    from .train import training_step_memory

    rows = []
    for name, run in opened.items():
        predictor = load_predictor(run.path)
        samples = int(predictor.window * predictor.sample_rate)
        wave = 0.1 * torch.randn(batch_size, samples, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            inputs = predictor.model_input(wave.to(predictor.device))
        memory = training_step_memory(predictor.model, inputs)
        rows.append({"model": DISPLAY_NAMES[BY_NAME[name].model], **{part: size / 2**20 for part, size in memory.items()}})
    return pd.DataFrame(rows)


def choose_final_model(evaluation: Evaluation, table: pd.DataFrame) -> tuple[pd.DataFrame, str, Run]:
    """The final model among a comparison's single systems, chosen by macro F1 on the *validation* songs
    (the report chose on the test set, which makes the test score optimistic).

    Returns the table of validation and test macro F1 per candidate (test values from ``table``, a
    ``metric_table``), the chosen label and its run.
    """
    collected = evaluation.collected
    candidates = {s.label: s.run for s in collected.comparison.systems if s.label in collected.systems}
    validation = {label: validation_macro_f1(collected.runs[name], evaluation.profile) for label, name in candidates.items()}
    choice = pd.DataFrame({"validation macro F1": validation,
                           "test macro F1": table[table["metric"] == "macro_f1"].set_index("system")["value"]}).loc[
        list(candidates)]
    final_label = choice["validation macro F1"].idxmax()
    return choice, final_label, collected.runs[candidates[final_label]]


def validation_macro_f1(run: Run, profile: Profile) -> float:
    """Macro F1 of ``run`` on the validation songs of its training data (the profile's strategy and threshold)."""
    val = run.predictions(run.train_dataset, "val")
    return multilabel_metrics(val.labels, val.binarize(profile.evaluate.strategy, profile.evaluate.threshold))["macro_f1"]


def final_experiment(profile: Profile) -> str:
    """The experiment :func:`choose_final_model` makes the final model at ``profile`` (notebook 57), from the run
    folders alone: of the final candidates the profile runs, the one with the highest validation macro F1."""
    candidates = [s.run for s in COMPARISONS["5.8"].systems]
    runs, _ = available_runs(candidates, profile)
    return max(runs, key=lambda name: validation_macro_f1(runs[name], profile))
