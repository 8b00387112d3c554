"""The five model inputs of report 3.1 and 4.5, computed batched on the batch's device (notebook 20).

Every input is a :class:`torch.nn.Module` mapping a waveform batch ``(B, N)`` (float, any device) to
what its model eats; filter banks are buffers, so ``module.to(device)`` moves them with the model:

=======================  ==========================  ===============================================
class                    output                      definition (librosa = the reference, report 3.1)
=======================  ==========================  ===============================================
:class:`RawInput`        (B, 1, N)                   waveform normalised with the training mean/std
:class:`MFCCInput`       (B, 1, 40, 256)             ``librosa.feature.mfcc(n_mfcc=40)`` resized
:class:`MelImageInput`   (B, 3, 256, 256)            256-band mel power in dB re. the clip maximum
                                                     (floor -80 dB), resized, repeated to 3 channels
:class:`GeneralFeatures` (B, 40, 1 + N // 512)       :func:`harmonylib.features.general_features`,
                                                     rows standardised with training statistics
:class:`ASTInput`        (B, max_length, 128)        Kaldi fbank at 16 kHz, AST normalisation
=======================  ==========================  ===============================================

Raw, MFCC, mel and general features are computed from the *normalised* waveform (report 3.3: only
the audio is normalised, the features of it are not rescaled). AST instead takes the waveform as
loaded, because its pretrained normalisation constants were measured on unnormalised AudioSet audio.

Agreement with librosa (tests/test_inputs.py, float32, N = 1 s at 44.1 kHz): MFCC within 0.05 (in dB
units of the cepstrum) and mel within 0.01 dB wherever the value is above the -80 dB floor; the
general features within a relative 1e-3 per row group, except rolloff, which may differ by one FFT
bin (21.5 Hz) in a frame where float32 rounding moves the 85 % energy point across a bin edge, and
chroma, which is exact whenever the estimated tuning agrees (librosa's 0.01-semitone histogram).
The AST input matches ``transformers.ASTFeatureExtractor`` within 1e-4.
"""
from __future__ import annotations

import functools

import librosa
import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from torchaudio.compliance import kaldi

from .errors import ConfigError
from .features import GENERAL_FEATURES

AST_SAMPLE_RATE = 16000
AST_MEAN = -4.2677393  # MIT/ast-finetuned-audioset-10-10-0.4593 (AudioSet fbank statistics)
AST_STD = 4.5689974
INPUT_KINDS = ("raw", "mfcc", "mel", "features", "ast")


def _check_batch(x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 2:
        raise ValueError(f"expected a waveform batch of shape (batch, samples), got {tuple(x.shape)}")
    return x.float()


def power_to_db(power: torch.Tensor, ref_max: bool = False, top_db: float = 80.0, amin: float = 1e-10):
    """``librosa.power_to_db`` per item of the batch (dimension 0): ref 1.0 (or the item's maximum)."""
    db = 10.0 * torch.log10(power.clamp_min(amin))
    peak = db.flatten(1).amax(dim=1).view(-1, *([1] * (db.ndim - 1)))
    if ref_max:
        db = db - peak
        peak = torch.zeros_like(peak)
    return torch.maximum(db, peak - top_db)


class _Spectral(torch.nn.Module):
    """Shared STFT (librosa's defaults: periodic Hann window, centred frames, zero padding)."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.mean, self.std = float(mean), float(std)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (_check_batch(x) - self.mean) / self.std

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """|STFT| of a (B, N) batch: (B, 1 + n_fft // 2, 1 + N // hop_length)."""
        spec = torch.stft(x, self.n_fft, self.hop_length, window=self.window, center=True, pad_mode="constant",
                          return_complex=True)
        return spec.abs()

    def mel_filters(self, n_mels: int) -> torch.Tensor:
        """librosa's Slaney mel filter bank (torchaudio's equal one), shape (n_freqs, n_mels)."""
        return torchaudio.functional.melscale_fbanks(self.n_fft // 2 + 1, 0.0, self.sample_rate / 2, n_mels,
                                                     self.sample_rate, norm="slaney", mel_scale="slaney")

    def mfcc(self, power: torch.Tensor, mel_fb: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
        """``librosa.feature.mfcc`` from a power spectrogram (B, F, T) -> (B, n_mfcc, T)."""
        mel_db = power_to_db(torch.matmul(power.transpose(1, 2), mel_fb))  # (B, T, n_mels)
        return torch.matmul(mel_db, dct).transpose(1, 2)


class RawInput(torch.nn.Module):
    """The raw-audio CNN's input: (B, N) -> (B, 1, N) normalised with the training mean/std (report 3.3)."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((_check_batch(x) - self.mean) / self.std).unsqueeze(1)


class MFCCInput(_Spectral):
    """40 MFCCs (librosa defaults otherwise: 128 Slaney mels, ortho DCT) resized to 40 x 256 (report 3.1.1).

    (B, N) -> (B, 1, height, width); bilinear resizing, as an image library would. ``height`` defaults
    to ``n_mfcc``; fewer than 33 rows are too few for the MFCC CNN's pooling (notebook 31's exercise 1
    resizes 13 coefficients to 40 rows).
    """

    def __init__(self, mean: float, std: float, sample_rate: int = 44100, n_fft: int = 2048,
                 hop_length: int = 512, n_mfcc: int = 40, width: int = 256, n_mels: int = 128,
                 height: int | None = None):
        super().__init__(sample_rate, n_fft, hop_length, mean, std)
        self.size = (height or n_mfcc, width)
        self.options = {"n_mfcc": n_mfcc, "height": self.size[0]}  # recorded with a run, for make_input
        self.register_buffer("mel_fb", self.mel_filters(n_mels), persistent=False)
        self.register_buffer("dct", torchaudio.functional.create_dct(n_mfcc, n_mels, "ortho"), persistent=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The MFCC matrix before resizing: (B, n_mfcc, frames)."""
        return self.mfcc(self.magnitude(self.normalise(x)) ** 2, self.mel_fb, self.dct)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.features(x).unsqueeze(1), size=self.size, mode="bilinear", align_corners=False)


class MelImageInput(_Spectral):
    """The ResNet's image: mel power in dB re. each clip's maximum, resized, 3 channels (report 3.1.2).

    ``spectrogram(x)`` gives the (B, n_mels, frames) dB matrix (where spectrogram augmentations act,
    see :class:`harmonylib.augment.SpecAugment`); ``image(S)`` resizes it to (B, 3, size, size).
    The paper's 256 bands / 256 pixels are ``profile.train.image_mels`` / ``image_size``.
    """

    def __init__(self, mean: float, std: float, sample_rate: int = 44100, n_fft: int = 2048,
                 hop_length: int = 512, n_mels: int = 256, size: int = 256):
        super().__init__(sample_rate, n_fft, hop_length, mean, std)
        self.size = size
        self.register_buffer("mel_fb", self.mel_filters(n_mels), persistent=False)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        power = self.magnitude(self.normalise(x)) ** 2
        return power_to_db(torch.matmul(power.transpose(1, 2), self.mel_fb).transpose(1, 2), ref_max=True)

    def image(self, spec: torch.Tensor) -> torch.Tensor:
        resized = F.interpolate(spec.unsqueeze(1), size=(self.size, self.size), mode="bilinear", align_corners=False)
        return resized.expand(-1, 3, -1, -1).contiguous()

    def forward(self, x: torch.Tensor, spec_augment=None, generator: torch.Generator | None = None) -> torch.Tensor:
        spec = self.spectrogram(x)
        if spec_augment is not None:
            spec = spec_augment(spec, generator)
        return self.image(spec)


# The general features of report 3.1.3, one function each, named and defined as in librosa 0.11, on a batch:
# ``y`` (B, N) waveforms, ``S`` (B, F, T) STFT magnitudes, ``power`` = S**2; each returns (B, rows, T).
def zero_crossing_rate(y: torch.Tensor, frame_length: int, hop_length: int) -> torch.Tensor:
    """``librosa.feature.zero_crossing_rate`` (centred frames, edge padding, values within 1e-10 of 0 are 0)."""
    half = frame_length // 2
    edge = F.pad(y.unsqueeze(1), (half, half), mode="replicate").squeeze(1)
    negative = edge < -1e-10
    crossings = (negative[:, 1:] != negative[:, :-1]).float()
    zcr = crossings.unfold(1, frame_length - 1, hop_length).sum(dim=-1, keepdim=True).transpose(1, 2)
    return zcr / frame_length


def rms(y: torch.Tensor, frame_length: int, hop_length: int) -> torch.Tensor:
    """``librosa.feature.rms`` of the waveform (centred frames, zero padding)."""
    half = frame_length // 2
    return F.pad(y, (half, half)).unfold(1, frame_length, hop_length).pow(2).mean(dim=-1).sqrt().unsqueeze(1)


def _sum_normalised(S: torch.Tensor) -> torch.Tensor:
    """Each frame's magnitudes divided by their sum (``librosa.util.normalize(norm=1)``; silent frames stay 0)."""
    total = S.sum(dim=1, keepdim=True)
    return S / torch.where(total < torch.finfo(S.dtype).tiny, torch.ones_like(total), total)


def spectral_centroid(S: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """``librosa.feature.spectral_centroid``: the magnitude-weighted mean frequency (Hz)."""
    return (_sum_normalised(S) * freqs.view(1, -1, 1)).sum(dim=1, keepdim=True)


def spectral_bandwidth(S: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """``librosa.feature.spectral_bandwidth`` (p = 2): the magnitude-weighted spread around the centroid (Hz)."""
    weights, freqs = _sum_normalised(S), freqs.view(1, -1, 1)
    centroid = (weights * freqs).sum(dim=1, keepdim=True)
    return (weights * (freqs - centroid) ** 2).sum(dim=1, keepdim=True).sqrt()


def spectral_contrast(S: torch.Tensor, bands: list[tuple[int, int, int]]) -> torch.Tensor:
    """``librosa.feature.spectral_contrast``: dB of each octave band's peak over its valley (mean of the
    top and bottom ``count`` bins); ``bands`` as :meth:`GeneralFeatures._bands` gives them."""
    peaks, valleys = [], []
    frames_first = S.transpose(1, 2).contiguous()  # selection along the last dimension is much faster
    for start, stop, count in bands:
        band = frames_first[:, :, start:stop]
        if count == 1:
            valleys.append(band.amin(dim=-1))
            peaks.append(band.amax(dim=-1))
        else:
            valleys.append(band.topk(count, dim=-1, largest=False).values.mean(dim=-1))
            peaks.append(band.topk(count, dim=-1).values.mean(dim=-1))
    return power_to_db(torch.stack(peaks, 1)) - power_to_db(torch.stack(valleys, 1))


def spectral_rolloff(S: torch.Tensor, freqs: torch.Tensor, roll_percent: float = 0.85) -> torch.Tensor:
    """``librosa.feature.spectral_rolloff``: the lowest frequency below which ``roll_percent`` of the magnitude lies."""
    cumulative = S.cumsum(dim=1)
    reached = cumulative >= roll_percent * cumulative[:, -1:]
    return freqs[reached.int().argmax(dim=1)].unsqueeze(1)


def spectral_flatness(power: torch.Tensor, amin: float = 1e-10) -> torch.Tensor:
    """``librosa.feature.spectral_flatness``: geometric over arithmetic mean of the (floored) power."""
    floored = power.clamp_min(amin)
    return floored.log().mean(dim=1, keepdim=True).exp() / floored.mean(dim=1, keepdim=True)


def poly_features(S: torch.Tensor, pinv: torch.Tensor) -> torch.Tensor:
    """``librosa.feature.poly_features``: least-squares polynomial coefficients of each frame's magnitudes over
    frequency; ``pinv`` is the pseudo-inverse of the Vandermonde matrix (highest power first)."""
    return torch.matmul(pinv, S)


def chroma_stft(power: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """``librosa.feature.chroma_stft`` from power with each item's filter bank ``filters`` (B, 12, F), every
    frame divided by its maximum (silent frames stay 0)."""
    raw_chroma = torch.bmm(filters, power)
    norm = raw_chroma.abs().amax(dim=1, keepdim=True)
    return raw_chroma / torch.where(norm < torch.finfo(power.dtype).tiny, torch.ones_like(norm), norm)


@functools.lru_cache(maxsize=512)
def _chroma_bank(sample_rate: int, n_fft: int, tuning: float) -> torch.Tensor:
    """librosa's chroma filter bank for one tuning (12, 1 + n_fft // 2), built once per process."""
    return torch.from_numpy(librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=tuning).astype(np.float32))


class GeneralFeatures(_Spectral):
    """The 40 general audio features of report 3.1.3 as a batch: (B, N) -> (B, 40, 1 + N // hop_length).

    Rows as :data:`harmonylib.features.GENERAL_FEATURE_NAMES` (13 MFCC, 12 chroma, ZCR, centroid, RMS,
    7 contrast, bandwidth, rolloff, flatness, 2 polynomial), each re-implemented in torch after
    librosa 0.11's definition, chroma including librosa's per-clip tuning estimate (``piptrack`` peaks,
    0.01-semitone histogram) and its filter bank for that tuning.

    ``standardise`` (on by default): the rows mix units, e.g. centroid and rolloff in Hz (thousands),
    ZCR and flatness in [0, 1]; the original stacked them unscaled, so the first convolution saw a few
    rows dominate. Each row is therefore standardised with training statistics from :meth:`fit`.
    """

    def __init__(self, mean: float, std: float, sample_rate: int = 44100, n_fft: int = 2048,
                 hop_length: int = 512, standardise: bool = True):
        super().__init__(sample_rate, n_fft, hop_length, mean, std)
        self.standardise = standardise
        freqs = torch.from_numpy(librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft).astype(np.float32))
        self.register_buffer("freqs", freqs, persistent=False)
        self.register_buffer("mel_fb", self.mel_filters(128), persistent=False)
        self.register_buffer("dct", torchaudio.functional.create_dct(13, 128, "ortho"), persistent=False)
        self.tuning_grid = np.linspace(-0.5, 0.5, 101)  # librosa.pitch_tuning's histogram edges
        self.register_buffer("tuning_edges", torch.from_numpy(self.tuning_grid), persistent=False)
        vander = np.stack([librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft), np.ones(n_fft // 2 + 1)], 1)
        self.register_buffer("poly_pinv", torch.from_numpy(np.linalg.pinv(vander).astype(np.float32)),
                             persistent=False)
        in_band = np.flatnonzero((self.freqs >= 150.0).numpy() & (self.freqs < 4000.0).numpy())
        self._pitch_bins = int(in_band[0]), int(in_band[-1])
        self._contrast_bands = self._bands(librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft))
        self.register_buffer("row_mean", torch.zeros(40), persistent=True)
        self.register_buffer("row_std", torch.ones(40), persistent=True)
        self.register_buffer("fitted", torch.tensor(False), persistent=True)

    @staticmethod
    def _bands(freq: np.ndarray, fmin: float = 200.0, n_bands: int = 6, quantile: float = 0.02):
        """librosa.feature.spectral_contrast's octave bands: (first bin, end bin, quantile count) per band."""
        octa = np.zeros(n_bands + 2)
        octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
        bands = []
        for k, (low, high) in enumerate(zip(octa[:-1], octa[1:])):
            current = (freq >= low) & (freq <= high)
            idx = np.flatnonzero(current)
            if k > 0:
                current[idx[0] - 1] = True
            if k == n_bands:
                current[idx[-1] + 1:] = True
            count = max(int(np.rint(quantile * current.sum())), 1)
            rows = np.flatnonzero(current)  # contiguous
            bands.append((int(rows[0]), int(rows[-1]) + (0 if k < n_bands else 1), count))
        return bands

    def _tuning_index(self, power: torch.Tensor) -> torch.Tensor:
        """librosa.estimate_tuning(S=power) per item, as an index into ``tuning_grid``: (B,) long."""
        B = power.shape[0]
        lo, hi = self._pitch_bins  # piptrack's 150-4000 Hz, strictly inside the spectrum
        ref = 0.1 * power.amax(dim=1, keepdim=True)
        near = power[:, lo - 1:hi + 2]  # the band with one neighbour on each side
        masked = near * (near > ref)
        peaks = (masked[:, 1:-1] > masked[:, :-2]) & (masked[:, 1:-1] >= masked[:, 2:])
        centre = near[:, 1:-1]
        a = near[:, 2:] + near[:, :-2] - 2 * centre
        b = (near[:, 2:] - near[:, :-2]) / 2  # also numpy.gradient inside the band
        shift = torch.where(b.abs() >= a.abs(), torch.zeros_like(a), -b / a)
        bins = torch.arange(lo, hi + 1, device=power.device, dtype=power.dtype).view(1, -1, 1)
        pitch = torch.where(peaks, (bins + shift) * float(self.sample_rate) / self.n_fft, torch.zeros_like(a))
        mag = torch.where(peaks, centre + 0.5 * b * shift, torch.zeros_like(a))
        valid = (pitch > 0).flatten(1)
        flat_mag = mag.flatten(1)
        # numpy's median over each item's valid peaks (mean of the two middle values when even)
        count = valid.sum(dim=1)
        ordered = torch.where(valid, flat_mag, torch.full_like(flat_mag, float("inf"))).sort(dim=1).values
        lo = ordered.gather(1, ((count - 1).clamp_min(0) // 2).view(-1, 1))
        hi = ordered.gather(1, (count // 2).clamp_max(ordered.shape[1] - 1).view(-1, 1))
        threshold = torch.where(count.view(-1, 1) > 0, (lo + hi) / 2, torch.zeros_like(lo))
        chosen = valid & (flat_mag >= threshold)
        freq = pitch.flatten(1).clamp_min(1e-6)
        residual = torch.remainder(12 * torch.log2(freq / (440.0 / 16)), 1.0)
        residual = torch.where(residual >= 0.5, residual - 1.0, residual).double()
        which = (torch.bucketize(residual, self.tuning_edges, right=True) - 1).clamp(0, len(self.tuning_grid) - 2)
        counts = torch.zeros(B, len(self.tuning_grid) - 1, device=power.device)
        counts.scatter_add_(1, which, chosen.float())
        zero = int(np.argmin(np.abs(self.tuning_grid[:-1])))
        return torch.where(chosen.any(dim=1), counts.argmax(dim=1), torch.full_like(count, zero))

    def chroma_filters(self, power: torch.Tensor) -> torch.Tensor:
        """Each item's chroma filter bank for its estimated tuning: (B, 12, 1 + n_fft // 2)."""
        tunings = self._tuning_index(power).tolist()
        banks = {t: _chroma_bank(self.sample_rate, self.n_fft, float(self.tuning_grid[t])).to(power.device)
                 for t in set(tunings)}
        return torch.stack([banks[t] for t in tunings])

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The 40 unscaled rows (librosa's units), (B, 40, frames)."""
        y = self.normalise(x)
        S = self.magnitude(y)
        power = S**2
        rows = {
            "mfcc": self.mfcc(power, self.mel_fb, self.dct),
            "chroma": chroma_stft(power, self.chroma_filters(power)),
            "zcr": zero_crossing_rate(y, self.n_fft, self.hop_length),
            "centroid": spectral_centroid(S, self.freqs),
            "rms": rms(y, self.n_fft, self.hop_length),
            "contrast": spectral_contrast(S, self._contrast_bands),
            "bandwidth": spectral_bandwidth(S, self.freqs),
            "rolloff": spectral_rolloff(S, self.freqs),
            "flatness": spectral_flatness(power),
            "poly1": poly_features(S, self.poly_pinv),
        }
        return torch.cat([rows[name] for name in GENERAL_FEATURES], dim=1)

    @torch.no_grad()
    def fit(self, batches) -> GeneralFeatures:
        """Set the row statistics from an iterable of training waveform batches (mean/std over all frames)."""
        total = sq = None
        frames = 0
        for x in batches:
            rows = self.raw(x.to(self.window.device)).double()
            s, s2 = rows.sum(dim=(0, 2)), (rows**2).sum(dim=(0, 2))
            total, sq = (s, s2) if total is None else (total + s, sq + s2)
            frames += rows.shape[0] * rows.shape[2]
        if not frames:
            raise ConfigError("GeneralFeatures.fit needs at least one training batch")
        mean = total / frames
        std = (sq / frames - mean**2).clamp_min(0).sqrt()
        self.row_mean.copy_(mean.float())
        self.row_std.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)).float())
        self.fitted.fill_(True)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.raw(x)
        if not self.standardise:
            return rows
        if not self.fitted:
            raise ConfigError("GeneralFeatures(standardise=True) needs row statistics: call fit(training batches) "
                              "first, or pass standardise=False for the original's unscaled rows")
        return (rows - self.row_mean.view(1, -1, 1)) / self.row_std.view(1, -1, 1)


class ASTInput(torch.nn.Module):
    """The AST's input (report 4.5): 16 kHz, 128 Kaldi fbank bins, 25 ms frames every 10 ms.

    (B, N) at ``sample_rate`` -> (B, max_length, 128): resampled to 16 kHz, ``kaldi.fbank`` per item,
    zero-padded or cut to ``max_length`` frames (100 for 1-s windows, 1024 for 10 s), then
    ``(x - AST_MEAN) / (2 * AST_STD)``, exactly what ``transformers.ASTFeatureExtractor`` does.
    The window is Hann (``window_type="hanning"``): the report says Hamming, but the pretrained
    checkpoint's extractor and the AST authors' code both use Hann, and the weights expect that.
    Takes the waveform as loaded (not normalised with the data set's mean/std).
    """

    def __init__(self, sample_rate: int = 44100, max_length: int = 100, num_mel_bins: int = 128,
                 window_type: str = "hanning"):
        super().__init__()
        self.sample_rate, self.max_length, self.num_mel_bins, self.window_type = (sample_rate, max_length,
                                                                                  num_mel_bins, window_type)
        self.resample = (torchaudio.transforms.Resample(sample_rate, AST_SAMPLE_RATE)
                         if sample_rate != AST_SAMPLE_RATE else torch.nn.Identity())

    def _fbank(self, wave: torch.Tensor) -> torch.Tensor:
        return kaldi.fbank(wave.unsqueeze(0), sample_frequency=AST_SAMPLE_RATE, window_type=self.window_type,
                           num_mel_bins=self.num_mel_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fbank = torch.vmap(self._fbank)(self.resample(_check_batch(x)))  # kaldi.fbank is per clip; vmap batches it
        fbank = F.pad(fbank[:, : self.max_length], (0, 0, 0, max(0, self.max_length - fbank.shape[1])))
        return (fbank - AST_MEAN) / (2 * AST_STD)


def make_input(kind: str, profile, mean: float, std: float, max_length: int = 100,
               options: dict | None = None) -> torch.nn.Module:
    """The input module of ``kind`` (one of :data:`INPUT_KINDS`) with the profile's sizes, on its device.

    Sizes: ``profile.features`` (sample rate, FFT, hop, MFCC count) and ``profile.train.image_mels`` /
    ``image_size`` for the mel image; ``options`` overrides them where the module records its own
    (``MFCCInput.options``: coefficient count and image height). General features still need
    :meth:`GeneralFeatures.fit`. Used by the training notebooks and ``predict.load_predictor``.
    """
    f = profile.features
    if kind == "raw":
        module = RawInput(mean, std)
    elif kind == "mfcc":
        module = MFCCInput(mean, std, f.sample_rate, f.n_fft, f.hop_length, **{"n_mfcc": f.n_mfcc, **(options or {})})
    elif kind == "mel":
        module = MelImageInput(mean, std, f.sample_rate, f.n_fft, f.hop_length, profile.train.image_mels,
                               profile.train.image_size)
    elif kind == "features":
        module = GeneralFeatures(mean, std, f.sample_rate, f.n_fft, f.hop_length)
    elif kind == "ast":
        module = ASTInput(f.sample_rate, max_length)
    else:
        raise ConfigError(f"unknown input kind {kind!r}; choose one of {', '.join(INPUT_KINDS)}")
    return module.to(profile.torch_device())
