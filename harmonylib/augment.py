"""The augmentations of report 3.4, batched on the batch's device and seeded (notebook 21).

Audio augmentations (:class:`AudioAugment`) act on the waveform batch ``(B, N)`` before the model
input is computed; spectrogram augmentations (:class:`SpecAugment`) act on the ``(B, F, T)`` mel
spectrogram afterwards. As in the report, the mel/ResNet model gets both, the raw-audio, MFCC and
general-feature models get the audio ones only.

Every random number comes from a ``torch.Generator`` passed in explicitly, drawn on the generator's
device (a CPU generator gives the same augmentation on CPU and CUDA; a CUDA one avoids the copy of
the noise). The per-item parameters are drawn first, so ``AudioAugment.draw`` shows what was done.

Pitch shift follows ``librosa.effects.pitch_shift``: phase-vocoder time stretch by ``1 / r`` (STFT
2048/512, as librosa) followed by resampling by ``r = 2 ** (n / 12)``, in torch. ``r`` is replaced by
the nearest fraction ``p / q`` with ``q <= 200`` (error below 1 cent, under the ~5-cent threshold of
hearing a pitch difference) so that torchaudio's polyphase resampler has a small kernel; the shift is
drawn from U[-6, 6] and rounded to ``semitone_step`` (default 0.5) so a batch needs at most 25 distinct
stretch + resample passes. tests/test_augment.py checks the shifted pitch against librosa's.

The phase vocoder is the pitch shift's hot spot. On CUDA it runs as whole-tensor torch operations.
On a CPU those operations are memory-bound, about ten passes over the (B, F, T) grid with
``angle``/``polar``, so there one fused numba loop per frequency bin reads the spectrogram once
(:func:`_phase_vocoder_numba`, about 8x faster here; benchmarks/README.md).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numba
import numpy as np
import torch
import torchaudio


def _uniform(generator: torch.Generator, n: int, low: float, high: float, device) -> torch.Tensor:
    values = torch.rand(n, generator=generator, device=generator.device, dtype=torch.float64)
    return (low + (high - low) * values).to(device)


def add_noise(x: torch.Tensor, mean: float, std: float, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """``x + alpha * noise`` with Gaussian noise of the training set's mean and std (report 3.4.1)."""
    noise = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype).to(x.device)
    return x + alpha * (mean + std * noise)


def time_shift(x: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """Circular shift of each row by ``fractions[i]`` of its length (report 3.4.1).

    A positive fraction moves forwards: the result starts at the original's ``fraction * N`` sample
    and ends with the original's beginning.
    """
    n = x.shape[-1]
    shifts = torch.round(fractions.to(x.device, torch.float64) * n).long()
    index = (torch.arange(n, device=x.device).unsqueeze(0) + shifts.unsqueeze(1)) % n
    return torch.gather(x, 1, index)


def _ratio(semitones: float) -> Fraction:
    return Fraction(2 ** (semitones / 12)).limit_denominator(200)


def _phase_vocoder(spec: torch.Tensor, rates: torch.Tensor, hop_length: int) -> torch.Tensor:
    """``librosa.phase_vocoder`` for a batch with one rate per row: (B, F, T) -> (B, F, max frames).

    Row ``i`` gets ``ceil(T / rates[i])`` frames; the rest of its columns are zero.
    """
    if spec.device.type == "cpu":
        return _phase_vocoder_numba(spec, rates)
    return _phase_vocoder_torch(spec, rates, hop_length)


def _phase_vocoder_torch(spec: torch.Tensor, rates: torch.Tensor, hop_length: int) -> torch.Tensor:
    """:func:`_phase_vocoder` as whole-tensor torch operations (any device; used on CUDA)."""
    batch, n_freq, n_frames = spec.shape
    n_out = torch.ceil(n_frames / rates).long()
    steps = torch.arange(int(n_out.max()), dtype=torch.float64).unsqueeze(0) * rates.unsqueeze(1)
    valid = (torch.arange(steps.shape[1]).unsqueeze(0) < n_out.unsqueeze(1)).to(spec.device)
    first = steps.floor().long().clamp_max(n_frames)
    alpha = (steps - first).to(spec.device, spec.real.dtype).unsqueeze(1)
    index = first.to(spec.device).unsqueeze(1).expand(-1, n_freq, -1)
    padded = torch.nn.functional.pad(spec, (0, 2))
    magnitude, phase = padded.abs(), padded.angle()
    advance = torch.linspace(0, math.pi * hop_length, n_freq, device=spec.device, dtype=phase.dtype).view(1, -1, 1)
    # the phase advance from source frame k to k + 1, wrapped to [-pi, pi], gathered for every output step
    dphase = phase[:, :, 1:] - phase[:, :, :-1] - advance
    step = advance + dphase - 2 * math.pi * torch.round(dphase / (2 * math.pi))
    step = step.gather(2, index)
    mag = torch.lerp(magnitude.gather(2, index), magnitude[:, :, 1:].gather(2, index), alpha)
    accumulated = phase[:, :, :1] + torch.cumsum(step, dim=2) - step  # phase before each step
    return torch.polar(mag * valid.unsqueeze(1), accumulated)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _phase_vocoder_kernel(spec, rates, n_out, out):  # pragma: no cover - compiled by numba
    batch, n_freq, n_frames = spec.shape
    for job in numba.prange(batch * n_freq):
        b = job // n_freq
        f = job - b * n_freq
        magnitude = np.zeros(n_frames + 2, dtype=np.float32)  # two zero frames at the end, as librosa pads
        unit = np.ones(n_frames + 2, dtype=np.complex64)  # a zero bin has angle 0, as np.angle gives
        for k in range(n_frames):
            z = spec[b, f, k]
            m = np.sqrt(z.real * z.real + z.imag * z.imag)
            magnitude[k] = m
            if m > 0:
                unit[k] = z / m
        phasor = complex(unit[0])
        for t in range(n_out[b]):
            step = t * rates[b]
            k = int(step)
            alpha = step - k
            out[b, f, t] = phasor * ((1.0 - alpha) * magnitude[k] + alpha * magnitude[k + 1])
            phasor = phasor * unit[k + 1] * unit[k].conjugate()
        out[b, f, n_out[b]:] = 0


def _phase_vocoder_numba(spec: torch.Tensor, rates: torch.Tensor) -> torch.Tensor:
    """:func:`_phase_vocoder` on the CPU, one fused loop per (row, frequency bin).

    librosa advances the phase by ``advance + princarg(angle(z[k+1]) - angle(z[k]) - advance)``; on the
    unit circle the wrapping by 2 pi and the expected advance cancel, so multiplying the accumulated
    phasor by ``unit(z[k+1]) * conj(unit(z[k]))`` is the same step without atan2, sin or cos, and it
    accumulates in double precision. Uses as many threads as torch.
    """
    batch, n_freq, n_frames = spec.shape
    n_out = torch.ceil(n_frames / rates).long()
    # frames x bins in memory, the layout torch.stft returns and torch.istft's inverse FFT reads
    out = np.empty((batch, int(n_out.max()), n_freq), dtype=np.complex64)
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
    _phase_vocoder_kernel(spec.detach().to(torch.complex64).numpy(), rates.double().numpy(), n_out.numpy(),
                          out.transpose(0, 2, 1))
    return torch.from_numpy(out).transpose(1, 2).to(spec.dtype)


@functools.lru_cache(maxsize=64)
def _resampler(orig_freq: int, new_freq: int, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """torchaudio's polyphase resampler with its sinc kernel built once (a shift grid has 25 ratios)."""
    return torchaudio.transforms.Resample(orig_freq, new_freq, dtype=dtype).to(device)


def pitch_shift(x: torch.Tensor, semitones: torch.Tensor, n_fft: int = 2048, hop_length: int = 512) -> torch.Tensor:
    """Shift row ``i`` of ``x`` (B, N) by ``semitones[i]`` keeping its length (phase vocoder + resampling).

    One batched STFT, phase vocoder and inverse STFT; then one polyphase resampling per distinct
    shift. Rows with a shift of 0 are returned unchanged.
    """
    n = x.shape[-1]
    values = semitones.detach().cpu().double()
    moved = torch.nonzero(values != 0).flatten()
    out = x.clone()
    if not len(moved):
        return out
    ratios = [_ratio(float(v)) for v in values[moved]]
    rates = torch.tensor([float(1 / r) for r in ratios], dtype=torch.float64)
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    rows = moved.to(x.device)
    spec = torch.stft(x[rows], n_fft, hop_length, window=window, pad_mode="constant", return_complex=True)
    stretched = torch.istft(_phase_vocoder(spec, rates, hop_length), n_fft, hop_length, window=window,
                            length=max(round(n * r) for r in ratios))
    for ratio in sorted(set(ratios)):
        group = [i for i, r in enumerate(ratios) if r == ratio]
        slow = stretched[group, : round(n * ratio)]
        shifted = _resampler(ratio.numerator, ratio.denominator, slow.device, slow.dtype)(slow)
        out[rows[group]] = torch.nn.functional.pad(shifted[:, :n], (0, max(0, n - shifted.shape[-1])))
    return out


@dataclass
class AudioAugment:
    """Pitch shift, circular time shift and noise injection of report 3.4.1, in that order, on a (B, N) batch.

    ``mean``/``std`` are the training waveform statistics of the noise. Setting a parameter to 0
    switches its augmentation off (``noise_alpha=0.1`` alone reproduces Figure 3.1).
    """

    mean: float
    std: float
    noise_alpha: float = 0.005
    max_semitones: float = 6.0
    semitone_step: float = 0.5
    max_shift: float = 0.4

    def draw(self, batch: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The per-item parameters (CPU tensors): semitones and time-shift fractions."""
        semitones = _uniform(generator, batch, -self.max_semitones, self.max_semitones, "cpu")
        if self.semitone_step:
            semitones = torch.round(semitones / self.semitone_step) * self.semitone_step
        shifts = _uniform(generator, batch, -self.max_shift, self.max_shift, "cpu")
        return {"semitones": semitones, "shift": shifts}

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        params = self.draw(x.shape[0], generator)
        if self.max_semitones:
            x = pitch_shift(x, params["semitones"])
        if self.max_shift:
            x = time_shift(x, params["shift"])
        if self.noise_alpha:
            x = add_noise(x, self.mean, self.std, self.noise_alpha, generator)
        return x


def _band_mask(size: int, batch: int, n_masks: int, max_fraction: float, generator: torch.Generator, device):
    """(batch, size) bool: ``n_masks`` bands per row, each of floor(P * size) bins, P ~ U[0, max_fraction]."""
    mask = torch.zeros(batch, size, dtype=torch.bool, device=device)
    position = torch.arange(size, device=device).unsqueeze(0)
    for _ in range(n_masks):
        width = torch.floor(_uniform(generator, batch, 0.0, max_fraction, device) * size).long()
        start = torch.floor(_uniform(generator, batch, 0.0, 1.0, device) * (size - width + 1)).long()
        mask |= (position >= start.unsqueeze(1)) & (position < (start + width).unsqueeze(1))
    return mask


@dataclass
class SpecAugment:
    """Two frequency and two time masks of U[0, 10] % each, filled with the spectrogram's mean (report 3.4.2).

    Acts on (B, F, T) spectrograms (an AST fbank (B, T, F) is passed transposed). Each item's fill
    value is the mean of its own spectrogram before masking.
    """

    n_freq_masks: int = 2
    n_time_masks: int = 2
    max_fraction: float = 0.1

    def __call__(self, spec: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch, n_freq, n_time = spec.shape
        fill = spec.mean(dim=(1, 2), keepdim=True)
        freq = _band_mask(n_freq, batch, self.n_freq_masks, self.max_fraction, generator, spec.device)
        time = _band_mask(n_time, batch, self.n_time_masks, self.max_fraction, generator, spec.device)
        masked = freq.unsqueeze(2) | time.unsqueeze(1)
        return torch.where(masked, fill, spec)
