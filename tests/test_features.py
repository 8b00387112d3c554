"""harmonylib.features on synthetic signals: known values, silence, short audio, bad input, caching."""
import librosa
import numpy as np
import pytest
import soundfile as sf

from harmonylib import features
from harmonylib.errors import AudioError
from harmonylib.features import GENERAL_FEATURE_NAMES, general_features, reference_features

SR = 44100


def sine(freq=440.0, seconds=1.0, amplitude=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds=1.0, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def row(matrix, name):
    return matrix[GENERAL_FEATURE_NAMES.index(name)]


def test_general_feature_names_are_forty_and_unique():
    assert len(GENERAL_FEATURE_NAMES) == 40
    assert len(set(GENERAL_FEATURE_NAMES)) == 40
    assert GENERAL_FEATURE_NAMES[0] == "mfcc_00" and GENERAL_FEATURE_NAMES[13] == "chroma_C"


def test_general_features_shape_and_dtype():
    y = sine(seconds=1.0)
    matrix = general_features(y)
    assert matrix.shape == (40, 1 + y.size // 512)
    assert matrix.dtype == np.float32


def test_general_features_equal_librosa_called_on_the_waveform():
    """Row order and shared-STFT shortcuts agree with each librosa feature computed from y with defaults."""
    y = noise(0.5) + sine(660, 0.5)
    expected = np.concatenate([
        librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13),
        librosa.feature.chroma_stft(y=y, sr=SR),
        librosa.feature.zero_crossing_rate(y),
        librosa.feature.spectral_centroid(y=y, sr=SR),
        librosa.feature.rms(y=y),
        librosa.feature.spectral_contrast(y=y, sr=SR),
        librosa.feature.spectral_bandwidth(y=y, sr=SR),
        librosa.feature.spectral_rolloff(y=y, sr=SR),
        librosa.feature.spectral_flatness(y=y),
        librosa.feature.poly_features(y=y, sr=SR, order=1),
    ])
    np.testing.assert_allclose(general_features(y), expected, rtol=1e-3, atol=1e-3)


def test_known_values_of_a_sine():
    y = sine(440.0, 1.0, amplitude=0.5)
    matrix = general_features(y)[:, 5:-5]  # frames away from the zero-padded edges
    assert np.median(row(matrix, "centroid")) == pytest.approx(440, rel=0.05)
    assert np.median(row(matrix, "rms")) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    assert np.median(row(matrix, "zcr")) == pytest.approx(2 * 440 / SR, rel=0.05)
    chroma = matrix[GENERAL_FEATURE_NAMES.index("chroma_C"):GENERAL_FEATURE_NAMES.index("chroma_C") + 12]
    assert features.PITCH_CLASSES[int(np.argmax(chroma.mean(axis=1)))] == "A"


def test_noise_is_flatter_and_brighter_than_a_sine():
    tone, hiss = general_features(sine()), general_features(noise())
    assert row(hiss, "flatness").mean() > 100 * row(tone, "flatness").mean()
    assert row(hiss, "centroid").mean() > 10 * row(tone, "centroid").mean()


def test_silence_gives_the_documented_finite_values():
    f = reference_features(np.zeros(SR, dtype=np.float32))
    for name, value in f.items():
        assert np.isfinite(value).all(), name
    for name in ("zcr", "rms", "centroid", "bandwidth", "rolloff", "chroma", "tonnetz", "poly1"):
        assert np.all(f[name] == 0), name
    np.testing.assert_allclose(f["flatness"], 1.0, atol=1e-5)
    assert np.isfinite(general_features(np.zeros(SR, dtype=np.float32))).all()


@pytest.mark.parametrize("n", [1, 100, 2047])
def test_audio_shorter_than_n_fft_is_padded_not_nan(n):
    y = noise(1.0)[:n]
    matrix = general_features(y)
    assert matrix.shape == (40, 1 + 2048 // 512)
    assert np.isfinite(matrix).all()
    assert all(np.isfinite(v).all() for v in reference_features(y).values())


@pytest.mark.parametrize("bad", [np.array([], dtype=np.float32), np.array([0.0, np.nan] * 2000),
                                 np.array([np.inf] * 3000), np.zeros((2, 3000))])
def test_bad_waveforms_raise_audio_error(bad):
    with pytest.raises(AudioError):
        general_features(bad)


def test_reference_features_dimensions_match_their_names():
    f = reference_features(noise(0.3), n_mfcc=40)
    assert tuple(f) == features.FEATURE_ORDER
    frames = 1 + int(0.3 * SR) // 512
    for name, value in f.items():
        assert value.shape == (len(features.dimension_names(name, 40)), frames), name
    assert features.dimension_names("tonnetz") == ("P5_x", "P5_y", "m3_x", "m3_y", "M3_x", "M3_y")


def test_spectrograms_have_the_report_shapes():
    y = sine(seconds=0.5)
    assert features.log_spectrogram(y).shape == (1025, 1 + y.size // 512)
    mel = features.mel_spectrogram(y, n_mels=256)
    assert mel.shape == (256, 1 + y.size // 512)
    assert mel.max() == pytest.approx(0.0) and np.isfinite(mel).all()


def test_clip_feature_means_are_cached_by_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    files = []
    for i, y in enumerate([sine(440, 0.3), noise(0.3, seed=1)]):
        files.append(tmp_path / f"clip{i}.wav")
        sf.write(files[-1], y, SR, subtype="FLOAT")
    values, columns = features.clip_feature_means(files, n_mfcc=13)
    assert values.shape == (2, len(columns)) and np.isfinite(values).all()
    assert ("tonnetz", "m3_x") in columns and ("mfcc", "12") in columns
    expected = reference_features(sine(440, 0.3), n_mfcc=13)["centroid"].mean()
    assert values[0, columns.index(("centroid", "value"))] == pytest.approx(expected, rel=1e-4)
    cached = list((tmp_path / "build" / "cache" / "features").glob("*.npy"))
    assert len(cached) == 1

    def must_not_run(*args, **kwargs):
        raise AssertionError("cache miss")

    monkeypatch.setattr(features, "reference_features", must_not_run)
    again, _ = features.clip_feature_means(files, n_mfcc=13)
    np.testing.assert_array_equal(again, values)
    with pytest.raises(AssertionError, match="cache miss"):
        features.clip_feature_means(files, n_mfcc=14)
