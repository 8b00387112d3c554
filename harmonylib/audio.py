"""The one audio loading function of the study (every notebook and data set reads audio through it).

``load(path, sr=None, mono=False)`` reads with soundfile (libsndfile: WAV, FLAC, OGG, AIFF, ...)
and returns float32 samples in [-1, 1]. Every problem becomes an :class:`~harmonylib.errors.AudioError`
naming the file, never an obscure trace or a silent NaN:

==================================  =====================================================================
input                               handling
==================================  =====================================================================
empty file, random bytes, text,     ``AudioError`` ("not a readable audio file: ...")
truncated or corrupt header
unsupported container (e.g. MP3     ``AudioError``; convert to WAV first (``ffmpeg -i in.mp3 out.wav``)
where libsndfile lacks it)
zero-length audio                   ``AudioError`` ("contains no samples")
NaN or Inf samples (float WAV)      ``AudioError`` ("non-finite samples")
longer than ``max_duration``        ``AudioError`` before anything is decoded (header check), so a 10-hour
(default 30 min)                    file never fills the memory; raise the limit explicitly if meant
8/16/24/32-bit integer, float32/64  read as float32 in [-1, 1]
any sample rate (8, 22.05, 96 kHz)  returned at its own rate, or resampled (soxr, high quality) if ``sr``
1 to N channels                     shape (channels, n); ``mono=True`` averages the channels -> (n,)
non-ASCII file names                read like any other
silent (all-zero) audio             returned as is: silence is valid audio; features handle it
shorter than a window or ``n_fft``  returned as is; the feature and windowing code pads it
==================================  =====================================================================
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import AudioError

MAX_DURATION_S = 30 * 60.0


def info(path: str | Path):
    """soundfile's header information (frames, samplerate, channels, subtype) or ``AudioError``."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("file does not exist" if not path.exists() else "not a regular file", path)
    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)", path)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"not a readable audio file ({_reason(exc)})", path) from None


def duration(path: str | Path) -> float:
    """Duration in seconds from the header alone (no decoding); used by the data set readers."""
    header = info(path)
    if header.samplerate <= 0:
        raise AudioError(f"invalid sample rate {header.samplerate}", path)
    return header.frames / header.samplerate


def load(path: str | Path, sr: int | None = None, mono: bool = False,
         max_duration: float | None = MAX_DURATION_S) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32: shape (n,) if ``mono`` else (channels, n); resampled to ``sr`` if given.

    Raises :class:`AudioError` naming the file for every unusable input (see the module docstring).
    """
    path = Path(path)
    header = info(path)
    if header.samplerate <= 0:
        raise AudioError(f"invalid sample rate {header.samplerate}", path)
    if header.frames == 0:
        raise AudioError("contains no samples (zero-length audio)", path)
    seconds = header.frames / header.samplerate
    if max_duration is not None and seconds > max_duration:
        raise AudioError(f"{seconds:.0f} s long, more than the limit of {max_duration:.0f} s; cut it into "
                         f"pieces or pass max_duration=None if you really mean to load it whole", path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, MemoryError) as exc:
        raise AudioError(f"cannot decode audio ({_reason(exc)})", path) from None
    if data.shape[0] == 0:
        raise AudioError("contains no samples (zero-length or truncated audio data)", path)
    if not np.isfinite(data).all():
        raise AudioError("contains non-finite samples (NaN or Inf)", path)
    audio = data.mean(axis=1) if mono else np.ascontiguousarray(data.T)
    if sr is not None and sr != rate:
        audio = resample(audio, rate, sr)
        rate = sr
    return audio.astype(np.float32, copy=False), int(rate)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis with soxr "HQ" (what librosa.resample uses by default, without its import)."""
    import soxr

    audio = np.asarray(audio, dtype=np.float32)
    return np.ascontiguousarray(soxr.resample(audio.T, orig_sr, target_sr, quality="HQ").T)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
