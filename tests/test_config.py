"""The three profiles and their fast dev runs."""
import dataclasses

import pytest

from harmonylib.config import PROFILE_NAMES, fast_dev_run, get_profile
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


def test_a_fast_dev_run_keeps_the_profile_but_trains_one_step():
    full, quick = get_profile("full"), get_profile("full-fast-dev-run")
    assert quick == fast_dev_run(full) == fast_dev_run(quick) and quick.is_fast_dev_run and not full.is_fast_dev_run
    assert quick.data_profile == "full" and quick.data.source == "real"
    assert quick.features == dataclasses.replace(full.features, anova_max_clips_per_class=2)
    for field in ("batch_size", "image_size", "image_mels", "resnet_in_chans", "ast_layers", "ast_hidden"):
        assert getattr(quick.train, field) == getattr(full.train, field), field  # the paper's models
    assert quick.train.epochs == 1 and quick.train.max_train_windows == full.train.batch_size
    assert quick.data.max_eval_clips == 2 and quick.loader.num_workers == 0
    assert "numbers are meaningless" in quick.scale_downs[0]
    default = get_profile("default-fast-dev-run")
    assert default.train.model_scales == () and default.data_profile == "default"  # AST too: one step
    with pytest.raises(ConfigError, match="fast-dev-run"):
        get_profile("paper-fast-dev-run")
