"""The study's data: SynthIRMAS / SynthAudioSet rendered here, or the real IRMAS / AudioSet (notebook 10).

``prepare(profile)`` is the one entry point the notebooks use: it renders the synthetic data sets if
the profile is synthetic and they are missing, reads the clips, applies the persisted song-grouped
splits and returns the waveform normalisation statistics. ``waveforms(frame, sr)`` gives decoded
waveforms from an on-disk cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import DR_NAME, Profile
from ..errors import ConfigError
from .audioset import read_audioset
from .irmas import read_irmas
from .normalization import waveform_stats
from .splits import audioset_split, irmas_split
from .store import WaveformStore, waveforms
from .synth import render_synth_audioset, render_synth_irmas, render_synth_irmas_dr

__all__ = ["StudyData", "prepare", "waveforms", "WaveformStore", "read_irmas", "read_audioset"]


@dataclass
class StudyData:
    """The clips of one profile: IRMAS-like train/val/test, AudioSet-like train/val/test, normalisation stats."""

    irmas_name: str
    audioset_name: str
    root: Path
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    audioset_train: pd.DataFrame
    audioset_val: pd.DataFrame
    audioset_test: pd.DataFrame
    mean: float
    std: float
    audioset_mean: float | None
    audioset_std: float | None
    irmas_root: Path | None = None
    audioset_root: Path | None = None
    dr_root: Path | None = None  # SynthIRMAS-DR, beside SynthIRMAS (synthetic profiles; notebook 58)

    @cached_property
    def domain_randomised_training(self) -> tuple[pd.DataFrame, float, float]:
        """SynthIRMAS-DR's training clips and their waveform mean and std, read on first use: only its experiments
        need them, so the other notebooks' :func:`prepare` does not read 1,100 more file headers."""
        if self.dr_root is None:
            raise ConfigError(f"{DR_NAME} is rendered at the synthetic profiles only; there is none under {self.root}")
        train = read_irmas(self.dr_root).reset_index(drop=True)
        return (train, *waveform_stats(train["path"], f"{DR_NAME}-train"))


def locations(profile: Profile, data_dir: str | Path | None = None) -> tuple[Path, Path, Path]:
    """(base, IRMAS root, AudioSet root) of a profile.

    Synthetic profiles: ``<data_dir or data/<profile>>/SynthIRMAS`` and ``.../SynthAudioSet`` (and
    ``.../SynthIRMAS-DR``, :func:`domain_randomised_root`). Real data
    (``full``): ``<data_dir or data/>`` holding the IRMAS folders directly or under ``IRMAS/``, and the
    AudioSet collection under ``AudioSet/``.
    """
    if profile.data.source == "synth":
        base = Path(data_dir) if data_dir else paths.data_root() / profile.data_profile
        return base, base / "SynthIRMAS", base / "SynthAudioSet"
    base = Path(data_dir) if data_dir else paths.data_root()
    irmas = base / "IRMAS" if (base / "IRMAS").is_dir() else base
    return base, irmas, base / "AudioSet"


def domain_randomised_root(base: Path) -> Path:
    """Where a synthetic profile's SynthIRMAS-DR training clips lie, beside SynthIRMAS."""
    return Path(base) / "SynthIRMAS-DR"


def _first(frame: pd.DataFrame, count: int | None) -> pd.DataFrame:
    """The first ``count`` rows of ``frame`` (all where ``count`` is None), renumbered."""
    return (frame if count is None else frame.head(count)).reset_index(drop=True)


def training_labels(profile: Profile, dataset: str, data_dir: str | Path | None = None) -> pd.Series:
    """The label tuples of the training split of ``dataset`` ("irmas" | "audioset"), read from the file names and
    the collection's list as :func:`prepare` reads them, without rendering or decoding audio (the trivial
    baselines of chapter 5: ``harmonylib.comparisons``)."""
    _, irmas_root, audioset_root = locations(profile, data_dir)
    if dataset == "irmas":
        clips = read_irmas(irmas_root)
        return clips.loc[clips["split"] == "train", "labels"].reset_index(drop=True)
    if dataset != "audioset":
        raise ConfigError(f"unknown data set {dataset!r}; choose 'irmas' or 'audioset'")
    clips = read_audioset(audioset_root)
    split = audioset_split(clips, audioset_root, profile.data.audioset_fractions, profile.seed)
    return clips.loc[split.to_numpy() == "train", "labels"].reset_index(drop=True)


def prepare(profile: Profile, data_dir: str | Path | None = None, workers: int | None = None) -> StudyData:
    """Render (synthetic profiles, once), read, split and summarise the profile's data; a profile with
    ``max_eval_clips`` keeps only that many clips of each validation and test split."""
    base, irmas_root, audioset_root = locations(profile, data_dir)
    cfg = profile.data
    if cfg.source == "synth":
        render_synth_irmas(irmas_root, profile.seed, cfg.synth_train_clips, cfg.synth_test_songs,
                           tuple(cfg.synth_excerpts_per_song), cfg.synth_test_seconds, cfg.synth_min_songs_per_class,
                           cfg.synth_twin_songs, workers=workers)
        render_synth_audioset(audioset_root, profile.seed, cfg.synth_audioset_clips, cfg.audioset_fractions,
                              workers=workers)
        render_synth_irmas_dr(domain_randomised_root(base), profile.seed, cfg.synth_train_clips, workers=workers)
    elif not (irmas_root / "IRMAS-TrainingData").is_dir():
        raise ConfigError(f"no IRMAS data under {base}: expected IRMAS-TrainingData/ and IRMAS-TestingData-Part*/ "
                          "there or in IRMAS/ (download: python -m harmonylib download-irmas DIR); pass "
                          "--data-dir DIR to run_all.sh", base)
    clips = read_irmas(irmas_root)
    train = clips[clips["split"] == "train"].reset_index(drop=True)
    testing = clips[clips["split"] == "test"].reset_index(drop=True)
    testing["split"] = irmas_split(testing, irmas_root, cfg.val_fraction, profile.seed).to_numpy()
    val = _first(testing[testing["split"] == "val"], cfg.max_eval_clips)
    test = _first(testing[testing["split"] == "test"], cfg.max_eval_clips)
    mean, std = waveform_stats(train["path"], f"{profile.dataset_name}-train")

    empty = pd.DataFrame(columns=["path", "labels", "duration", "ytid", "split"])
    as_parts, as_mean, as_std = {"train": empty, "val": empty, "test": empty}, None, None
    if (audioset_root / "clips.csv").exists():
        audioset = read_audioset(audioset_root)
        audioset["split"] = audioset_split(audioset, audioset_root, cfg.audioset_fractions, profile.seed).to_numpy()
        as_parts = {s: _first(audioset[audioset["split"] == s], None if s == "train" else cfg.max_eval_clips)
                    for s in ("train", "val", "test")}
        if len(as_parts["train"]):
            as_mean, as_std = waveform_stats(as_parts["train"]["path"], f"{profile.audioset_name}-train")
    return StudyData(irmas_name=profile.dataset_name, audioset_name=profile.audioset_name, root=base,
                     train=train, val=val, test=test, audioset_train=as_parts["train"],
                     audioset_val=as_parts["val"], audioset_test=as_parts["test"], mean=mean, std=std,
                     audioset_mean=as_mean, audioset_std=as_std, irmas_root=irmas_root,
                     audioset_root=audioset_root,
                     dr_root=domain_randomised_root(base) if profile.has_domain_randomised_data else None)
