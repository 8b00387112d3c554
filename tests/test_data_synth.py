"""SynthIRMAS / SynthAudioSet: the exact IRMAS layout, deterministic, resumable, read by the real readers."""
import os
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from harmonylib.data import irmas, synth
from harmonylib.data.audioset import YTID, read_audioset
from harmonylib.errors import ConfigError
from harmonylib.reference import IRMAS_TRAIN_SAMPLES

TINY = dict(seed=7, train_clips=14, test_songs=3, excerpts=(1, 2), test_seconds=5.0, twin_songs=1)
TRAIN_NAME = re.compile(r"^(\d{3}__\[[a-z]{3}\]\[(dru|nod)\]\[[a-z_]+\]\d{4}|\[[a-z]{3}\]\[[a-z_]+\]\d{4})__\d\.wav$")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    synth.render_synth_irmas(root / "SynthIRMAS", workers=1, **TINY)
    synth.render_synth_audioset(root / "SynthAudioSet", seed=7, clips=4, fractions=(0.5, 0.25, 0.25), workers=1)
    return root


def wavs(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".wav", ".txt", ".csv"))


def test_irmas_layout_names_and_format(rendered):
    root = rendered / "SynthIRMAS"
    train = sorted((root / "IRMAS-TrainingData").rglob("*.wav"))
    assert len(train) == 14
    assert {p.parent.name for p in train} <= set(synth.CLASSES)
    for path in train:
        assert TRAIN_NAME.match(path.name), path.name
        assert irmas.parse_train_name(path.stem)["instrument"] == path.parent.name
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (44100, 2, "PCM_16", IRMAS_TRAIN_SAMPLES)
    tests = sorted(p for folder in irmas.TEST_FOLDERS for p in (root / folder).glob("*.wav"))
    assert tests
    for path in tests:
        label_text = path.with_suffix(".txt").read_text()
        assert label_text and all(line.endswith("\t") for line in label_text.splitlines())
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
        assert 5.0 - 1e-6 <= info.duration <= 5.0 + 1e-6
    assert not (root.parent / "SynthIRMAS.partial").exists()


def test_irmas_reader_reads_it(rendered):
    frame = irmas.read_irmas(rendered / "SynthIRMAS")
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    assert len(train) == 14 and len(test) >= 3
    assert test.groupby("song")["path"].count().min() >= 1 and test["song"].nunique() == 3
    assert set(train["genre"]) <= set(irmas.GENRES)
    assert test["labels"].map(len).between(1, 5).all()


def test_manifest_and_audioset(rendered):
    import json

    manifest = json.loads((rendered / "SynthIRMAS" / "manifest.json").read_text())
    assert set(manifest["soundfonts"]) == {"FluidR3_GM.sf2", "sf_GMbank.sf2"}
    assert all(len(sha256) == 64 for sha256 in manifest["soundfonts"].values())
    assert manifest["seed"] == 7 and manifest["counts"]["train"] == 14
    audioset = read_audioset(rendered / "SynthAudioSet")
    assert len(audioset) == 4 and audioset["ytid"].map(lambda y: bool(YTID.match(y))).all()
    for path in audioset["path"]:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames) == (44100, 1, 441000)
    soundfonts = json.loads((rendered / "SynthAudioSet" / "manifest.json").read_text())["soundfonts"]
    assert synth.AUDIOSET_TEST_SOUNDFONT in soundfonts and set(soundfonts) <= {*synth.DR_SOUNDFONTS,
                                                                               synth.AUDIOSET_TEST_SOUNDFONT}


def test_deterministic_and_independent_of_process_count(rendered, tmp_path):
    """A second render with two worker processes gives byte-identical files."""
    synth.render_synth_irmas(tmp_path / "SynthIRMAS", workers=2, **TINY)
    first, second = wavs(rendered / "SynthIRMAS"), wavs(tmp_path / "SynthIRMAS")
    assert [p.relative_to(rendered) for p in first] == [p.relative_to(tmp_path) for p in second]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_audioset_is_independent_of_process_count(tmp_path):
    """SynthAudioSet rendered by two worker processes is byte-identical to the sequential render."""
    for workers in (1, 2):
        synth.render_synth_audioset(tmp_path / str(workers), seed=7, clips=8, fractions=(0.7, 0.1, 0.2), workers=workers)
    sequential, parallel = wavs(tmp_path / "1"), wavs(tmp_path / "2")
    assert [p.relative_to(tmp_path / "1") for p in sequential] == [p.relative_to(tmp_path / "2") for p in parallel]
    assert len(sequential) == 10  # 8 clips, clips.csv and the split
    for a, b in zip(sequential, parallel):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_render_uses_every_usable_core_unless_told(monkeypatch):
    monkeypatch.delenv("HARMONY_RENDER_WORKERS", raising=False)
    monkeypatch.setattr(synth.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.setattr(synth.os, "cpu_count", lambda: 16)
    assert synth.render_workers() == 16
    monkeypatch.setenv("HARMONY_RENDER_WORKERS", "3")
    assert synth.render_workers() == 3


def test_second_call_reuses_the_render(rendered):
    some = next((rendered / "SynthIRMAS" / "IRMAS-TrainingData").rglob("*.wav"))
    before = some.stat().st_mtime_ns
    synth.render_synth_irmas(rendered / "SynthIRMAS", workers=1, **TINY)
    assert some.stat().st_mtime_ns == before


def test_interrupted_render_resumes_to_the_same_result(rendered, tmp_path):
    """Simulate a kill half-way: a .partial folder with some files done and no manifest."""
    target = tmp_path / "SynthIRMAS"
    shutil.copytree(rendered / "SynthIRMAS", tmp_path / "SynthIRMAS.partial")
    partial = tmp_path / "SynthIRMAS.partial"
    (partial / "manifest.json").unlink()
    shutil.rmtree(partial / "harmony_splits", ignore_errors=True)
    done = sorted(partial.rglob("*.wav"))
    for path in done[::2]:
        path.unlink()
    import json

    key = dict(dataset="SynthIRMAS", generator_version=synth.IRMAS_GENERATOR_VERSION, seed=7, train_clips=14,
               test_songs=3, excerpts=[1, 2], test_seconds=5.0)
    (partial / "partial_key.json").write_text(json.dumps(dict(key=key)))
    synth.render_synth_irmas(target, workers=1, **TINY)
    assert not partial.exists()
    for a in wavs(rendered / "SynthIRMAS"):
        if "harmony_splits" not in a.parts:
            assert a.read_bytes() == (target / a.relative_to(rendered / "SynthIRMAS")).read_bytes()


def test_class_frequencies_follow_irmas():
    jobs = synth.plan_irmas(1234, 1100, 60, (3, 7))
    counts = {}
    for job in jobs:
        if job["kind"] == "train":
            counts[job["cls"]] = counts.get(job["cls"], 0) + len(job["names"])
    assert sum(counts.values()) == 1100
    assert max(counts, key=counts.get) == "voi" and min(counts, key=counts.get) == "cel"
    labels = [c for job in jobs if job["kind"] == "test" for clip in job["clips"] for c in clip["labels"]]
    per_clip = [len(clip["labels"]) for job in jobs if job["kind"] == "test" for clip in job["clips"]]
    assert 1.4 < np.mean(per_clip) < 2.1  # IRMAS: 1.71 labels per test clip
    freq = {c: labels.count(c) for c in synth.CLASSES}
    assert freq["voi"] > freq["cla"] and freq["pia"] > freq["cel"]


def test_a_floor_of_songs_per_class_leaves_no_class_to_one_or_two_songs():
    def songs_per_class(jobs):
        return {c: sum(any(c in clip["labels"] for clip in job["clips"]) for job in jobs if job["kind"] == "test")
                for c in synth.CLASSES}

    drawn = songs_per_class(synth.plan_irmas(1234, 0, 200, (1, 2)))
    floored = songs_per_class(synth.plan_irmas(1234, 0, 200, (1, 2), min_songs_per_class=8))
    assert min(drawn.values()) < 8 <= min(floored.values())
    assert max(floored, key=floored.get) in ("pia", "voi", "gel")  # the others still follow IRMAS's frequencies


def test_test_songs_are_rendered_from_the_held_out_soundfont_and_their_twins_from_the_training_one():
    jobs = synth.plan_irmas(1234, 60, 12, (1, 2), twin_songs=2)
    train = [j for j in jobs if j["kind"] == "train"]
    tested = [j for j in jobs if j["kind"] == "test" and not j["folder"].startswith(synth.TWINS_FOLDER)]
    twins = [j for j in jobs if j["kind"] == "test" and j["folder"].startswith(synth.TWINS_FOLDER)]
    assert {(j["soundfont"], j["chain"]) for j in train} == {(synth.IRMAS_SOUNDFONT, "studio")}
    assert {(j["soundfont"], j["chain"]) for j in tested} == {(synth.IRMAS_TEST_SOUNDFONT, "stage")}
    assert [(j["soundfont"], j["chain"]) for j in twins] == list(synth.TWINS.values()) * 2
    assert [j["clips"] for j in twins] == [tested[0]["clips"]] * 2 + [tested[1]["clips"]] * 2


def test_the_test_songs_instruments_are_other_recordings_than_the_training_clips():
    """Every class's presets in the held-out SoundFont play other recorded samples than the training SoundFont's:
    the same sample correlates above 0.9 at every key (e.g. csound's bank against TimGM6mb, its source)."""
    held_out = synth.class_similarity(synth.IRMAS_SOUNDFONT, synth.IRMAS_TEST_SOUNDFONT)
    assert set(held_out) == {*synth.CLASSES, "drums"}
    assert max(held_out.values()) < 0.85, held_out
    shared = synth.class_similarity(synth.AUDIOSET_TEST_SOUNDFONT, synth.IRMAS_TEST_SOUNDFONT)
    assert shared["cla"] > 0.9 and shared["drums"] > 0.9  # the measure finds samples that are shared


def test_a_twin_has_the_tested_clips_labels_and_other_audio(rendered):
    root = rendered / "SynthIRMAS"
    testing = irmas.read_irmas(root).query("split == 'test'")
    for twin in synth.TWINS:
        twins = synth.twin_clips(testing, root, twin)
        assert 0 < len(twins) < len(testing)
        assert twins["labels"].tolist() == testing.loc[twins.index, "labels"].tolist()
        for path, tested in zip(twins["path"], testing.loc[twins.index, "path"]):
            assert f"{synth.TWINS_FOLDER}/{twin}/" in path and os.path.basename(path) == os.path.basename(tested)
            a, b = sf.read(path)[0], sf.read(tested)[0]
            assert a.shape == b.shape and not np.allclose(a, b, atol=1e-3)


def test_render_is_neither_silent_nor_clipped(rendered):
    frame = irmas.read_irmas(rendered / "SynthIRMAS")
    for path in frame["path"]:
        samples, _ = sf.read(path)
        rms = np.sqrt(np.mean(samples ** 2))
        assert 0.005 < rms < 0.5 and np.abs(samples).max() < 1.0


def test_each_class_sounds_like_its_own_instrument():
    """The same two notes, rendered with each class's first General MIDI program: the spectral envelopes
    (mean log-mel spectrum) of any two classes differ, so a class is more than its pitch range."""
    import librosa

    notes = [(0.0, 0.9, 67, 100), (1.0, 0.9, 72, 100)]  # G4 and C5: in every class's range
    envelopes = {}
    for cls, inst in synth.INSTRUMENTS.items():
        audio = synth.render_part(synth.IRMAS_SOUNDFONT, synth.Part(inst.programs[0], notes), 2.0).mean(axis=1)
        assert np.sqrt(np.mean(audio ** 2)) > 1e-3, cls
        mel = librosa.power_to_db(librosa.feature.melspectrogram(y=audio, sr=synth.SR, n_mels=64), ref=np.max)
        envelope = mel.mean(axis=1)
        envelopes[cls] = envelope - envelope.mean()
    for a in envelopes:
        for b in envelopes:
            if a < b:
                assert np.abs(envelopes[a] - envelopes[b]).mean() > 1.0, (a, b)  # dB, averaged over bands


def test_render_killed_before_its_rename_is_not_redone(rendered, tmp_path, monkeypatch):
    shutil.copytree(rendered / "SynthIRMAS", tmp_path / "SynthIRMAS.partial")
    monkeypatch.setattr(synth, "render_job", lambda *a: pytest.fail("re-rendered a finished render"))
    synth.render_synth_irmas(tmp_path / "SynthIRMAS", workers=1, **TINY)
    assert (tmp_path / "SynthIRMAS" / "manifest.json").exists() and not (tmp_path / "SynthIRMAS.partial").exists()


def test_missing_soundfont_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_SOUNDFONT_DIR", str(tmp_path))
    monkeypatch.setattr(synth, "SOUNDFONT_DIRS", ())
    with pytest.raises(ConfigError, match="apt-get install fluid-soundfont-gm"):
        synth.render_synth_irmas(tmp_path / "x", workers=1, **TINY)
    assert not (tmp_path / "x").exists()


def test_soundfont_dir_override(monkeypatch):
    folder = os.path.dirname(synth.find_soundfont(synth.IRMAS_SOUNDFONT))
    monkeypatch.setenv("HARMONY_SOUNDFONT_DIR", folder)
    assert str(synth.find_soundfont(synth.AUDIOSET_TEST_SOUNDFONT)).startswith(folder)


@pytest.mark.parametrize("cls", synth.CLASSES)
def test_parts_stay_in_real_ranges_and_use_several_programs(cls):
    inst = synth.INSTRUMENTS[cls]
    programs = set()
    for i, genre in enumerate(synth.GENRES * 4):
        rng = np.random.default_rng(i)
        song = synth.random_song(rng, genre)
        part = synth.instrument_part(rng, song, cls, 6.0)
        programs.add(part.program)
        low, high = synth.SAX_RANGES.get(part.program, (inst.low, inst.high))
        keys = [key for _, _, key, _ in part.notes]
        assert keys and min(keys) >= min(low, 45) and max(keys) <= high + 12
        assert all(0 <= t < 6.1 and 0 < length and 1 <= v <= 127 for t, length, _, v in part.notes)  # 6 s + jitter
    assert programs <= set(inst.programs)
    assert len(programs) == len(set(inst.programs))  # every GM program of the class is used


def test_backing_has_drums_on_the_drum_channel_only_when_asked():
    rng = np.random.default_rng(0)
    song = synth.random_song(rng, "pop_roc")
    with_drums = synth.backing(rng, song, 4.0, lead=("voi",), with_drums=True)
    without = synth.backing(rng, song, 4.0, lead=("voi",), with_drums=False)
    assert [p.drums for p in with_drums].count(True) == 1 and not any(p.drums for p in without)
    assert all(p.gain_db < 0 for p in with_drums)  # accompaniment below the predominant instrument


def test_synthirmas_dr_renders_the_training_notes_from_every_randomisation_soundfont_in_turn():
    """SynthIRMAS-DR has SynthIRMAS's training jobs (names, seeds: the same notes), each from one of the domain-
    randomisation SoundFonts through the randomised chain, every class spread over all of them."""
    plain = [j for j in synth.plan_irmas(1234, 300, 0, (1, 1)) if j["kind"] == "train"]
    randomised = synth.plan_irmas_dr(1234, 300)
    assert [(j["names"], j["seed"], j["cls"]) for j in randomised] == [(j["names"], j["seed"], j["cls"]) for j in plain]
    assert {j["chain"] for j in randomised} == {"randomised"}
    assert synth.IRMAS_TEST_SOUNDFONT not in synth.DR_SOUNDFONTS
    for cls in synth.CLASSES:
        fonts = [j["soundfont"] for j in randomised if j["cls"] == cls]
        counts = [fonts.count(name) for name in synth.DR_SOUNDFONTS]
        assert max(counts) - min(counts) <= 1, (cls, counts)


@pytest.mark.parametrize("test_bank", [synth.IRMAS_TEST_SOUNDFONT, synth.AUDIOSET_TEST_SOUNDFONT])
def test_no_domain_randomisation_soundfont_shares_a_recording_with_a_test_bank(test_bank):
    """Neither SynthIRMAS-DR's nor SynthAudioSet's training clips (both from DR_SOUNDFONTS) share a sample with the
    SoundFonts of SynthIRMAS's or SynthAudioSet's validation and test clips."""
    for name in synth.DR_SOUNDFONTS:
        alike = synth.class_similarity(name, test_bank)
        assert max(alike.values()) < 0.85, (name, alike)


def test_synthaudioset_trains_on_every_randomisation_soundfont_and_tests_on_the_held_out_one():
    from harmonylib.data.splits import ytid_split

    fractions = (0.7, 0.1, 0.2)
    jobs = synth.plan_audioset(1234, 600, fractions)
    split = ytid_split([j["ytid"] for j in jobs], fractions, 1234).set_index("ytid")["split"]
    assert {j["soundfont"] for j in jobs if split[j["ytid"]] != "train"} == {synth.AUDIOSET_TEST_SOUNDFONT}
    training = [j for j in jobs if split[j["ytid"]] == "train"]
    for cls in synth.CLASSES:
        fonts = [j["soundfont"] for j in training if next(iter(j["windows"])) == cls]  # the first instrument
        counts = [fonts.count(name) for name in synth.DR_SOUNDFONTS]
        assert max(counts) - min(counts) <= 1 and min(counts) > 0, (cls, counts)
    assert [j["labels"] for j in jobs] == [j["labels"] for j in synth.plan_audioset(1234, 600, (0.5, 0.25, 0.25))]


def test_synthaudioset_is_read_with_the_split_its_soundfonts_followed(rendered):
    """The render stores the split the SoundFonts followed, and the reader keeps it when a clip is left out (a
    recomputed split of fewer clips would send held-out clips to training and training clips to test)."""
    from harmonylib.data.splits import audioset_split, ytid_split

    root, fractions = rendered / "SynthAudioSet", (0.5, 0.25, 0.25)
    clips = read_audioset(root)
    planned = ytid_split(clips["ytid"], fractions, 7).set_index("ytid")["split"]
    fewer = clips.iloc[1:]
    assert audioset_split(fewer, root, fractions, 7).tolist() == planned[fewer["ytid"]].tolist()
    assert ytid_split(fewer["ytid"], fractions, 7).set_index("ytid")["split"].tolist() != planned[fewer["ytid"]].tolist()


def test_the_randomised_chain_is_seeded_and_differs_between_seeds():
    rng = np.random.default_rng(0)
    audio = rng.standard_normal((2, synth.SR)).astype(np.float32) * 0.1
    first = synth.randomised_chain(np.random.default_rng(1), audio)
    again = synth.randomised_chain(np.random.default_rng(1), audio)
    other = synth.randomised_chain(np.random.default_rng(2), audio)
    assert first.shape == audio.shape and first.dtype == np.float32
    assert np.array_equal(first, again) and not np.allclose(first, other)
