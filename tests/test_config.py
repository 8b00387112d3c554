"""The three profiles (issue: foundation)."""
import pytest

from harmonylib.config import PROFILE_NAMES, get_profile
from harmonylib.errors import ConfigError


def test_profile_comes_from_the_environment_by_default(monkeypatch):
    monkeypatch.setenv("HARMONY_PROFILE", "smoke")
    assert get_profile().name == "smoke"
    monkeypatch.delenv("HARMONY_PROFILE")
    assert get_profile().name == "default"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown profile 'fast'"):
        get_profile("fast")


def test_full_is_the_paper_and_uses_the_real_data():
    full = get_profile("full")
    assert full.data.source == "real" and full.dataset_name == "IRMAS"
    assert (full.train.epochs, full.train.batch_size, full.train.image_size) == (35, 16, 256)
    assert (full.features.n_fft, full.features.hop_length, full.features.n_mfcc, full.features.n_mels) == (2048, 512, 40, 256)
    assert full.scale_downs == ()


def test_scaled_profiles_say_what_they_scale_down():
    for name in PROFILE_NAMES:
        profile = get_profile(name)
        assert (profile.data.source == "synth") == bool(profile.scale_downs)


def test_overrides_and_device():
    profile = get_profile("smoke", seed=7, device="cpu")
    assert profile.seed == 7 and str(profile.torch_device()) == "cpu"
