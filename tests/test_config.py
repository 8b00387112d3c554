"""The profiles and their fast dev runs."""
import dataclasses
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from harmonylib import reference
from harmonylib.config import PROFILE_NAMES, Profile, fast_dev_run, get_profile
from harmonylib.data import irmas
from harmonylib.data.synth import plan_irmas
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
    assert quick.train.epochs == 1
    for window in (1, 2, 3):  # one optimiser step whatever the window length
        assert 0 < quick.train.windows_per_epoch("resnet50", window) <= full.train.batch_size
    assert quick.train.windows_per_epoch("resnet50", 1) == full.train.batch_size
    assert quick.data.max_eval_clips == 2 and quick.train.max_eval_seconds == 2
    assert "numbers are meaningless" in quick.scale_downs[0]
    default = get_profile("default-fast-dev-run")
    assert default.train.model_scales == () and default.data_profile == "default"  # AST too: one step
    with pytest.raises(ConfigError, match="fast-dev-run"):
        get_profile("paper-fast-dev-run")


IRMAS_TEST_EXCERPTS = sum(n for *_, n in reference.IRMAS_TEST_PARTS)


def test_paper_synth_is_full_on_synthetic_data_at_the_real_sizes():
    paper_synth, full = get_profile("paper-synth"), get_profile("full")
    for field in dataclasses.fields(Profile):
        if field.name not in ("name", "data", "scale_downs"):
            assert getattr(paper_synth, field.name) == getattr(full, field.name), field.name
    data = paper_synth.data
    assert dataclasses.replace(data, source="real", synth_train_clips=0, synth_test_songs=0,
                               synth_excerpts_per_song=(0, 0), synth_audioset_clips=0) == full.data
    assert (paper_synth.dataset_name, paper_synth.audioset_name) == ("SynthIRMAS", "SynthAudioSet")
    assert data.synth_train_clips == sum(reference.IRMAS_TRAIN_COUNTS.values()) == 6705
    assert data.synth_test_songs == reference.IRMAS_TEST_SONGS == 208
    low, high = data.synth_excerpts_per_song
    assert data.synth_test_songs * (low + high) / 2 == pytest.approx(IRMAS_TEST_EXCERPTS, rel=0.02)
    assert data.synth_audioset_clips == reference.AUDIOSET_CLIPS
    assert paper_synth.data_profile == "paper-synth"
    assert "SynthIRMAS" in paper_synth.scale_downs[0] and "SynthAudioSet" in paper_synth.scale_downs[0]


def test_paper_synth_plans_irmas_training_counts_and_about_its_test_excerpts():
    data = get_profile("paper-synth").data
    jobs = plan_irmas(get_profile("paper-synth").seed, data.synth_train_clips, data.synth_test_songs,
                      data.synth_excerpts_per_song, data.synth_test_seconds)
    train = Counter(job["cls"] for job in jobs if job["kind"] == "train" for _ in job["names"])
    songs = [job for job in jobs if job["kind"] == "test"]
    assert train == Counter(reference.IRMAS_TRAIN_COUNTS) and len(songs) == reference.IRMAS_TEST_SONGS
    assert sum(len(song["clips"]) for song in songs) == pytest.approx(IRMAS_TEST_EXCERPTS, rel=0.03)


def test_irmas_test_songs_is_the_releases(shared_data):
    listing = pd.read_csv(shared_data / "irmas" / "listing.csv", dtype={"name": str})
    names = listing.loc[listing["split"] == "test", "name"]
    per_song = Counter(irmas.song_of(Path(name).stem) for name in names)
    assert len(names) == IRMAS_TEST_EXCERPTS and len(per_song) == reference.IRMAS_TEST_SONGS
    low, high = get_profile("paper-synth").data.synth_excerpts_per_song
    assert min(per_song.values()) <= low and high <= max(per_song.values())


def test_paper_synth_fast_dev_run_keeps_its_data_and_the_papers_models():
    quick = get_profile("paper-synth-fast-dev-run")
    assert quick == fast_dev_run(get_profile("paper-synth")) and quick.is_fast_dev_run
    assert quick.data_profile == "paper-synth" and quick.data.source == "synth"
    assert quick.data == dataclasses.replace(get_profile("paper-synth").data, max_eval_clips=2)
    full_quick = get_profile("full-fast-dev-run")
    assert (quick.train, quick.features, quick.evaluate) == (full_quick.train, full_quick.features, full_quick.evaluate)
