"""Model inputs: shapes, and agreement of the batched torch path with librosa / transformers."""
import librosa
import numpy as np
import pytest
import torch

from harmonylib import features
from harmonylib.config import get_profile
from harmonylib.errors import ConfigError
from harmonylib.inputs import (ASTInput, GeneralFeatures, MelImageInput, MFCCInput, RawInput, make_input,
                               power_to_db)

SR = 44100
GROUPS = {"mfcc": slice(0, 13), "chroma": slice(13, 25), "zcr": slice(25, 26), "centroid": slice(26, 27),
          "rms": slice(27, 28), "contrast": slice(28, 35), "bandwidth": slice(35, 36), "rolloff": slice(36, 37),
          "flatness": slice(37, 38), "poly": slice(38, 40)}


def _signals() -> np.ndarray:
    """Harmonic tones (one detuned by 0.3 semitone, to exercise chroma's tuning estimate), noise, silence."""
    t = np.arange(SR) / SR
    rng = np.random.default_rng(0)
    waves = []
    for f0 in (220.0, 440 * 2 ** (0.3 / 12), 987.0):
        tone = sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t + k) for k in range(1, 8)) * np.minimum(1, 5 * t)
        waves.append(tone + 0.01 * rng.standard_normal(SR))
    waves.append(0.1 * rng.standard_normal(SR))
    waves.append(np.zeros(SR))
    return np.stack(waves).astype(np.float32)


@pytest.fixture(scope="module")
def signals():
    return _signals()


def test_paper_shapes(signals):
    x = torch.from_numpy(signals[:2])
    assert RawInput(0.0, 0.1)(x).shape == (2, 1, 44100)
    assert MFCCInput(0.0, 0.1)(x).shape == (2, 1, 40, 256)
    assert MFCCInput(0.0, 0.1, n_mfcc=13, height=40)(x).shape == (2, 1, 40, 256)
    assert MelImageInput(0.0, 0.1)(x).shape == (2, 3, 256, 256)
    assert GeneralFeatures(0.0, 0.1, standardise=False)(x).shape == (2, 40, 87)
    assert ASTInput()(x).shape == (2, 100, 128)


def test_profile_sizes_and_unknown_kind():
    P = get_profile("smoke")
    x = torch.zeros(2, SR)
    mel = make_input("mel", P, 0.0, 1.0)
    assert mel(x).shape == (2, 3, P.train.image_size, P.train.image_size)
    with pytest.raises(ConfigError):
        make_input("cqt", P, 0.0, 1.0)
    with pytest.raises(ValueError):
        mel(torch.zeros(SR))


def test_raw_normalisation():
    x = torch.tensor([[1.0, 3.0]])
    assert torch.equal(RawInput(1.0, 2.0)(x), torch.tensor([[[0.0, 1.0]]]))


def test_mfcc_matches_librosa(signals):
    # tolerance 0.01 (cepstral dB units); float32 STFTs of torch and numpy differ by ~1e-4
    mean, std = 0.001, 0.1
    ours = MFCCInput(mean, std).features(torch.from_numpy(signals)).numpy()
    for i, y in enumerate(signals):
        ref = librosa.feature.mfcc(y=(y - mean) / std, sr=SR, n_mfcc=40)
        np.testing.assert_allclose(ours[i], ref, atol=0.01)


def test_mel_matches_reference(signals):
    # tolerance 0.01 dB against harmonylib.features.mel_spectrogram (dB re. the clip maximum, floor -80)
    ours = MelImageInput(0.0, 1.0).spectrogram(torch.from_numpy(signals)).numpy()
    for i, y in enumerate(signals):
        np.testing.assert_allclose(ours[i], features.mel_spectrogram(y, sr=SR), atol=0.01)


def test_general_features_match_reference(signals):
    ours = GeneralFeatures(0.0, 1.0, standardise=False)(torch.from_numpy(signals)).numpy()
    for i, y in enumerate(signals):
        ref = features.general_features(y, sr=SR)
        for name, rows in GROUPS.items():
            scale = max(np.abs(ref[rows]).max(), 1e-6)
            if name == "rolloff":  # float32 cumulative sums may cross the 85 % point one bin apart
                assert np.abs(ours[i, rows] - ref[rows]).max() <= SR / 2048 + 1e-3
            else:
                assert np.abs(ours[i, rows] - ref[rows]).max() <= 1e-3 * scale, (i, name)


def test_items_are_independent_of_their_batch(signals):
    # per-item top_db / maxima: a quiet clip gives the same input alone or next to a loud one
    loud_quiet = torch.from_numpy(np.stack([signals[0] * 10, signals[3] * 0.01]))
    for module in (MFCCInput(0.0, 1.0), MelImageInput(0.0, 1.0, n_mels=64, size=64),
                   GeneralFeatures(0.0, 1.0, standardise=False)):
        together = module(loud_quiet)
        alone = module(loud_quiet[1:])
        torch.testing.assert_close(together[1:], alone, rtol=1e-4, atol=1e-4)


def test_standardised_rows(signals):
    module = GeneralFeatures(0.0, 1.0)
    x = torch.from_numpy(signals[:4])
    with pytest.raises(ConfigError):
        module(x)
    module.fit([x[:2], x[2:]])
    rows = module(x)
    assert torch.allclose(rows.mean(dim=(0, 2)), torch.zeros(40), atol=1e-3)
    assert torch.allclose(rows.std(dim=(0, 2), unbiased=False), torch.ones(40), atol=1e-3)
    restored = GeneralFeatures(0.0, 1.0)
    restored.load_state_dict(module.state_dict())
    torch.testing.assert_close(restored(x), rows)


def test_silence_is_finite():
    x = torch.zeros(2, SR)
    for module in (MFCCInput(0.0, 1.0), MelImageInput(0.0, 1.0, n_mels=32, size=32),
                   GeneralFeatures(0.0, 1.0, standardise=False), ASTInput()):
        assert torch.isfinite(module(x)).all()


@pytest.mark.parametrize("max_length", [50, 120])  # truncated and padded
def test_ast_matches_feature_extractor(signals, max_length):
    from transformers import ASTFeatureExtractor

    y16 = np.stack([librosa.resample(y, orig_sr=SR, target_sr=16000) for y in signals])
    ref = ASTFeatureExtractor(max_length=max_length)(list(y16), sampling_rate=16000, return_tensors="np")
    ours = ASTInput(16000, max_length)(torch.from_numpy(y16)).numpy()
    np.testing.assert_allclose(ours, ref["input_values"], atol=1e-4)


def test_ast_resamples_to_16k():
    t = np.arange(SR) / SR
    tone = torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32)).unsqueeze(0)
    fbank = ASTInput(SR, 100)(tone)[0]
    # the 1 kHz tone lies in the mel bin whose centre is nearest 1 kHz on Kaldi's mel scale
    mel = 1127 * np.log(1 + np.linspace(20, 8000, 130) / 700)
    centres = 700 * (np.exp(np.linspace(mel[0], mel[-1], 130)[1:-1] / 1127) - 1)
    assert abs(int(fbank[10:90].mean(0).argmax()) - int(np.abs(centres - 1000).argmin())) <= 1


def test_power_to_db_per_item():
    power = torch.tensor([[1.0, 1e-12], [1e-4, 1e-6]])
    torch.testing.assert_close(power_to_db(power), torch.tensor([[0.0, -80.0], [-40.0, -60.0]]))
    torch.testing.assert_close(power_to_db(power, ref_max=True), torch.tensor([[0.0, -80.0], [0.0, -20.0]]))
