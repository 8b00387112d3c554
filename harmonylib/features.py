"""The librosa audio features of report 2.1-2.2 and the 40-row general-features matrix of report 3.1.3.

This is the *reference* implementation: plain librosa on one waveform at a time, as the report
computed them (notebooks 11 and 13; ``harmonylib.inputs`` tests its batched model inputs against it).

Silence and very short audio never produce NaN:

* audio shorter than ``n_fft`` is zero-padded at the end to ``n_fft`` samples, so every clip has at
  least ``1 + n_fft // hop_length`` frames and librosa never frames a signal shorter than its window;
* for digital silence librosa's definitions already give finite values, which we keep and test:
  centroid, bandwidth, rolloff, ZCR, RMS, chroma, tonnetz and polynomial coefficients are 0, spectral
  flatness is 1 (power is floored at ``amin = 1e-10``, so the spectrum of silence is flat) and the
  log-power features sit at their floor (-100 dB before MFCC's DCT);
* anything still non-finite (e.g. a NaN sample) raises :class:`~harmonylib.errors.AudioError`.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
from tqdm import tqdm  # a text bar: notebook widgets would need ipywidgets, which the study does not install

from . import io, paths
from .errors import AudioError

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# librosa.feature.tonnetz rows: perfect fifth, minor third, major third, each as (x, y).
TONNETZ_NAMES = ("P5_x", "P5_y", "m3_x", "m3_y", "M3_x", "M3_y")
CONTRAST_NAMES = tuple(f"band{i}" for i in range(7))  # librosa's 6 octave bands + the rest
POLY1_NAMES = ("slope", "intercept")  # numpy.polyfit order: highest power first

GENERAL_N_MFCC = 13
# The row groups of the general-features matrix, in their order (report 3.1.3).
GENERAL_FEATURES = ("mfcc", "chroma", "zcr", "centroid", "rms", "contrast", "bandwidth", "rolloff", "flatness", "poly1")
GENERAL_FEATURE_NAMES: tuple[str, ...] = (
    *(f"mfcc_{i:02d}" for i in range(GENERAL_N_MFCC)),
    *(f"chroma_{p}" for p in PITCH_CLASSES),
    "zcr",
    "centroid",
    "rms",
    *(f"contrast_{b}" for b in CONTRAST_NAMES),
    "bandwidth",
    "rolloff",
    "flatness",
    *(f"poly1_{c}" for c in POLY1_NAMES),
)
assert len(GENERAL_FEATURE_NAMES) == 40

# The features of report 2.2 in the order of its sections (the ANOVA table's order).
FEATURE_ORDER = ("zcr", "rms", "centroid", "bandwidth", "contrast", "rolloff", "flatness", "poly1", "chroma",
                 "tonnetz", "mfcc")

# Warnings librosa raises on silence or inside the CQT of short clips; the values are still defined.
_HARMLESS = ("Trying to estimate tuning from empty frequency set", "is too large for input signal of length")


def prepare_signal(y: np.ndarray, n_fft: int = 2048) -> np.ndarray:
    """A finite mono float32 signal of at least ``n_fft`` samples (zero-padded at the end)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise AudioError(f"expected a mono waveform of shape (n,), got shape {y.shape}")
    if y.size == 0:
        raise AudioError("waveform contains no samples")
    if not np.isfinite(y).all():
        raise AudioError("waveform contains NaN or Inf samples")
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    return y


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        for message in _HARMLESS:
            warnings.filterwarnings("ignore", message=f".*{message}.*")
        return function(*args, **kwargs)


def _checked(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for name, value in features.items():
        if not np.isfinite(value).all():
            raise AudioError(f"feature {name!r} is not finite for this waveform")
    return features


def magnitude_spectrogram(y: np.ndarray, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """|STFT| (Hann window, centred frames): shape (1 + n_fft // 2, frames). Notebook 11."""
    return np.abs(librosa.stft(prepare_signal(y, n_fft), n_fft=n_fft, hop_length=hop_length))


def log_spectrogram(y: np.ndarray, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Power spectrogram in dB relative to its maximum (report 2.2.12, Fig. 2.6). Notebook 11."""
    return librosa.amplitude_to_db(magnitude_spectrogram(y, n_fft, hop_length), ref=np.max)


def mel_spectrogram(y: np.ndarray, sr: int = 44100, n_fft: int = 2048, hop_length: int = 512,
                    n_mels: int = 256) -> np.ndarray:
    """Mel power spectrogram in dB relative to its maximum (report 3.1.2: 256 bands). Notebook 11."""
    power = magnitude_spectrogram(y, n_fft, hop_length) ** 2
    return librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=n_mels), ref=np.max)


@dataclass(frozen=True)
class _Analysis:
    """What the features of one signal share: one STFT (magnitude and power) and the log-mel power for MFCCs."""

    y: np.ndarray
    S: np.ndarray
    power: np.ndarray
    mel_db: np.ndarray
    sr: int
    n_fft: int
    hop_length: int
    n_mfcc: int


# Each feature of report 2.2 as librosa defines it, from the shared analysis of one signal.
_FEATURES = {
    "zcr": lambda a: librosa.feature.zero_crossing_rate(a.y, frame_length=a.n_fft, hop_length=a.hop_length),
    "rms": lambda a: librosa.feature.rms(y=a.y, frame_length=a.n_fft, hop_length=a.hop_length),
    "centroid": lambda a: librosa.feature.spectral_centroid(S=a.S, sr=a.sr),
    "bandwidth": lambda a: librosa.feature.spectral_bandwidth(S=a.S, sr=a.sr),
    "contrast": lambda a: librosa.feature.spectral_contrast(S=a.S, sr=a.sr),
    "rolloff": lambda a: librosa.feature.spectral_rolloff(S=a.S, sr=a.sr),
    "flatness": lambda a: librosa.feature.spectral_flatness(S=a.S),
    "poly1": lambda a: librosa.feature.poly_features(S=a.S, sr=a.sr, order=1),
    "chroma": lambda a: _quiet(librosa.feature.chroma_stft, S=a.power, sr=a.sr),
    "tonnetz": lambda a: _quiet(librosa.feature.tonnetz, y=a.y, sr=a.sr, hop_length=a.hop_length),
    "mfcc": lambda a: librosa.feature.mfcc(S=a.mel_db, n_mfcc=a.n_mfcc),
}


def compute_features(y: np.ndarray, names: Sequence[str], sr: int = 44100, n_fft: int = 2048, hop_length: int = 512,
                     n_mfcc: int = 40) -> dict[str, np.ndarray]:
    """The features ``names`` (keys of report 2.2's :data:`FEATURE_ORDER`) of one waveform, each a
    (dimensions, frames) array; every feature shares one STFT, and ZCR and RMS are framed on the waveform
    with the same window and hop, so all have ``1 + len(y) // hop_length`` frames."""
    y = prepare_signal(y, n_fft)
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length))
    power = S**2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr))
    analysis = _Analysis(y, S, power, mel_db, sr, n_fft, hop_length, n_mfcc)
    return _checked({name: _FEATURES[name](analysis) for name in names})


def reference_features(y: np.ndarray, sr: int = 44100, n_fft: int = 2048, hop_length: int = 512,
                       n_mfcc: int = 40) -> dict[str, np.ndarray]:
    """Every feature of report 2.2 as a (dimensions, frames) array, keyed by feature name. Notebooks 11 and 13."""
    return compute_features(y, FEATURE_ORDER, sr, n_fft, hop_length, n_mfcc)


def dimension_names(feature: str, n_mfcc: int = 40) -> tuple[str, ...]:
    """Names of the rows of ``reference_features(...)[feature]`` (used as the ANOVA table's 'dimension')."""
    named = {"contrast": CONTRAST_NAMES, "poly1": POLY1_NAMES, "chroma": PITCH_CLASSES, "tonnetz": TONNETZ_NAMES,
             "mfcc": tuple(str(i) for i in range(n_mfcc))}
    return named.get(feature, ("value",))


def general_features(y: np.ndarray, sr: int = 44100, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """The 40-row general-features matrix of report 3.1.3, rows named by :data:`GENERAL_FEATURE_NAMES`.

    MFCC 13 + chroma 12 + ZCR + centroid + RMS + contrast 7 + bandwidth + rolloff + flatness +
    order-1 polynomial (2), each with librosa's defaults, unscaled as in the report. The report
    calls 13 librosa's default number of MFCCs; librosa's default is 20, but only 13 give 40 rows.
    Returns float32, shape (40, 1 + len(y) // hop_length).
    """
    f = compute_features(y, GENERAL_FEATURES, sr, n_fft, hop_length, n_mfcc=GENERAL_N_MFCC)
    return np.concatenate([f[name] for name in GENERAL_FEATURES], axis=0).astype(np.float32)


def clip_feature_means(files: Sequence[str | Path], sr: int = 44100, n_fft: int = 2048, hop_length: int = 512,
                       n_mfcc: int = 40) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Time-mean of every dimension of every :func:`reference_features` feature, one row per file.

    Returns ``(values (n_files, D) float64, [(feature, dimension), ...])``. Cached in
    ``paths.cache_dir()/features`` under a key of the parameters and the files' paths, sizes and
    modification times, so changing any of them recomputes. Notebook 13.
    """
    from .audio import load

    params = {"kind": "clip_feature_means", "version": 1, "sr": sr, "n_fft": n_fft, "hop_length": hop_length,
              "n_mfcc": n_mfcc, "librosa": librosa.__version__}
    key = io.files_digest(files, json.dumps(params, sort_keys=True))
    target = paths.cache_dir() / "features" / f"clip_means_{key}.npy"
    columns = [(feature, dim) for feature in FEATURE_ORDER for dim in dimension_names(feature, n_mfcc)]
    if target.exists():
        return np.load(target), columns
    rows = []
    for file in tqdm(files, desc="features", unit="clip"):
        y, _ = load(file, sr=sr, mono=True)
        features = reference_features(y, sr, n_fft, hop_length, n_mfcc)
        rows.append(np.concatenate([features[name].mean(axis=1) for name in FEATURE_ORDER]))
    values = np.stack(rows).astype(np.float64) if rows else np.zeros((0, len(columns)))
    io.save_npy(target, values)
    return values, columns
