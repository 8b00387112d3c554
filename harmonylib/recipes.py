"""The training recipes of report chapter 4, shared by the five training notebooks 30-34 (and 35).

A training notebook tells the story of one model and keeps only what is that model's own: its input,
its augmentations and (features CNN) its feature statistics. Everything else of the recipe is here,
written once:

* the optimiser settings of Tables 4.3-4.5 (numbers in :mod:`harmonylib.reference`) and the
  from-scratch rates used where pretrained weights are missing (:data:`SCRATCH_GROUPS`), with the
  profile's scale-downs (:func:`settings_for`) and the tables that show them (:func:`hyperparameter_table`);
* the model configuration of a profile (:func:`model_config`) and the input each model eats (:data:`MODEL_INPUTS`);
* the training and evaluation sets of a data set (:func:`training_set`, :func:`evaluation_set`);
* the steps of a training notebook: :func:`start_training` (profile, device, data, windows),
  :func:`train_run` (settings, ``train.fit``, the run's model input, curves),
  :func:`predict_for_evaluation` (what chapter 5 reads) and :func:`save_hyperparameter_table`.
"""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from . import paths, reference, runs
from .config import DR_NAME, Profile, get_profile
from .errors import ConfigError
from .evaluate import aggregate, binarize, multilabel_metrics
from .io import Provenance, audio_per_epoch, files_digest, save_table
from .models import count_parameters
from .train import OptimGroup, RunResult, TrainSettings, fit, group_windows, predict_windows

MODEL_INPUTS = {"raw_cnn": "raw", "mfcc_cnn": "mfcc", "features_cnn": "features", "resnet50": "mel", "ast": "ast"}

PAPER_GROUPS: dict[str, tuple[OptimGroup, ...]] = {
    family: tuple(OptimGroup(*group) for group in groups) for family, groups in reference.PAPER_OPTIMISERS.items()}

# ResNet-50 and AST when their pretrained weights are missing (here, offline: always) and they train from
# random initialisation. Tables 4.4 and 4.5 give *fine-tuning* rates, too small to train a network from
# scratch in a few epochs; these are ordinary from-scratch Adam rates (a documented deviation, notebooks
# 33 and 34). Final rates and weight decay keep the tables' ratios and values.
SCRATCH_GROUPS: dict[str, tuple[OptimGroup, ...]] = {
    "resnet50": (OptimGroup("all", 1e-3, 5e-6, 1e-5),),
    "ast": (OptimGroup("base", 3e-4, 3e-5, 1e-4), OptimGroup("classifier", 1e-3, 1e-4, 1e-3)),
}

# The report table of each model's hyper-parameters: (number, file slug, caption, models in the table).
HYPERPARAMETER_TABLES = {
    "cnn": ("4.3", "cnn_hyperparameters",
            "Hyperparameters of the 1-D raw audio, 2-D MFCC and 1-D audio features CNN models",
            ("raw_cnn", "mfcc_cnn", "features_cnn")),
    "resnet50": ("4.4", "resnet50_hyperparameters", "Standard hyperparameters of our ResNet-50 model", ("resnet50",)),
    "ast": ("4.5", "ast_hyperparameters", "Standard hyperparameters of our AST model", ("ast",)),
}


def _family(model_name: str) -> str:
    return "cnn" if model_name.endswith("_cnn") else model_name


# ------------------------------------------------------------------------------- settings and tables
def paper_groups(model_name: str, weight_decay: float | dict | None = None,
                 from_scratch: bool = False) -> tuple[OptimGroup, ...]:
    """The optimiser groups of Tables 4.3-4.5 for a model, optionally with other weight decays.

    ``weight_decay`` is one value for every group or a dict group name -> value (AST: base, classifier).
    ``from_scratch=True`` gives :data:`SCRATCH_GROUPS`' learning rates to ResNet-50 and AST (the CNNs
    train from scratch in the paper already).
    """
    groups = PAPER_GROUPS.get(_family(model_name))
    if from_scratch:
        groups = SCRATCH_GROUPS.get(model_name, groups)
    if groups is None:
        raise ConfigError(f"no hyper-parameters for model {model_name!r}")
    if weight_decay is None:
        return groups
    decay = weight_decay if isinstance(weight_decay, dict) else {g.name: weight_decay for g in groups}
    unknown = set(decay) - {g.name for g in groups}
    if unknown:
        raise ConfigError(f"weight decay for unknown group(s) {sorted(unknown)} of {model_name!r}")
    return tuple(dataclasses.replace(g, weight_decay=float(decay.get(g.name, g.weight_decay))) for g in groups)


def model_config(name: str, profile: Profile, window: float = 1.0) -> dict:
    """``build_model`` keyword arguments of ``name`` at ``profile`` (its scale-downs) for ``window``-s inputs."""
    train = profile.train
    if name == "resnet50":
        return {"in_chans": train.resnet_in_chans}
    if name == "ast":  # 100 fbank frames per second (10 ms hop), report 4.5
        return {"max_length": int(round(100 * window)), "num_hidden_layers": train.ast_layers,
                "hidden_size": train.ast_hidden}
    return {}


def settings_for(name: str, profile: Profile, weight_decay: float | dict | None = None, epochs: int | None = None,
                 seed: int | None = None, select: str = "macro_f1", extra: dict | None = None,
                 from_scratch: bool = False, window: float = 1.0) -> TrainSettings:
    """The run settings of ``name`` at ``profile``: Tables 4.3-4.5 with the profile's scale-downs.

    ``from_scratch``: the model starts from random initialisation although the paper fine-tuned it
    (ResNet-50, AST without their checkpoints): :data:`SCRATCH_GROUPS`' learning rates. ``window``: the
    training windows' length in seconds; the profile's training audio per epoch sets how many windows an epoch has.
    AST clips gradients at norm 1.0 as the original code did; the report names no clipping for the
    CNNs and ResNet-50, so they are not clipped.
    """
    profile_epochs = profile.train.scale(name)[0]
    return TrainSettings(
        model=name, epochs=epochs or profile_epochs, batch_size=profile.train.batch_size,
        groups=paper_groups(name, weight_decay, from_scratch), seed=profile.seed if seed is None else int(seed),
        clip_norm=1.0 if name == "ast" else None,
        samples_per_epoch=profile.train.windows_per_epoch(name, window),
        select=select, threshold=profile.evaluate.threshold, compile=profile.train.compile, extra=extra or {})


def hyperparameter_table(names: list[str], profile: Profile, from_scratch: bool = False) -> pd.DataFrame:
    """Tables 4.3-4.5: the report's value of each hyper-parameter beside the one ``profile`` trains with.

    ``from_scratch``: the profile's column shows :data:`SCRATCH_GROUPS`' rates (random initialisation).
    """
    def describe(settings: TrainSettings, group: OptimGroup, what: str):
        return {"Initial learning rate": group.lr, "Final learning rate": group.lr_end,
                "Learning rate scheduler": f"Polynomial decay, power={settings.power}, warmup={settings.warmup}",
                "Number of epochs": settings.epochs, "Batch size": settings.batch_size,
                "L2-regularization factor": group.weight_decay}[what]

    paper_profile = dataclasses.replace(profile, train=type(profile.train)(batch_size=reference.PAPER_BATCH_SIZE,
                                                                           epochs=reference.PAPER_EPOCHS))
    report = settings_for(names[0], paper_profile)
    column = profile.name + (", from scratch" if from_scratch and set(names) & set(SCRATCH_GROUPS) else "")
    rows = []
    for group_index, group in enumerate(report.groups):
        suffix = "" if group.name == "all" else f" ({group.name})"
        for what in ("Initial learning rate", "Final learning rate", "Learning rate scheduler", "Number of epochs",
                     "Batch size", "L2-regularization factor"):
            if group_index and what in ("Learning rate scheduler", "Number of epochs", "Batch size"):
                continue
            row = {"Hyperparameter": what + (suffix if what.startswith(("Initial", "Final", "L2")) else ""),
                   "report": describe(report, group, what)}
            for name in names:
                ours = settings_for(name, profile, from_scratch=from_scratch)
                row[f"{name} ({column})"] = describe(ours, ours.groups[group_index], what)
            rows.append(row)
    def audio_budget(name: str) -> str:  # the profile's setting, as the report's column states its own
        seconds = profile.train.scale(name)[1]
        return "all" if seconds is None else f"{seconds:g} s"

    extra = {"Training audio per epoch": lambda n, s: audio_budget(n),
             "Gradient clipping (norm)": lambda n, s: s.clip_norm or "none",
             "Checkpoint selection": lambda n, s: s.select}
    for what, get in extra.items():
        rows.append({"Hyperparameter": what, "report": {"Training audio per epoch": "all",
                                                        "Gradient clipping (norm)": "not stated",
                                                        "Checkpoint selection": "s2_bce"}[what],
                     **{f"{n} ({column})": get(n, settings_for(n, profile, from_scratch=from_scratch))
                        for n in names}})
    return pd.DataFrame(rows).astype(str)


# ------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Splits:
    """One data set's clips (``irmas`` or ``audioset``) and its training waveform statistics."""

    name: str  # display name: SynthIRMAS, IRMAS, SynthAudioSet, AudioSet
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    mean: float
    std: float


def splits_of(data, dataset: str) -> Splits:
    """The splits of ``'irmas'``, ``'irmas_dr'`` or ``'audioset'`` in a ``data.StudyData``; ``'irmas_dr'`` is
    SynthIRMAS-DR's training clips with SynthIRMAS's validation and test songs (notebook 58)."""
    if dataset == "irmas":
        return Splits(data.irmas_name, data.train, data.val, data.test, data.mean, data.std)
    if dataset == "irmas_dr":
        train, mean, std = data.domain_randomised_training
        return Splits(DR_NAME, train, data.val, data.test, mean, std)
    if dataset == "audioset":
        if data.audioset_mean is None or not len(data.audioset_train):
            raise ConfigError(f"no {data.audioset_name} training clips under {data.root}")
        return Splits(data.audioset_name, data.audioset_train, data.audioset_val, data.audioset_test,
                      data.audioset_mean, data.audioset_std)
    raise ConfigError(f"dataset must be 'irmas', 'irmas_dr' or 'audioset', not {dataset!r}")


def clip_ids_and_groups(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Clip identifiers and songs for a predictions file: IRMAS path and song; AudioSet ytid for both."""
    if "ytid" in frame and frame["ytid"].notna().all():
        return list(frame["ytid"].astype(str)), list(frame["ytid"].astype(str))
    return list(frame["path"].astype(str)), list(frame["song"].astype(str))


def training_set(frame: pd.DataFrame, sample_rate: int, window: float, sampling: str = "static",
                 max_sampled: int | None = None, seed: int = 0) -> Dataset:
    """Training examples of ``window`` seconds: every window (``static``) or dynamic sampling (report 3.5)."""
    from .data import waveforms
    from .labels import multi_hot_matrix
    from .sampling import BasePersistentDynamicSampling, TrueDynamicSampling
    from .windows import WindowDataset, Windows

    windows = Windows(waveforms(frame, sample_rate), sample_rate, window, last="drop")
    targets = multi_hot_matrix(frame["labels"])
    if sampling == "static":
        return WindowDataset(windows, targets)
    if not max_sampled:
        raise ConfigError(f"sampling {sampling!r} needs max_sampled (e.g. 5 for TDS-5)")
    kind = {"tds": TrueDynamicSampling, "bspds": BasePersistentDynamicSampling}.get(sampling)
    if kind is None:
        raise ConfigError(f"sampling must be 'static', 'tds' or 'bspds', not {sampling!r}")
    return kind(windows, windows.targets(targets), 1, int(max_sampled), seed)


def evaluation_set(frame: pd.DataFrame, sample_rate: int, window: float, max_seconds: float | None = None) -> Dataset:
    """Every window of each clip (the last one zero-padded), or those over its central ``max_seconds``
    (:class:`harmonylib.windows.Windows`' ``span_s``: the same audio for every window size that divides it)."""
    from .data import waveforms
    from .labels import multi_hot_matrix
    from .windows import WindowDataset, Windows

    windows = Windows(waveforms(frame, sample_rate), sample_rate, window, last="pad", span_s=max_seconds)
    return WindowDataset(windows, multi_hot_matrix(frame["labels"]))


# ------------------------------------------------------------------------------- a training notebook's steps
@dataclass
class TrainingJob:
    """What a training notebook has set up before its model-specific cell (:func:`start_training`)."""

    model: str
    notebook: str
    profile: Profile
    rank: int
    world: int
    device: torch.device
    data: object  # harmonylib.data.StudyData
    dataset: str
    splits: Splits
    window: float
    sampling: str
    max_sampled: int | None
    eval_datasets: list[str]
    run_name: str
    train_set: Dataset
    val_set: Dataset

    @property
    def sample_rate(self) -> int:
        return self.profile.features.sample_rate

    def model_config(self) -> dict:
        return model_config(self.model, self.profile, self.window)


def start_training(model: str, notebook: str, profile: str, data_dir=None, dataset: str = "irmas",
                   window: float = 1, sampling: str = "static", max_sampled: int | None = None,
                   eval_datasets: list[str] | None = None, run_name: str | None = None) -> TrainingJob:
    """A training notebook's set-up: the profile (named in its parameters cell), process group and device,
    seed, data, training and validation windows. Prints the profile's scale-downs and the data's sizes.

    ``run_name`` defaults to ``<profile>-<model>_w<window>[_<sampling><max_sampled>]``; ``eval_datasets``
    (the test sets to predict) to the training data set.
    """
    from .data import prepare
    from .distributed import init_distributed

    P = get_profile(profile)
    rank, world, device = init_distributed(P.torch_device())
    torch.manual_seed(P.seed)
    eval_datasets = list(eval_datasets or [dataset])
    run_name = run_name or f"{P.name}-{model}_w{window}" + ("" if sampling == "static" else f"_{sampling}{max_sampled}")
    print(f"profile {P.name}, device {device}, {world} process(es), run {run_name}")
    for item in P.scale_downs:
        print("scale-down:", item)
    data = prepare(P, data_dir)
    splits = splits_of(data, dataset)
    sr = P.features.sample_rate
    train_set = training_set(splits.train, sr, window, sampling, max_sampled, P.seed)
    val_set = evaluation_set(splits.val, sr, window, P.train.max_eval_seconds)
    print(f"{splits.name}: {len(splits.train)} training clips -> {len(train_set)} training examples "
          f"({sampling}); {len(splits.val)} validation clips -> {len(val_set)} windows")
    return TrainingJob(model, notebook, P, rank, world, device, data, dataset, splits, window, sampling, max_sampled,
                       eval_datasets, run_name, train_set, val_set)


def run_parameters(job: TrainingJob, weight_decay: float | dict | None, augmentations: list) -> dict:
    """What a run records beside its optimiser settings, so that a run folder made otherwise is retrained: the
    notebook's parameters, the augmentations, the training and validation clips (a digest of their files' paths,
    sizes and times) and the seconds of each validation clip scored."""
    return {"dataset": job.dataset, "window": job.window, "sampling": job.sampling, "max_sampled": job.max_sampled,
            "eval_datasets": job.eval_datasets, "weight_decay": weight_decay,
            "augmentation": [repr(a) for a in augmentations],
            "data": files_digest([*job.splits.train["path"], *job.splits.val["path"]]),
            "eval_seconds": job.profile.train.max_eval_seconds}


def train_run(job: TrainingJob, model: nn.Module, model_input: nn.Module, train_input: Callable | None,
              augmentations: list, weight_decay: float | dict | None = None, epochs: int | None = None,
              seed: int | None = None, select: str = "macro_f1") -> RunResult:
    """Train ``model`` with the recipe of Tables 4.3-4.5 at the job's profile and show its curves.

    The settings record :func:`run_parameters`, so a run folder trained otherwise, or on other data, is set
    aside and retrained, never reused. A model without pretrained weights trains with
    :data:`SCRATCH_GROUPS`' rates. Under torchrun the processes other than rank 0 end here. The run
    folder also gets the model input's record, for ``python -m harmonylib predict``.
    """
    from_scratch = not model.harmony_pretrained
    extra = run_parameters(job, weight_decay, augmentations)
    settings = settings_for(job.model, job.profile, weight_decay, epochs, seed, select, extra, from_scratch,
                            job.window)
    shape = tuple(model_input(torch.zeros(1, int(job.window * job.sample_rate), device=job.device)).shape[1:])
    print(f"input {shape}; {count_parameters(model):,} parameters; weights: {model.harmony_weights}")
    print("optimiser:", ", ".join(f"{g.name}: lr {g.lr:g} -> {g.lr_end:g}, L2 {g.weight_decay:g}"
                                  for g in settings.groups),
          "(from-scratch rates)" if from_scratch and job.model in SCRATCH_GROUPS
          else f"(Table {HYPERPARAMETER_TABLES[_family(job.model)][0]})")
    result = fit(model, job.train_set, job.val_set, settings, paths.runs_dir() / job.run_name, model_input,
                 train_input, device=job.device)
    if job.rank:
        sys.exit(0)
    runs.save_model_input(result.run_dir, model_input, job.profile, job.splits.mean, job.splits.std, job.window)
    show_run(result, f"{job.run_name}: {job.splits.name}, window {job.window} s, sampling {job.sampling}\n"
                     f"{provenance(job, model, result).label()}")
    return result


def provenance(job: TrainingJob, model: nn.Module, result: RunResult) -> Provenance:
    """A training run's figure: its data, profile, weights, optimiser steps and training audio per epoch, and
    the validation clips that chose its checkpoint."""
    audio = audio_per_epoch(result.settings.samples_per_epoch, job.window)
    val = job.splits.val
    clips = f"{val['song'].nunique()} songs ({len(val)} clips)" if "song" in val else f"{len(val)} clips"
    return Provenance(job.splits.name, job.profile.name, model.harmony_weights,
                      f"{result.summary['optimiser_steps']} optimiser steps, training audio per epoch: {audio}",
                      f"{job.splits.name} validation, {clips}")


def plot_history(metrics: pd.DataFrame, axes) -> None:
    """Loss curves (left) and validation metrics (right) per epoch of a run's metrics."""
    epochs = metrics["epoch"] + 1
    for column, label in (("train_loss", "training BCE (windows)"), ("val_loss", "validation BCE (windows)"),
                          ("val_clip_bce", "validation BCE (clips, mean prob.)")):
        axes[0].plot(epochs, metrics[column], marker="o", label=label)
    axes[0].set(xlabel="epoch", ylabel="binary cross-entropy", title="Loss")
    for column, label in (("val_macro_f1", "macro F1"), ("val_hamming_score", "Hamming score"),
                          ("val_exact_match", "exact match")):
        axes[1].plot(epochs, metrics[column], marker="o", label=label)
    axes[1].set(xlabel="epoch", ylabel="score (validation, S2 at 0.5)", title="Validation metrics", ylim=(0, 1))
    for ax in axes:
        ax.legend(fontsize=8)


def show_run(result: RunResult, title: str) -> None:
    """A run's loss and validation curves (:func:`plot_history`) and its speed and memory."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    plot_history(result.metrics, axes)
    fig.suptitle(title, fontsize=8)
    plt.show()
    s = result.summary
    print(f"best epoch {s['best_epoch'] + 1} by {s['select']}; {s['seconds_per_epoch']:.1f} s per epoch, "
          f"{s['samples_per_second']:.0f} samples/s, peak memory {s['peak_memory_bytes'] / 2**20:.0f} MiB "
          f"({s['peak_memory_measure']})")


def predict_for_evaluation(job: TrainingJob, result: RunResult, model: nn.Module,
                           model_input: Callable) -> pd.DataFrame:
    """Save the window probabilities chapter 5 evaluates and score the test clips.

    Writes the predictions of the training data set's validation and test splits and of the test split of
    every other data set in ``job.eval_datasets`` to the run folder; the validation predictions are those of
    the validation pass that selected the checkpoint, not a second pass. Returns each test set's Hamming score,
    exact match and macro F1 (S2 at the profile's threshold) beside those of the all-positive baseline,
    which predicts every instrument for every clip.
    """
    P, rows = job.profile, []
    for name in dict.fromkeys([job.dataset, *job.eval_datasets]):
        part = splits_of(job.data, name)
        for split in (["val", "test"] if name == job.dataset else ["test"]):
            frame = getattr(part, split)
            if split == "val":
                windows = runs.best_val_windows(result.run_dir)
            else:
                to_score = evaluation_set(frame, job.sample_rate, job.window, P.train.max_eval_seconds)
                windows = predict_windows(model, to_score, model_input, job.device, result.settings.eval_batch_size)
            ids, groups = clip_ids_and_groups(frame)
            runs.save_predictions(result.run_dir, name, split, windows, ids, groups)
            if split != "test":
                continue
            clips, (probs, targets) = group_windows(windows["clip_index"], windows["probs"], windows["targets"])
            y_true = np.stack([t[0] for t in targets]).astype(int)
            ours = multilabel_metrics(y_true, binarize(aggregate(probs, "S2"), P.evaluate.threshold))
            everything = multilabel_metrics(y_true, np.ones_like(y_true))
            for system, m in ((model.harmony_name, ours), ("all-positive baseline", everything)):
                rows.append({"test set": part.name, "system": system, "clips": len(clips),
                             **{k: round(m[k], 4) for k in ("hamming_score", "exact_match", "macro_f1")}})
    return pd.DataFrame(rows)


def save_hyperparameter_table(job: TrainingJob, result: RunResult, model: nn.Module) -> pd.DataFrame | None:
    """Write the model's Table 4.3, 4.4 or 4.5, only from a run with the report's weight decay on the IRMAS
    data (the report's tables describe those runs), so the table never shows a variant's value and its
    provenance does not depend on which run ended last; returns the table, or None for the other runs."""
    from_scratch = not model.harmony_pretrained
    if job.dataset != "irmas" or result.settings.groups != paper_groups(job.model, from_scratch=from_scratch):
        return None
    family = _family(job.model)
    number, slug, caption, names = HYPERPARAMETER_TABLES[family]
    weights = ("random init (trained from scratch, as in the paper)" if family == "cnn"
               else model.harmony_weights)
    table = hyperparameter_table(list(names), job.profile, from_scratch and family != "cnn")
    save_table(table, number, slug, caption, Provenance(job.splits.name, job.profile.name, weights),
               notebook=job.notebook)
    return table
