"""The experiment grid of report chapter 5, declared once, and the reader of its run folders.

``./run_all.sh`` (``harmonylib.pipeline``) executes every :class:`Experiment` of
:func:`experiments_for` through papermill: the training notebook ``notebook`` with ``parameters``
(plus ``profile`` and ``data_dir``), keeping the executed notebook and the run folder. The
evaluation notebooks 50-57 never train: they read the run folders with :func:`load_run` and
compare the systems that :data:`COMPARISONS` names for each report figure.

Run folder ``runs_dir()/<profile>-<name>/``, written by ``harmonylib.train.fit`` and the
training notebooks:

* ``config.json``: ``settings`` (``TrainSettings``; ``settings.extra`` holds the notebook
  parameters: dataset, window, sampling ...), ``model``, ``weights`` (where the initial weights came from).
* ``run.json``: ``status`` ("finished"), ``parameters`` (count), ``device``, ``seconds_per_epoch``,
  ``samples_per_second``, ``peak_memory_bytes``, ``peak_memory_measure`` -- Figure 5.7's numbers.
* ``metrics.csv``: one row per epoch: ``epoch`` (from 0), ``train_loss``, ``val_loss`` (window BCE),
  ``val_macro_f1`` ... -- Figure 5.6's curves.
* ``predictions_<dataset>_<split>.npz`` (dataset ``irmas`` | ``audioset``, split ``test`` | ``val``),
  written with ``harmonylib.train.save_predictions`` from the selected checkpoint: the training data
  set's ``val`` and ``test`` splits and the ``test`` split of every data set in the ``eval_datasets``
  parameter. ``test_predictions.npz`` is read as the training data set's test split. Keys:

  ============  ===========================  ==================================================
  key           shape, dtype                 meaning
  ============  ===========================  ==================================================
  probs         (n_windows, 11) float32      sigmoid output of every window
  clip_index    (n_windows,) int             row of the window's clip in ``clip_ids``
  clip_ids      (n_clips,) str               clip identifier (IRMAS: file path or name; AudioSet: ytid)
  labels        (n_clips, 11) int            multi-hot labels in ``CLASSES`` order
  groups        (n_clips,) str, optional     song of each clip; default: IRMAS file name without
                                             the trailing ``-N`` (``data.irmas.song_of``),
                                             AudioSet clip id (every clip its own "song")
  ============  ===========================  ==================================================

Run folders are named by profile so that a smoke run never overwrites a default one.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import paths
from .config import Profile, get_profile
from .errors import HarmonyError
from .evaluate import aggregate, predict
from .labels import NUM_CLASSES

NOTEBOOKS = {
    "raw_cnn": "30_train_raw_cnn.py",
    "mfcc_cnn": "31_train_mfcc_cnn.py",
    "features_cnn": "32_train_features_cnn.py",
    "resnet50": "33_train_resnet50.py",
    "ast": "34_train_ast.py",
}
# AST weight decay (report 5.6) per optimiser group of harmonylib.train.paper_groups: "lower" is
# Adam's 1e-5 for backbone and classifier, "higher" 1e-4 (backbone) and 1e-3 (classifier).
AST_L2_LOW = {"weight_decay": {"base": 1e-5, "classifier": 1e-5}}
AST_L2_HIGH = {"weight_decay": {"base": 1e-4, "classifier": 1e-3}}


class MissingRunError(HarmonyError):
    """A run folder or prediction file an evaluation notebook needs does not exist (yet)."""


@dataclass(frozen=True)
class Experiment:
    """One training run: ``notebook`` executed with ``parameters``; ``group`` is the report figure
    that introduces it, ``used_in`` every figure that reads it, ``label`` its name in figures."""

    name: str
    notebook: str
    parameters: dict = field(default_factory=dict)
    group: str = ""
    used_in: tuple[str, ...] = ()
    label: str = ""

    @property
    def model(self) -> str:
        return next(model for model, notebook in NOTEBOOKS.items() if notebook == self.notebook)


def _experiment(name: str, model: str, label: str, used_in: tuple[str, ...], *, dataset: str = "irmas",
                window: int = 1, sampling: str = "static", max_sampled: int | None = None,
                eval_datasets: tuple[str, ...] = ("irmas",), **extra) -> Experiment:
    parameters = {"dataset": dataset, "window": window, "sampling": sampling, "max_sampled": max_sampled,
                  "eval_datasets": list(eval_datasets), **extra}
    return Experiment(name, NOTEBOOKS[model], parameters, used_in[0], used_in, label)


EXPERIMENTS: list[Experiment] = [
    # 5.1 window sizes (static ResNet-50 on IRMAS); the 1-s run is also the static baseline of
    # 5.3, the IRMAS row of the 5.4 2x2 (hence also tested on AudioSet), a 5.7 model and a 5.8 candidate.
    _experiment("resnet50_w1", "resnet50", "ResNet-50, window 1 s", ("5.1", "5.3", "5.4", "5.7", "5.8"),
                eval_datasets=("irmas", "audioset")),
    _experiment("resnet50_w2", "resnet50", "ResNet-50, window 2 s", ("5.1",), window=2),
    _experiment("resnet50_w3", "resnet50", "ResNet-50, window 3 s", ("5.1", "5.3"), window=3),
    # 5.2 the non-pretrained CNNs, window 1 s
    _experiment("raw_cnn_w1", "raw_cnn", "1-D CNN raw audio", ("5.2", "5.7")),
    _experiment("mfcc_cnn_w1", "mfcc_cnn", "2-D CNN MFCC", ("5.2", "5.7")),
    _experiment("features_cnn_w1", "features_cnn", "1-D CNN audio features", ("5.2", "5.7")),
    # 5.3 dynamic sampling (report 3.5): true dynamic (TDS) and base-sample-persistent (BSPDS)
    _experiment("resnet50_w1_tds4", "resnet50", "ResNet-50 TDS-4, window 1 s", ("5.3",), sampling="tds", max_sampled=4),
    _experiment("resnet50_w1_tds5", "resnet50", "ResNet-50 TDS-5, window 1 s", ("5.3",), sampling="tds", max_sampled=5),
    _experiment("resnet50_w1_bspds5", "resnet50", "ResNet-50 BSPDS-5, window 1 s", ("5.3",), sampling="bspds",
                max_sampled=5),
    _experiment("resnet50_w3_bspds5", "resnet50", "ResNet-50 BSPDS-5, window 3 s", ("5.3", "5.8"), window=3,
                sampling="bspds", max_sampled=5),
    # 5.4 / 5.5a trained on AudioSet, tested on AudioSet and IRMAS
    _experiment("resnet50_audioset_w1", "resnet50", "ResNet-50 trained on the AudioSet data", ("5.4", "5.5"),
                dataset="audioset", eval_datasets=("audioset", "irmas")),
    _experiment("ast_audioset_w1", "ast", "AST trained on the AudioSet data", ("5.5",), dataset="audioset",
                eval_datasets=("audioset", "irmas"), **AST_L2_LOW),
    # 5.5b / 5.6 AST on IRMAS with lower and higher L2 regularisation
    _experiment("ast_w1_l2low", "ast", "AST, lower L2", ("5.5", "5.6"), **AST_L2_LOW),
    _experiment("ast_w1_l2high", "ast", "AST, higher L2", ("5.5", "5.6", "5.7", "5.8"), **AST_L2_HIGH),
]
BY_NAME = {e.name: e for e in EXPERIMENTS}


def _profile(profile: Profile | str | None) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def run_name(name: str, profile: Profile | str | None = None) -> str:
    """The run folder's name of experiment ``name`` at ``profile``: ``<profile>-<name>``."""
    return f"{_profile(profile).name}-{name}"


def experiments_for(profile: Profile | str | None = None) -> list[Experiment]:
    """The experiments ``./run_all.sh`` runs at ``profile``, each with its ``run_name`` parameter.

    A profile may leave out experiments (``EvalConfig.skip_experiments``) to fit its budget; the
    evaluation notebooks then skip the bars of those runs and say so, never a whole comparison.
    """
    profile = _profile(profile)
    unknown = set(profile.evaluate.skip_experiments) - set(BY_NAME)
    if unknown:
        raise HarmonyError(f"profile {profile.name!r} skips unknown experiments {sorted(unknown)}")
    return [replace(e, parameters={**e.parameters, "run_name": run_name(e.name, profile)})
            for e in EXPERIMENTS if e.name not in profile.evaluate.skip_experiments]


def command_for(name: str, profile: Profile | str | None = None) -> str:
    """The shell command that produces experiment ``name``'s run folder at ``profile`` on its own."""
    profile = _profile(profile)
    experiment = BY_NAME[name]
    parameters = {"profile": profile.name, **experiment.parameters, "run_name": run_name(name, profile)}
    out = paths.build_dir() / "notebooks" / profile.name / "experiments" / f"{name}.ipynb"
    return (f".venv/bin/jupytext --to ipynb --set-kernel python3 -o /tmp/{name}.ipynb notebooks/{experiment.notebook}"
            f" && .venv/bin/papermill /tmp/{name}.ipynb {out} -y {shlex.quote(json.dumps(parameters))}"
            f"   (or the whole grid: ./run_all.sh --profile {profile.name})")


# ---------------------------------------------------------------- reading run folders
@dataclass(frozen=True)
class Predictions:
    """One run's predictions on one split of one data set, clips sorted by ``clip_ids``."""

    clip_ids: np.ndarray
    groups: np.ndarray
    labels: np.ndarray
    window_probs: list[np.ndarray]
    path: Path

    def scores(self, strategy: str = "S2") -> np.ndarray:
        """Aggregated clip scores (n_clips, 11)."""
        return aggregate(self.window_probs, strategy)

    def predict(self, strategy: str = "S2", threshold=0.5) -> np.ndarray:
        return predict(self.scores(strategy), threshold)


def _default_groups(clip_ids: np.ndarray, dataset: str) -> np.ndarray:
    from .data.irmas import song_of

    if dataset == "audioset":
        return clip_ids.astype(str)
    return np.array([song_of(Path(c).stem) for c in clip_ids.astype(str)])


def read_predictions(path: Path, dataset: str = "irmas") -> Predictions:
    """Read and check one predictions npz (format: module docstring); ``dataset`` names the songs' rule."""
    path = Path(path)
    if not path.exists():
        raise MissingRunError("prediction file does not exist", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in ("clip_ids", "labels", "probs", "clip_index")}
            groups = npz["groups"] if "groups" in npz.files else None
    except KeyError as error:
        raise HarmonyError(f"prediction file lacks the array {error}", path) from None
    except (ValueError, OSError, EOFError) as error:
        raise HarmonyError(f"unreadable prediction file ({error})", path) from None
    clip_ids = data["clip_ids"].astype(str)
    n = len(clip_ids)
    groups = _default_groups(clip_ids, dataset) if groups is None else groups.astype(str)
    probs = data["probs"].astype(np.float64)
    index = data["clip_index"].astype(np.int64)
    problems = []
    if groups.shape != (n,) or data["labels"].shape != (n, NUM_CLASSES):
        problems.append(f"groups {groups.shape} / labels {data['labels'].shape} do not match {n} clips")
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or not np.all(np.isfinite(probs)) \
            or probs.min(initial=0) < 0 or probs.max(initial=0) > 1:
        problems.append(f"probs must be finite sigmoid outputs of shape (n_windows, {NUM_CLASSES})")
    elif index.shape != (len(probs),) or not np.array_equal(np.unique(index), np.arange(n)):
        problems.append("clip_index must give every window's clip, with at least one window per clip")
    if not np.isin(data["labels"], (0, 1)).all():
        problems.append("labels must be multi-hot (0/1)")
    if len(set(clip_ids.tolist())) != n:
        problems.append("clip_ids repeat")
    if problems:
        raise HarmonyError("; ".join(problems), path)
    order = np.argsort(clip_ids, kind="stable")
    by_window = np.argsort(index, kind="stable")  # windows of a clip stay in their recorded order
    blocks = np.split(probs[by_window], np.cumsum(np.bincount(index, minlength=n))[:-1])
    return Predictions(clip_ids[order], groups[order], data["labels"][order].astype(np.int8),
                       [blocks[i] for i in order], path)


@dataclass(frozen=True)
class Run:
    """A finished run folder: its configuration (config.json), summary (run.json), metrics and predictions."""

    name: str
    path: Path
    config: dict
    summary: dict
    label: str

    @cached_property
    def metrics(self) -> pd.DataFrame:
        path = self.path / "metrics.csv"
        if not path.exists():
            raise MissingRunError("run folder has no metrics.csv", path)
        return pd.read_csv(path)

    @property
    def parameters(self) -> dict:
        """The notebook parameters recorded with the run (dataset, window, sampling ...)."""
        return self.config.get("settings", {}).get("extra", {})

    @property
    def train_dataset(self) -> str:
        return self.parameters.get("dataset", "irmas")

    def predictions(self, dataset: str = "irmas", split: str = "test") -> Predictions:
        path = self.path / f"predictions_{dataset}_{split}.npz"
        legacy = self.path / "test_predictions.npz"
        if not path.exists() and (dataset, split) == (self.train_dataset, "test") and legacy.exists():
            path = legacy
        if not path.exists():
            raise MissingRunError(f"run {self.name!r} has no {dataset} {split} predictions; was it run with "
                                  f"eval_datasets including {dataset!r}?", path)
        return read_predictions(path, dataset)


def load_run(name: str, profile: Profile | str | None = None) -> Run:
    """The run folder of experiment ``name`` at ``profile``; a missing one raises
    :class:`MissingRunError` naming the run and the command that produces it."""
    profile = _profile(profile)
    if name not in BY_NAME:
        raise HarmonyError(f"unknown experiment {name!r}; the grid has {sorted(BY_NAME)}")
    folder = paths.runs_dir() / run_name(name, profile)
    config_path = folder / "config.json"
    if name in profile.evaluate.skip_experiments:
        raise MissingRunError(f"experiment {name!r} is skipped at profile {profile.name!r} "
                              "(EvalConfig.skip_experiments)", folder)
    summary_path = folder / "run.json"
    summary = _read_json(summary_path) if summary_path.exists() else {}
    if not config_path.exists() or summary.get("status") != "finished":
        state = ("has not been run (no config.json)" if not config_path.exists()
                 else "has not finished (run.json missing or not 'finished')")
        raise MissingRunError(f"run {run_name(name, profile)!r} {state}. "
                              f"Produce it with:\n  {command_for(name, profile)}", folder)
    return Run(run_name(name, profile), folder, _read_json(config_path), summary, BY_NAME[name].label)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise HarmonyError(f"not valid JSON ({error})", path) from None


def available_runs(names, profile: Profile | str | None = None) -> tuple[dict[str, Run], list[str]]:
    """Load the runs ``names`` that exist at ``profile``: (runs, names skipped by the profile).

    A run the profile skips is reported, not raised; a run the profile should have but lacks raises.
    """
    profile = _profile(profile)
    skipped = [n for n in names if n in profile.evaluate.skip_experiments]
    return {n: load_run(n, profile) for n in names if n not in skipped}, skipped


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
        names = {"irmas": profile.dataset_name, "audioset": profile.audioset_name}
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


def tuned_thresholds(run: Run, strategy: str = "S2", per_class: bool = True) -> np.ndarray:
    """Thresholds tuned on the validation split of the data set ``run`` was trained on (never on test)."""
    from .evaluate import tune_thresholds

    val = run.predictions(run.train_dataset, "val")
    return tune_thresholds(val.scores(strategy), val.labels, per_class=per_class)


def collect(key: str, profile: Profile | str | None = None, strategy: str = "S2", threshold="fixed") -> Collected:
    """Load the runs of ``COMPARISONS[key]`` and predict with ``strategy`` and ``threshold``.

    ``threshold``: ``"fixed"`` (the profile's, 0.5 as in the report), ``"tuned"`` (per class on
    each run's validation split) or a number.
    """
    profile = _profile(profile)
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
        systems[system.label] = (predictions.labels, predict(scores[system.label], cut))
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
    metric of the figure (Holm-adjusted over the table); ``per_class``: per-class F1.
    """

    key: str
    profile: Profile
    collected: Collected
    metrics: pd.DataFrame
    variants: pd.DataFrame
    tests: pd.DataFrame
    per_class: pd.DataFrame

    @property
    def main_variant(self) -> str:
        return f"{self.profile.evaluate.strategy} @ {self.profile.evaluate.threshold:g}"


def evaluate_comparison(key: str, profile: Profile | str | None = None, variants: bool = True) -> Evaluation:
    """Load, score and test the systems of ``COMPARISONS[key]`` (the evaluation notebooks' one call)."""
    from .evaluate import METRICS, comparison_table, metric_table, per_class_f1

    profile = _profile(profile)
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
    by_test = {}
    for label, system in main.systems.items():  # per-class F1 needs systems on one test set per table
        by_test.setdefault(next(s.test for s in main.comparison.systems if s.label == label), {})[label] = system
    per_class = pd.concat([per_class_f1(s).assign(test=t) for t, s in by_test.items()], ignore_index=True)
    variants_table = pd.concat(tables, ignore_index=True)[["variant", "system", "metric", "value", "ci_low", "ci_high"]]
    return Evaluation(key, profile, main, metrics, variants_table, tests, per_class)


def weights_label(runs: dict[str, Run]) -> str:
    """The runs' initial weights for a figure's provenance: models grouped by their weights' description."""
    models: dict[str, list[str]] = {}
    for r in runs.values():
        names = models.setdefault(str(r.config.get("weights", "unknown")), [])
        if r.config.get("model", "?") not in names:
            names.append(r.config.get("model", "?"))
    return "; ".join(f"{', '.join(names)}: {weights}" for weights, names in models.items())


def plot_evaluation(evaluation: Evaluation, ax, metrics: tuple[str, ...] | None = None):
    """Figure bars of an evaluation (report setting) with bootstrap CIs as error bars."""
    from .evaluate import plot_metric_bars

    metrics = metrics or evaluation.collected.comparison.metrics
    plot_metric_bars(evaluation.metrics, metrics, ax, systems=list(evaluation.collected.systems))
    ax.set_title(f"{evaluation.collected.comparison.title}\n({evaluation.main_variant}; test data: "
                 f"{' and '.join(test_data_names(evaluation))})", fontsize=10)
    ax.figure.tight_layout(rect=(0, 0.04, 1, 1))  # room for the provenance line save_figure adds
    return ax


def test_data_names(evaluation: Evaluation) -> list[str]:
    """Display names of the test sets of an evaluation (SynthIRMAS / IRMAS, SynthAudioSet / AudioSet)."""
    names = {"irmas": evaluation.profile.dataset_name, "audioset": evaluation.profile.audioset_name}
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


# ---------------------------------------------------------------- the original study's numbers
# REFERENCE.md §1: read off the report's figures (IRMAS test split, S2 at 0.5).
PAPER_RESULTS: dict[tuple[str, str], dict[str, float]] = {
    ("resnet50_w1", "irmas"): {"hamming_score": 0.9011, "exact_match": 0.353, "macro_f1": 0.5507,
                               "macro_precision": 0.598, "macro_recall": 0.542},
    ("resnet50_w2", "irmas"): {"hamming_score": 0.8986, "exact_match": 0.3345, "macro_f1": 0.5432},
    ("resnet50_w3", "irmas"): {"hamming_score": 0.9000, "exact_match": 0.3252, "macro_f1": 0.5384},
    ("raw_cnn_w1", "irmas"): {"hamming_score": 0.8365, "exact_match": 0.198, "macro_f1": 0.4565,
                              "macro_precision": 0.407, "macro_recall": 0.554},
    ("mfcc_cnn_w1", "irmas"): {"hamming_score": 0.837, "exact_match": 0.232, "macro_f1": 0.4276},
    ("features_cnn_w1", "irmas"): {"hamming_score": 0.8297, "exact_match": 0.228, "macro_f1": 0.371,
                                   "macro_precision": 0.405, "macro_recall": 0.415},
    ("resnet50_w3_bspds5", "irmas"): {"hamming_score": 0.9015, "exact_match": 0.355, "macro_f1": 0.5466},
    ("resnet50_w1_bspds5", "irmas"): {"hamming_score": 0.893, "exact_match": 0.3435, "macro_f1": 0.5368},
    ("resnet50_w1_tds5", "irmas"): {"hamming_score": 0.894, "exact_match": 0.337, "macro_f1": 0.5406,
                                    "macro_precision": 0.560, "macro_recall": 0.583},
    ("resnet50_w1_tds4", "irmas"): {"hamming_score": 0.8957, "exact_match": 0.3495, "macro_f1": 0.5378},
    ("resnet50_audioset_w1", "irmas"): {"hamming_score": 0.8593, "exact_match": 0.2175, "macro_f1": 0.4728},
    ("resnet50_audioset_w1", "audioset"): {"hamming_score": 0.9378, "exact_match": 0.5994, "macro_f1": 0.7162},
    ("resnet50_w1", "audioset"): {"hamming_score": 0.8702, "exact_match": 0.3132, "macro_f1": 0.4832},
    ("ast_audioset_w1", "irmas"): {"hamming_score": 0.8588, "exact_match": 0.2144, "macro_f1": 0.4557},
    ("ast_w1_l2low", "irmas"): {"hamming_score": 0.8956, "exact_match": 0.3222, "macro_f1": 0.5138},
    ("ast_w1_l2high", "irmas"): {"hamming_score": 0.8983, "exact_match": 0.351, "macro_f1": 0.5656},
}
# REFERENCE.md §5: published results on the full IRMAS test set (micro F1, macro F1).
PUBLISHED_RESULTS = pd.DataFrame([
    ("Han, Kim & Lee 2017 (S1/S2 paper, 1-s windows)", 0.602, 0.503),
    ("Lekshmi & Rajan 2022, Swin-T ensemble", 0.66, 0.62),
    ("Zhong et al. 2023 (threshold picked on the test set: optimistic)", 0.674, np.nan),
    ("fine-tuned PaSST (unreviewed)", 0.688, 0.617),
], columns=["system", "micro_f1", "macro_f1"])


def beside_paper(evaluation: Evaluation) -> pd.DataFrame:
    """Our value and CI next to the original study's number for every system and metric it reported.

    Only meaningful on the real IRMAS/AudioSet (``profile.data.source == "real"``); the notebooks
    say so and show it only then. The original's split was random per file (REFERENCE.md §3), ours
    is by song, so even then the test clips differ.
    """
    rows = []
    for system in evaluation.collected.comparison.systems:
        paper = PAPER_RESULTS.get((system.run, system.test), {})
        ours = evaluation.metrics[evaluation.metrics["system"] == system.label].set_index("metric")
        for metric, value in paper.items():
            if system.label in evaluation.collected.systems and metric in evaluation.collected.comparison.metrics:
                low, high = ours.loc[metric, "ci_low"], ours.loc[metric, "ci_high"]
                rows.append({"system": system.label, "metric": metric, "ours": ours.loc[metric, "value"],
                             "ci_low": low, "ci_high": high, "original": value,
                             "original inside our CI": bool(low <= value <= high)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- verdicts, computed from the tests
def describe_tests(tests: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """One sentence per paired test: the difference, its CI, p and Holm-adjusted p, and the verdict."""
    from .evaluate import METRIC_LABELS

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
