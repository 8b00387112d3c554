"""Augmentations: each does what report 3.4 says, on batches, reproducibly."""
import librosa
import numpy as np
import pytest
import torch

from harmonylib.augment import (AudioAugment, SpecAugment, _phase_vocoder_numba, _phase_vocoder_torch, add_noise,
                               pitch_shift, time_shift)

SR = 44100


def _tone(freq: float = 440.0) -> torch.Tensor:
    return torch.from_numpy((0.5 * np.sin(2 * np.pi * freq * np.arange(SR) / SR)).astype(np.float32))


def _peak_hz(wave: np.ndarray) -> float:
    return float(np.argmax(np.abs(np.fft.rfft(wave * np.hanning(len(wave))))) * SR / len(wave))


def test_time_shift_is_circular_and_forwards():
    x = torch.arange(10.0).repeat(2, 1)
    out = time_shift(x, torch.tensor([0.4, -0.2]))
    assert out[0].tolist() == [4, 5, 6, 7, 8, 9, 0, 1, 2, 3]  # starts at the original's 40 % mark
    assert out[1].tolist() == [8, 9, 0, 1, 2, 3, 4, 5, 6, 7]


def test_pitch_shift_moves_the_pitch_like_librosa():
    semitones = torch.tensor([6.0, -6.0, 2.5, 0.0])
    x = _tone().repeat(4, 1)
    out = pitch_shift(x, semitones)
    assert out.shape == x.shape
    assert torch.equal(out[3], x[3])
    for row, n in zip(out.numpy(), semitones.tolist()):
        assert abs(_peak_hz(row) - 440 * 2 ** (n / 12)) <= 1.5
    ref = librosa.effects.pitch_shift(x[0].numpy(), sr=SR, n_steps=6)
    ours, theirs = (np.abs(np.fft.rfft(w * np.hanning(SR))) for w in (out[0].numpy(), ref))
    assert np.corrcoef(ours, theirs)[0, 1] > 0.99
    assert abs(np.std(out[0].numpy()) / np.std(ref) - 1) < 0.02  # same loudness


@pytest.mark.parametrize("implementation", ["numba", "torch"])
def test_phase_vocoder_matches_librosa_per_row(implementation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 8192)).astype(np.float32)
    x[2, :4096] = 0  # silent frames: zero bins have angle 0
    spec = librosa.stft(x, n_fft=512, hop_length=128, center=True, pad_mode="constant")
    rates = torch.tensor([0.7, 1.0, 1.3], dtype=torch.float64)
    spec_t = torch.from_numpy(spec)
    ours = (_phase_vocoder_numba(spec_t, rates) if implementation == "numba"
            else _phase_vocoder_torch(spec_t, rates, 128)).numpy()
    for row, rate in enumerate(rates.tolist()):
        # in double precision: librosa accumulates the phase in the input's precision
        theirs = librosa.phase_vocoder(spec[row].astype(np.complex128), rate=rate, hop_length=128)
        assert not np.abs(ours[row, :, theirs.shape[1]:]).any()  # columns past the row's length are zero
        error = np.abs(ours[row, :, : theirs.shape[1]] - theirs).max() / np.abs(theirs).max()
        assert error < (1e-4 if implementation == "numba" else 1e-2), (row, error)


def test_noise_has_the_training_statistics():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(4, SR)
    noise = add_noise(x, mean=0.01, std=0.2, alpha=0.1, generator=g)
    assert abs(noise.mean().item() - 0.001) < 2e-4
    assert abs(noise.std().item() - 0.02) < 2e-4


def test_audio_augment_is_seeded_and_in_range():
    aug = AudioAugment(mean=0.0, std=0.1)
    x = torch.randn(4, 8192, generator=torch.Generator().manual_seed(1)) * 0.1
    a = aug(x, torch.Generator().manual_seed(7))
    b = aug(x, torch.Generator().manual_seed(7))
    c = aug(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    params = aug.draw(1000, torch.Generator().manual_seed(0))
    semis, shifts = params["semitones"], params["shift"]
    assert semis.abs().max() <= 6 and torch.equal(semis * 2, torch.round(semis * 2))
    assert len(torch.unique(semis)) == 25
    assert shifts.abs().max() <= 0.4 and shifts.min() < -0.35 and shifts.max() > 0.35


def test_augment_off_switches():
    x = torch.randn(3, 1000)
    only_noise = AudioAugment(0.0, 1.0, noise_alpha=0.1, max_semitones=0, max_shift=0)
    out = only_noise(x, torch.Generator().manual_seed(0))
    assert 0.05 < (out - x).std() < 0.15


def _runs(flags: torch.Tensor) -> int:
    padded = torch.cat([torch.tensor([False]), flags, torch.tensor([False])]).int()
    return int((padded[1:] - padded[:-1] == 1).sum())


def test_spec_augment_masks_bands_with_the_mean():
    g = torch.Generator().manual_seed(3)
    spec = torch.rand(64, 100, 80, generator=g) + 1.0
    out = SpecAugment()(spec, g)
    fill = spec.mean(dim=(1, 2))
    for i in range(len(spec)):
        is_fill = out[i] == fill[i]
        rows, cols = is_fill.all(dim=1), is_fill.all(dim=0)
        assert rows.sum() <= 20 and cols.sum() <= 16  # two masks of at most 10 % each
        assert _runs(rows) <= 2 and _runs(cols) <= 2
        untouched = ~is_fill
        assert torch.equal(out[i][untouched], spec[i][untouched])
        assert (is_fill == (rows.unsqueeze(1) | cols.unsqueeze(0))).all()
    assert (out == fill.view(-1, 1, 1)).float().mean() > 0.05  # masks do happen


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_keeps_dtype(dtype):
    x = torch.randn(2, 4096, dtype=dtype)
    out = AudioAugment(0.0, 1.0)(x, torch.Generator().manual_seed(0))
    assert out.dtype == dtype and out.shape == x.shape
