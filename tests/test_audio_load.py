"""harmonylib.audio.load: every bad input is an AudioError naming the file; every good format reads."""
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmonylib import audio
from harmonylib.errors import AudioError


def tone(seconds=0.5, sr=44100, channels=1, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([wave * (c + 1) / channels for c in range(channels)], axis=1)


def write(path, data, sr=44100, subtype="PCM_16"):
    sf.write(path, data, sr, subtype=subtype)
    return path


def assert_audio_error(path, **kwargs):
    with pytest.raises(AudioError) as info:
        audio.load(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "empty" in assert_audio_error(path).problem


def test_missing_file_and_directory(tmp_path):
    assert_audio_error(tmp_path / "nope.wav")
    assert_audio_error(tmp_path)


def test_truncated_header(tmp_path):
    good = write(tmp_path / "good.wav", tone())
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[:30])
    assert_audio_error(cut)


def test_random_bytes_named_wav(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "not a readable audio file" in assert_audio_error(path).problem


@pytest.mark.parametrize("name,content", [("notes.wav", b"just some text\n" * 50),
                                          ("song.mid", b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0" * 10),
                                          ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)])
def test_non_audio_and_unsupported_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert_audio_error(path)


def test_zero_length_audio(tmp_path):
    path = write(tmp_path / "zero.wav", np.zeros((0, 1)))
    assert "no samples" in assert_audio_error(path).problem


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_wav(tmp_path, bad):
    data = tone()
    data[100, 0] = bad
    path = write(tmp_path / "nan.wav", data, subtype="FLOAT")
    assert "non-finite" in assert_audio_error(path).problem


def test_truncated_data_is_finite_or_error(tmp_path):
    good = write(tmp_path / "good.wav", tone(1.0, channels=2))
    cut = tmp_path / "cut_data.wav"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    try:
        samples, _ = audio.load(cut)
    except AudioError:
        return
    assert np.isfinite(samples).all() and samples.shape[-1] > 0


@pytest.mark.parametrize("subtype,tolerance", [("PCM_U8", 1e-2), ("PCM_16", 1e-4), ("PCM_24", 1e-6),
                                               ("PCM_32", 1e-6), ("FLOAT", 1e-7), ("DOUBLE", 1e-7)])
def test_bit_depths(tmp_path, subtype, tolerance):
    data = tone()
    path = write(tmp_path / f"{subtype}.wav", data, subtype=subtype)
    samples, sr = audio.load(path, mono=True)
    assert samples.dtype == np.float32 and sr == 44100
    assert np.abs(samples - data[:, 0]).max() < tolerance


@pytest.mark.parametrize("rate", [8000, 22050, 96000])
def test_sample_rates_read_and_resampled(tmp_path, rate):
    path = write(tmp_path / f"{rate}.wav", tone(1.0, sr=rate), sr=rate)
    native, sr = audio.load(path, mono=True)
    assert sr == rate and len(native) == rate
    resampled, sr = audio.load(path, sr=44100, mono=True)
    assert sr == 44100 and abs(len(resampled) - 44100) <= 1
    spectrum = np.abs(np.fft.rfft(resampled))
    assert abs(np.argmax(spectrum) * 44100 / len(resampled) - 440) < 3  # still a 440 Hz tone


@pytest.mark.parametrize("channels", range(1, 7))
def test_channel_counts(tmp_path, channels):
    data = tone(channels=channels)
    path = write(tmp_path / f"ch{channels}.wav", data)
    multi, _ = audio.load(path)
    assert multi.shape == (channels, len(data))
    mono, _ = audio.load(path, mono=True)
    assert mono.shape == (len(data),)
    np.testing.assert_allclose(mono, data.mean(axis=1), atol=1e-4)


def test_long_files_refused_before_decoding(tmp_path, monkeypatch):
    path = write(tmp_path / "long.wav", tone(2.0))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a file that should have been refused from its header")

    monkeypatch.setattr(audio.sf, "read", no_decoding)
    error = assert_audio_error(path, max_duration=1.0)
    assert "limit" in error.problem
    assert audio.MAX_DURATION_S == 30 * 60


def test_long_limit_can_be_lifted(tmp_path):
    path = write(tmp_path / "long.wav", tone(2.0))
    samples, _ = audio.load(path, max_duration=None, mono=True)
    assert len(samples) == 88200


def test_non_ascii_file_name(tmp_path):
    path = write(tmp_path / "ñandú – 音楽 (live).wav", tone())
    samples, _ = audio.load(path, mono=True)
    assert len(samples) == 22050


def test_silence_is_returned_as_is(tmp_path):
    path = write(tmp_path / "silence.wav", np.zeros((4410, 2)))
    samples, _ = audio.load(path)
    assert samples.shape == (2, 4410) and not samples.any()


def test_duration_reads_the_header_only(tmp_path):
    path = write(tmp_path / "d.wav", tone(1.5, sr=22050), sr=22050)
    assert audio.duration(path) == pytest.approx(1.5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=2048), riff=st.booleans())
def test_arbitrary_bytes_give_audio_or_audio_error(tmp_path, payload, riff):
    """Whatever the bytes, the loader returns finite float32 audio or raises AudioError, nothing else."""
    path = tmp_path / "fuzz.wav"
    header = b"RIFF" + len(payload).to_bytes(4, "little") + b"WAVEfmt " if riff else b""
    path.write_bytes(header + payload)
    try:
        samples, sr = audio.load(path)
    except AudioError as error:
        assert error.path == path
        return
    assert samples.dtype == np.float32 and samples.size > 0 and sr > 0
    assert np.isfinite(samples).all()
