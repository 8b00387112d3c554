"""The profiles of the study as one typed structure.

``smoke``        seconds per notebook: CI.
``default``      the embedded study on a 2-core CPU with SynthIRMAS / SynthAudioSet.
``full``         the paper's exact settings, for a GPU and the real IRMAS / AudioSet data.
``paper-synth``  ``full``'s settings on SynthIRMAS / SynthAudioSet rendered at the real data sets' sizes:
                 for a GPU without the real data.

Every notebook reads the profile name from its papermill ``parameters`` cell (default: the
``HARMONY_PROFILE`` environment variable, else ``default``) and calls :func:`get_profile`.
Scale-downs relative to the paper are listed in :attr:`Profile.scale_downs` and printed on figures.

A *fast dev run* of a profile (``./run_all.sh --profile full --fast-dev-run``, named
``<profile>-fast-dev-run``; :func:`fast_dev_run`) keeps that profile's data, model sizes and
settings but trains every experiment for one optimiser step and evaluates 2 clips per split, as
PyTorch Lightning's ``fast_dev_run`` does (one batch): it proves the whole path runs, in minutes, and its
numbers mean nothing.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from .errors import ConfigError
from .reference import AUDIOSET_CLIPS, IRMAS_TEST_SONGS, IRMAS_TRAIN_COUNTS

PROFILE_NAMES = ("smoke", "default", "full", "paper-synth")
FAST_DEV_RUN_SUFFIX = "-fast-dev-run"
FAST_DEV_RUN_STEPS = 1  # optimiser steps per training run
FAST_DEV_RUN_EVAL_CLIPS = 2  # clips per validation/test split
FAST_DEV_RUN_EVAL_SECONDS = 2.0  # seconds scored per validation/test clip (two 1-s windows)
DR_NAME = "SynthIRMAS-DR"  # SynthIRMAS's training clips rendered with domain randomisation (notebook 58)


@dataclass(frozen=True)
class DataConfig:
    """Which data the profile uses and, for the synthetic stand-ins, how much of it (notebook 10)."""

    source: str  # "synth" (SynthIRMAS + SynthAudioSet rendered here) or "real" (IRMAS + AudioSet on disk)
    synth_train_clips: int  # SynthIRMAS training clips, spread over classes like IRMAS's 6705
    synth_test_songs: int  # SynthIRMAS test "songs"; each gives several excerpts
    synth_excerpts_per_song: tuple[int, int]  # inclusive range
    synth_audioset_clips: int  # SynthAudioSet 10-s clips
    synth_test_seconds: float = 20.0  # length of most SynthIRMAS test excerpts (IRMAS: mostly 20 s)
    val_fraction: float = 0.3  # of the IRMAS testing data, grouped by song (report 3.6.1)
    max_eval_clips: int | None = None  # clips kept per validation/test split; None: all (fast dev run: 2)
    # each class is among the labels of at least this many test "songs" (before the validation/test split), so
    # that rare classes (cello, clarinet: 1-2 songs in 60 drawn at IRMAS's frequencies) can be measured
    synth_min_songs_per_class: int = 0
    # test songs rendered again with the training clips' SoundFont, through their recording chain and through the
    # test songs' (notebook 10 measures what the held-out instruments and the other chain each change)
    synth_twin_songs: int = 0
    audioset_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)  # report 3.6.2


@dataclass(frozen=True)
class FeatureConfig:
    """Feature parameters of report 2.2 / 3.1 (notebooks 11-13, 20)."""

    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 512
    n_mfcc: int = 40
    n_mels: int = 256
    anova_alpha: float = 0.001  # fixed before looking at the data, as in report 2.5
    anova_max_clips_per_class: int | None = None  # None: every training clip


@dataclass(frozen=True)
class TrainConfig:
    """Training scale (chapter 4). Per-model overrides live in ``harmonylib.models`` / the training notebooks."""

    epochs: int = 35
    batch_size: int = 16
    # Seconds of training audio per epoch, the same for every window size (352 s: 352 one-second windows, 176
    # two-second or 117 three-second ones); None: every window of every clip (paper)
    max_train_seconds: float | None = None
    # Seconds of each validation/test clip scored: its central seconds (all of a shorter clip), cut into windows,
    # so every window size that divides it hears the same audio (6 s: 1, 2 and 3 s);
    # None: every window of every clip (paper). See harmonylib.windows.Windows (span_s).
    max_eval_seconds: float | None = None
    image_size: int = 256  # mel/ResNet input side (paper: 256)
    image_mels: int = 256  # mel bands for the ResNet input (paper: 256)
    resnet_in_chans: int = 3  # ResNet input channels (paper: 3, the mel image repeated)
    ast_layers: int = 12  # AST depth (paper: 12, the pretrained checkpoint)
    ast_hidden: int = 768  # AST width (paper: 768); heads = hidden / 64
    features_fit_windows: int = 2048  # training windows used for the general features' row statistics
    compile: bool = False  # torch.compile every model (CUDA only; benchmarks/gpu_check.py measures what it gains)
    # (model, epochs, max_train_seconds) replacing the two settings above for one model, e.g. for a
    # model that learns more slowly than the others (see `scale_downs`)
    model_scales: tuple[tuple[str, int, float | None], ...] = ()

    def scale(self, model: str) -> tuple[int, float | None]:
        """``(epochs, max_train_seconds)`` of ``model`` at this profile."""
        return next(((epochs, seconds) for name, epochs, seconds in self.model_scales if name == model),
                    (self.epochs, self.max_train_seconds))

    def windows_per_epoch(self, model: str, window: float) -> int | None:
        """Training windows per epoch of ``model`` with ``window``-s windows: its seconds of audio per epoch
        over the window length (at least one); None: every window.

        >>> TrainConfig(max_train_seconds=352).windows_per_epoch("resnet50", 3)
        117
        """
        seconds = self.scale(model)[1]
        return None if seconds is None else max(1, int(seconds // window))


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation (chapter 5)."""

    threshold: float = 0.5
    bootstrap_resamples: int = 1000
    permutation_resamples: int = 2000
    confidence: float = 0.95
    strategy: str = "S2"  # the report's aggregation (4.7); S1 and tuned thresholds are shown beside it
    # Experiments of harmonylib.grid.EXPERIMENTS this profile leaves out to fit its budget
    # (the evaluation notebooks drop their bars and say so; every comparison keeps its other systems).
    skip_experiments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    name: str
    seed: int
    device: str  # "auto" picks CUDA when available, else CPU
    data: DataConfig
    features: FeatureConfig = field(default_factory=FeatureConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    scale_downs: tuple[str, ...] = ()  # what differs from the paper's scale, printed on figures

    @property
    def is_fast_dev_run(self) -> bool:
        return self.name.endswith(FAST_DEV_RUN_SUFFIX)

    @property
    def data_profile(self) -> str:
        """The profile whose data this one reads: its own name, without a fast dev run's suffix."""
        return self.name.removesuffix(FAST_DEV_RUN_SUFFIX)

    @property
    def dataset_name(self) -> str:
        """The training/test data set's display name: 'SynthIRMAS' or 'IRMAS'."""
        return "SynthIRMAS" if self.data.source == "synth" else "IRMAS"

    @property
    def has_domain_randomised_data(self) -> bool:
        """Whether the profile renders SynthIRMAS-DR, the domain-randomised training set of notebook 58 (the
        synthetic profiles; real IRMAS has its own recordings)."""
        return self.data.source == "synth"

    @property
    def audioset_name(self) -> str:
        return "SynthAudioSet" if self.data.source == "synth" else "AudioSet"

    @property
    def data_names(self) -> dict[str, str]:
        """The display name of each data set the study names by key (``irmas``, ``audioset``)."""
        names = {"irmas": self.dataset_name, "audioset": self.audioset_name}
        return {**names, "irmas_dr": DR_NAME} if self.has_domain_randomised_data else names

    def torch_device(self):
        """The ``torch.device`` to run on."""
        import torch

        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


_PROFILES = {
    "smoke": Profile(
        name="smoke",
        seed=1234,
        device="auto",
        data=DataConfig(
            source="synth",
            synth_train_clips=44,
            synth_test_songs=6,
            synth_excerpts_per_song=(1, 2),
            synth_audioset_clips=22,
            synth_test_seconds=8.0,
            synth_twin_songs=2,
        ),
        features=FeatureConfig(anova_max_clips_per_class=4),
        train=TrainConfig(epochs=1, batch_size=8, max_train_seconds=16, max_eval_seconds=6, image_size=32,
                          image_mels=32, ast_layers=1, ast_hidden=64, features_fit_windows=32),
        evaluate=EvalConfig(bootstrap_resamples=50, permutation_resamples=50),
        scale_downs=("smoke run: tiny data and 1 epoch; numbers are meaningless",),
    ),
    "default": Profile(
        name="default",
        seed=1234,
        device="auto",
        data=DataConfig(
            source="synth",
            synth_train_clips=1100,
            synth_test_songs=1100,
            synth_excerpts_per_song=(1, 2),
            synth_audioset_clips=600,
            synth_min_songs_per_class=50,
            val_fraction=0.2,
            synth_twin_songs=40,
        ),
        train=TrainConfig(epochs=6, batch_size=16, max_train_seconds=352, max_eval_seconds=6, image_size=64,
                          image_mels=64, ast_layers=4, ast_hidden=192, features_fit_windows=512,
                          model_scales=(("ast", 15, 640.0),)),
        scale_downs=(
            "SynthIRMAS (1100 training clips; 1100 songs of 1-2 testing excerpts, every class in 50 or more) instead of "
            "IRMAS",
            "validation: 20 % of the testing songs instead of 30 %, the rest for the test songs, on which one paired "
            "test resolves 0.03 macro F1 between two systems",
            "6 epochs of 352 s of training audio (AST: 15 of 640 s) instead of 35 epochs of every window",
            "validation/test clips scored on their central 6 s (every window size hears the same audio)",
            "ResNet-50 input 3x64x64 (64 mel bands) instead of 3x256x256",
            "AST with 4 of 12 layers, width 192 instead of 768",
        ),
    ),
    "full": Profile(
        name="full",
        seed=1234,
        device="auto",
        data=DataConfig(
            source="real",
            synth_train_clips=0,
            synth_test_songs=0,
            synth_excerpts_per_song=(0, 0),
            synth_audioset_clips=0,
        ),
    ),
}
# Every setting of `full`, the data rendered at the real sizes: IRMAS's training clips and test songs,
# with 1-27 excerpts per song (uniform: 14 expected, 2,912 in all, against the release's 2,874 from
# 1-47 per song); SynthAudioSet at the size of the report's AudioSet collection (report 3.6.2), whose
# procedure the `full` collection follows (balanced + unbalanced segments, at most 2,000 per class).
# The balanced file alone (1,011 clips, AUDIOSET_SELECTION) would train the AudioSet experiments of
# chapter 5.5 on a tenth of IRMAS's clips instead of twice as many.
_PROFILES["paper-synth"] = dataclasses.replace(
    _PROFILES["full"],
    name="paper-synth",
    data=DataConfig(
        source="synth",
        synth_train_clips=sum(IRMAS_TRAIN_COUNTS.values()),
        synth_test_songs=IRMAS_TEST_SONGS,
        synth_excerpts_per_song=(1, 27),
        synth_audioset_clips=AUDIOSET_CLIPS,
    ),
    scale_downs=(
        f"SynthIRMAS ({sum(IRMAS_TRAIN_COUNTS.values())} training clips, {IRMAS_TEST_SONGS} test songs) and "
        f"SynthAudioSet ({AUDIOSET_CLIPS} clips) at the real data sets' sizes instead of IRMAS and AudioSet",
    ),
)


def fast_dev_run(profile: Profile) -> Profile:
    """``profile`` cut to a fast dev run: its data, model sizes and optimiser settings, but one epoch of
    :data:`FAST_DEV_RUN_STEPS` optimiser steps per experiment, :data:`FAST_DEV_RUN_EVAL_CLIPS` clips per
    validation/test split scored on :data:`FAST_DEV_RUN_EVAL_SECONDS` seconds each, statistics (ANOVA,
    bootstrap, permutations, feature scaling) on a handful of items.

    >>> run = fast_dev_run(get_profile("full"))
    >>> run.name, run.train.epochs, run.train.windows_per_epoch("resnet50", 1), run.train.ast_hidden
    ('full-fast-dev-run', 1, 16, 768)
    """
    if profile.is_fast_dev_run:
        return profile
    train = profile.train
    return dataclasses.replace(
        profile,
        name=profile.name + FAST_DEV_RUN_SUFFIX,
        data=dataclasses.replace(profile.data, max_eval_clips=FAST_DEV_RUN_EVAL_CLIPS),
        features=dataclasses.replace(profile.features, anova_max_clips_per_class=2),
        # one optimiser step at every window size: a batch of 1-s windows, fewer longer ones
        train=dataclasses.replace(train, epochs=1, max_train_seconds=FAST_DEV_RUN_STEPS * train.batch_size,
                                  max_eval_seconds=FAST_DEV_RUN_EVAL_SECONDS, model_scales=(),
                                  features_fit_windows=min(train.features_fit_windows, 32)),
        evaluate=dataclasses.replace(profile.evaluate, bootstrap_resamples=20, permutation_resamples=20),
        scale_downs=(f"fast dev run: {FAST_DEV_RUN_STEPS} optimiser step per run, {FAST_DEV_RUN_EVAL_CLIPS} "
                     f"evaluation clips per split scored on {FAST_DEV_RUN_EVAL_SECONDS:g} s each; numbers are "
                     "meaningless", *profile.scale_downs),
    )


def get_profile(name: str | None = None, **overrides) -> Profile:
    """The profile ``name`` (default: ``$HARMONY_PROFILE`` or 'default'), with top-level fields overridden.
    ``<profile>-fast-dev-run`` names that profile's :func:`fast_dev_run`.

    >>> get_profile("smoke").train.epochs
    1
    """
    name = name or os.environ.get("HARMONY_PROFILE", "default")
    base = name.removesuffix(FAST_DEV_RUN_SUFFIX)
    if base not in _PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILE_NAMES)} "
                          f"(or one of them + {FAST_DEV_RUN_SUFFIX!r})")
    profile = _PROFILES[base] if base == name else fast_dev_run(_PROFILES[base])
    return dataclasses.replace(profile, **overrides)
