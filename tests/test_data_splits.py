"""Song-grouped, stratified, persisted splits; pooled waveform statistics; the waveform store; prepare()."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from harmonylib.config import get_profile
from harmonylib.data import normalization, prepare, store, waveforms
from harmonylib.data.splits import audioset_split, irmas_split, song_split
from harmonylib.labels import CLASSES


def clip_table(root, songs=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(songs):
        pool = list(rng.choice(CLASSES, size=3, replace=False, p=np.linspace(2, 0.2, 11) / np.linspace(2, 0.2, 11).sum()))
        for k in range(int(rng.integers(2, 6))):
            labels = tuple(sorted(pool[: int(rng.integers(1, 4))], key=CLASSES.index))
            rows.append(dict(path=str(root / f"song {s:02d}-{k + 1}.wav"), song=f"song {s:02d}", labels=labels))
    return pd.DataFrame(rows)


def test_song_split_groups_and_stratifies(tmp_path):
    frame = clip_table(tmp_path)
    side = song_split(frame, 0.3, seed=1)
    per_song = frame.assign(side=side).groupby("song")["side"].nunique()
    assert (per_song == 1).all()  # no song on both sides
    assert 0.2 < (side == "val").mean() < 0.4
    val_classes = {c for labels in frame.loc[side == "val", "labels"] for c in labels}
    assert len(val_classes) >= 8
    assert side.equals(song_split(frame, 0.3, seed=1))
    assert not side.equals(song_split(frame, 0.3, seed=2))


def test_tiny_split_still_grouped(tmp_path):
    frame = clip_table(tmp_path, songs=3)
    side = song_split(frame, 0.3, seed=0)
    assert (frame.assign(side=side).groupby("song")["side"].nunique() == 1).all()


def test_irmas_split_is_persisted_byte_for_byte(tmp_path):
    frame = clip_table(tmp_path)
    first = irmas_split(frame, tmp_path, 0.3, 5)
    csv = next((tmp_path / "harmony_splits").glob("*.csv"))
    content = csv.read_bytes()
    csv.unlink()
    second = irmas_split(frame, tmp_path, 0.3, 5)
    assert csv.read_bytes() == content and first.equals(second)
    shuffled = frame.sample(frac=1, random_state=3)
    assert irmas_split(shuffled, tmp_path, 0.3, 5).equals(first.loc[shuffled.index])


def test_audioset_split_fractions(tmp_path):
    frame = pd.DataFrame(dict(ytid=[f"{i:011d}" for i in range(200)]))
    side = audioset_split(frame, tmp_path, (0.7, 0.1, 0.2), seed=3)
    assert side.value_counts().to_dict() == {"train": 140, "test": 40, "val": 20}
    csv = next((tmp_path / "harmony_splits").glob("audioset*.csv"))
    content = csv.read_bytes()
    csv.unlink()
    assert audioset_split(frame.iloc[::-1], tmp_path, (0.7, 0.1, 0.2), seed=3).equals(side.iloc[::-1])
    assert csv.read_bytes() == content


def test_pooled_statistics_are_not_averages_of_file_statistics(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    a = np.full(44100, 0.5)
    b = np.random.default_rng(0).normal(-0.2, 0.05, 22050)
    paths = []
    for name, data in (("a.wav", a), ("b.wav", b)):
        sf.write(tmp_path / name, data, 44100, subtype="FLOAT")
        paths.append(str(tmp_path / name))
    mean, std = normalization.waveform_stats(paths, "t")
    pooled = np.concatenate([a, b])
    assert mean == pytest.approx(pooled.mean(), abs=1e-6) and std == pytest.approx(pooled.std(), rel=1e-5)
    assert std > np.mean([a.std(), b.std()]) * 3  # the original per-file average would be far too small
    assert len(list((tmp_path / "build" / "cache" / "stats").glob("t-*.json"))) == 1
    sf.write(tmp_path / "a.wav", a * 0, 44100, subtype="FLOAT")  # changed data -> new key, new numbers
    assert normalization.waveform_stats(paths, "t")[0] != pytest.approx(mean)


@pytest.fixture
def clips(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    paths = []
    for i, seconds in enumerate((0.5, 0.25, 1.0)):
        path = tmp_path / f"clip{i}.wav"
        t = np.arange(int(seconds * 22050)) / 22050
        sf.write(path, np.stack([0.3 * np.sin(2 * np.pi * 220 * (i + 1) * t)] * 2, axis=1), 22050)
        paths.append(str(path))
    return pd.DataFrame(dict(path=paths))


def test_waveform_store_matches_the_loader(clips):
    from harmonylib import audio

    wav = waveforms(clips, sr=44100)
    assert len(wav) == 3
    for i, path in enumerate(clips["path"]):
        expected, _ = audio.load(path, sr=44100, mono=True)
        assert wav[i].dtype == np.float32 and wav[i].shape == expected.shape
        assert np.abs(wav[i] - expected).max() < 1e-4
    stereo = waveforms(clips, sr=22050, mono=False)
    assert stereo[2].shape == (2, 22050)
    import pickle

    assert len(pickle.dumps(wav)) < 2000  # pickles as its folder, not as the decoded audio
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(wav))[1], wav[1])


def test_waveform_store_rebuilt_only_when_data_change(clips):
    first = waveforms(clips, sr=22050)
    again = waveforms(clips, sr=22050)
    assert again.folder == first.folder
    sf.write(clips["path"][1], np.zeros((100, 2)), 22050)
    changed = waveforms(clips, sr=22050)
    assert changed.folder != first.folder and len(changed[1]) == 100


def test_waveform_store_never_uses_a_torn_cache(clips, monkeypatch):
    key_folder = store.paths.cache_dir() / "waveforms" / store.store_key(list(clips["path"]), 16000, True)
    key_folder.mkdir(parents=True)
    (key_folder / "data.int16").write_bytes(b"\x00" * 10)  # what a killed build could have left: no meta.json
    wav = waveforms(clips, sr=16000)
    assert len(wav) == 3 and len(wav[2]) == 16000

    calls = []

    def crash(path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return np.zeros(10, dtype=np.float32), 8000

    monkeypatch.setattr(store.audio, "load", crash)
    with pytest.raises(KeyboardInterrupt):
        waveforms(clips, sr=8000)
    assert not any(p.name.startswith(".") for p in (store.paths.cache_dir() / "waveforms").iterdir())


def test_prepare_tiny_synthetic_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    smoke = get_profile("smoke")
    tiny = dataclasses.replace(smoke, data=dataclasses.replace(
        smoke.data, synth_train_clips=11, synth_test_songs=4, synth_audioset_clips=10, synth_test_seconds=5.0))
    data = prepare(tiny, data_dir=tmp_path / "data", workers=1)
    assert data.irmas_name == "SynthIRMAS" and data.audioset_name == "SynthAudioSet"
    assert len(data.train) == 11 and set(data.train["split"]) == {"train"}
    assert set(data.val["split"]) == {"val"} and set(data.test["split"]) == {"test"}
    assert not set(data.val["song"]) & set(data.test["song"])
    assert len(data.audioset_train) == 7 and len(data.audioset_val) == 1 and len(data.audioset_test) == 2
    assert 0 < data.std < 1 and abs(data.mean) < 0.01 and data.audioset_std > 0
    assert all(isinstance(l, tuple) for l in data.test["labels"])
    again = prepare(tiny, data_dir=tmp_path / "data", workers=1)
    pd.testing.assert_frame_equal(again.test, data.test)


def test_prepare_full_profile_reads_the_real_layout(tmp_path, monkeypatch):
    from harmonylib.errors import ConfigError

    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    with pytest.raises(ConfigError, match="no IRMAS data"):
        prepare(get_profile("full"), data_dir=tmp_path / "empty")
    root = tmp_path / "real"
    rng = np.random.default_rng(0)

    def wav(path, seconds, channels=2):
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, rng.normal(0, 0.1, (int(seconds * 8000), channels)), 8000, subtype="PCM_16")

    for i, code in enumerate(("cel", "gel", "voi")):
        wav(root / "IRMAS" / "IRMAS-TrainingData" / code / f"{i:03d}__[{code}][nod][pop_roc]0001__1.wav", 3)
        wav(root / "IRMAS" / "IRMAS-TrainingData" / code / f"[{code}][cla]0002__1.wav", 3)
    part = root / "IRMAS" / "IRMAS-TestingData-Part1" / "Part1"
    for song in range(8):
        for k in (1, 2):
            wav(part / f"({song:02d}) song-{k}.wav", 5)
            (part / f"({song:02d}) song-{k}.txt").write_text(f"{CLASSES[song % 11]}\t\r\nvoi\t\r\n")
    audio_dir = root / "AudioSet" / "audio"
    rows = []
    for i in range(10):
        ytid = f"id{i:09d}"
        wav(audio_dir / f"{ytid}.wav", 10, channels=1)
        rows.append(f"{ytid},0.000,10.000,/m/05r5c,pia,ok,")
    rows.append("id999999999,0.000,10.000,/m/05r5c,pia,unavailable,Private video")
    (root / "AudioSet" / "clips.csv").write_text(
        "ytid,start_seconds,end_seconds,positive_labels,labels,status,detail\n" + "\n".join(rows) + "\n")
    data = prepare(get_profile("full"), data_dir=root)
    assert data.irmas_name == "IRMAS" and data.audioset_name == "AudioSet"
    assert len(data.train) == 6 and len(data.val) + len(data.test) == 16
    assert not set(data.val["song"]) & set(data.test["song"]) and len(data.val) > 0
    assert (len(data.audioset_train), len(data.audioset_val), len(data.audioset_test)) == (7, 1, 2)
    assert data.std == pytest.approx(0.1 / np.sqrt(2), rel=0.05)  # mono mixdown of two independent channels
    assert (root / "IRMAS" / "harmony_splits").is_dir()


def test_windows_cut_from_the_store_in_one_batch_equal_the_items(clips):
    from harmonylib.windows import WindowDataset, Windows

    for last in ("pad", "drop"):
        windows = Windows(waveforms(clips, sr=22050), 22050, 0.3, last=last)
        rows = np.array([len(windows) - 1, 0, 2, 2, 1])  # any order, repeats, the padded last window
        expected = np.stack([windows[j] for j in rows])
        assert torch.equal(windows.batch(rows, "cpu"), torch.from_numpy(expected))
    data = WindowDataset(windows, np.eye(11)[[0, 1, 2]], rows=[1, 3])
    wave, target, clip = data.batch([1, 0], "cpu")
    assert torch.equal(wave, torch.stack([data[1][0], data[0][0]]))
    assert clip.tolist() == [data[1][2], data[0][2]] and torch.equal(target[0], data[1][1])
