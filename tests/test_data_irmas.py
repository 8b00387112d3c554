"""read_irmas on a tree with IRMAS's real layout and naming variants, on every name of the real release, and
every bad-input case."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmonylib.data.irmas import TEST_FOLDERS, parse_train_name, read_irmas, read_labels, song_of
from harmonylib.errors import DatasetError, LabelError
from harmonylib.labels import CLASSES

TRAIN = {
    "cel": ["[cel][cla]0001__1.wav", "[cel][cla]0001__2.wav"],
    "gel": ["001__[gel][dru][pop_roc]0893__1.wav", "002__[gel][nod][jaz_blu]0900__3.wav",
            "014__[gel][---][pop_roc]0978__1.wav"],
    "voi": ["[voi][pop_roc]2211__1.wav", "145__[voi][dru][cou_fol]2333__2.wav"],
}
TEST = {  # part folder -> {name: label file content}
    "IRMAS-TestingData-Part1/Part1": {"(02) dont kill the whale-1": "gel\t\nvoi\t\n",
                                      "(02) dont kill the whale-2": "gel\t\r\nvoi\t\r\n"},
    "IRMAS-TestingData-Part2/IRTestingData-Part2": {"01. Song - Title-With-Dash-11": "pia\t\nsax\t\n\n"},
    "IRMAS-TestingData-Part3/Part3": {"ñandú song-3": "org\t\n"},
}


def wav(path, seconds=0.3, sr=44100, channels=2):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.full((int(seconds * sr), channels), 0.1), sr, subtype="PCM_16")


def build_tree(root):
    for cls, names in TRAIN.items():
        for name in names:
            wav(root / "IRMAS-TrainingData" / cls / name, seconds=3.0)
    for folder, clips in TEST.items():
        for name, labels in clips.items():
            wav(root / folder / f"{name}.wav", seconds=1.0)
            (root / folder / f"{name}.txt").write_bytes(labels.encode())
    (root / "IRMAS-TrainingData" / "README.txt").write_text("not a clip")
    return root


def test_reads_real_layout_and_naming_variants(tmp_path):
    frame = read_irmas(build_tree(tmp_path))
    train = frame[frame["split"] == "train"].set_index(frame[frame["split"] == "train"]["path"].map(
        lambda p: p.rsplit("/", 1)[1]))
    assert len(train) == 7
    assert train.loc["[cel][cla]0001__1.wav", "drums"] is None
    assert train.loc["014__[gel][---][pop_roc]0978__1.wav", "drums"] is None  # drums unknown
    assert train.loc["001__[gel][dru][pop_roc]0893__1.wav", "drums"] is True
    assert train.loc["002__[gel][nod][jaz_blu]0900__3.wav", "drums"] is False
    assert train.loc["002__[gel][nod][jaz_blu]0900__3.wav", "genre"] == "jaz_blu"
    assert train.loc["145__[voi][dru][cou_fol]2333__2.wav", "labels"] == ("voi",)
    assert train["duration"].tolist() == pytest.approx([3.0] * 7)
    assert train["part"].map(lambda p: p is None).all()
    test = frame[frame["split"] == "test"].set_index("song")
    assert sorted(test.index) == ["(02) dont kill the whale", "(02) dont kill the whale",
                                  "01. Song - Title-With-Dash", "ñandú song"]
    assert set(test.loc["(02) dont kill the whale", "labels"]) == {("gel", "voi")}  # LF and CRLF files
    assert test.loc["01. Song - Title-With-Dash", "labels"] == ("pia", "sax")
    assert test.loc["01. Song - Title-With-Dash", "part"] == 2
    assert all(type(p) is int for p in test["part"])  # not a float column with NaN for the training rows
    assert test["instrument"].map(lambda v: v is None).all() and test["genre"].map(lambda v: v is None).all()
    assert list(frame.columns[:8]) == ["path", "split", "labels", "instrument", "genre", "drums", "song",
                                       "duration"]


def test_name_parsing():
    assert parse_train_name("[flu][lat_sou]0123__2")["song"] == "[flu][lat_sou]0123"
    assert parse_train_name("077__[sax][nod][jaz_blu]1234__1")["drums"] is False
    assert parse_train_name("sax_001") is None
    assert parse_train_name("[gac][dru][pop_roc]0007__1")["drums"] is True  # drum token without prefix
    assert song_of("(02) dont kill the whale-12") == "(02) dont kill the whale"
    assert song_of("a-b-c-3") == "a-b-c"


@pytest.mark.parametrize("content,expected", [
    ("gel\t\n", ("gel",)), ("voi\t\r\ngel\t\r\n", ("gel", "voi")), ("VOI \n\n  gel\t\n", ("gel", "voi")),
    ("pia\t\npia\t\n", ("pia",)),  # a duplicate label is kept once
    ("\ufeffcel\t\n", ("cel",)),  # a UTF-8 byte-order mark
])
def test_label_files_accepted(tmp_path, content, expected):
    path = tmp_path / "x.txt"
    path.write_bytes(content.encode())
    assert read_labels(path) == expected


@pytest.mark.parametrize("content,problem", [("", "empty"), ("\r\n\t\n", "empty"), ("xyz\t\n", "unknown"),
                                             ("gel\t\nbass\t\n", "unknown")])
def test_bad_label_files(tmp_path, content, problem):
    path = tmp_path / "x.txt"
    path.write_bytes(content.encode())
    with pytest.raises(LabelError, match=problem) as info:
        read_labels(path)
    assert info.value.path == path


def test_missing_and_binary_label_files(tmp_path):
    with pytest.raises(LabelError, match="missing"):
        read_labels(tmp_path / "none.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(LabelError, match="not text"):
        read_labels(tmp_path / "bin.txt")


def test_all_bad_files_reported_at_once(tmp_path):
    root = build_tree(tmp_path)
    part1 = root / "IRMAS-TestingData-Part1/Part1"
    (part1 / "(02) dont kill the whale-1.txt").unlink()  # missing labels
    (part1 / "(02) dont kill the whale-2.txt").write_text("")  # empty labels
    (part1 / "empty-1.wav").write_bytes(b"")  # empty wav
    (part1 / "empty-1.txt").write_text("gel\t\n")
    (part1 / "unknown-1.txt").write_text("kazoo\t\n")
    wav(part1 / "unknown-1.wav")
    wav(root / "IRMAS-TrainingData" / "bass" / "[bass][pop_roc]0001__1.wav")  # unknown class folder
    wav(root / "IRMAS-TrainingData" / "cel" / "cello_take_1.wav")  # unparseable name
    wav(root / "IRMAS-TrainingData" / "cel" / "[gel][pop_roc]0001__1.wav")  # class does not match folder
    wav(root / "IRMAS-TrainingData" / "cel" / "[cel][metal]0001__1.wav")  # unknown genre
    noise = root / "IRMAS-TrainingData" / "cel" / "[cel][cla]0002__1.wav"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 999, dtype=np.uint8).tobytes())  # corrupt
    wav(root / "IRMAS-TestingData-Part3/Part3" / "ñandú song-3.wav")  # duplicate name across parts ...
    dup = root / "IRMAS-TestingData-Part2/IRTestingData-Part2" / "ñandú song-3.wav"
    wav(dup)
    (dup.with_suffix(".txt")).write_text("org\t\n")
    with pytest.raises(DatasetError) as info:
        read_irmas(root)
    problems = info.value.problems
    named = {p.path.name for p in problems}
    assert {"(02) dont kill the whale-1.txt", "(02) dont kill the whale-2.txt", "empty-1.wav",
            "unknown-1.txt", "bass", "cello_take_1.wav", "[gel][pop_roc]0001__1.wav", "[cel][metal]0001__1.wav",
            "[cel][cla]0002__1.wav", "ñandú song-3.wav"} <= named
    assert len(problems) == 10
    assert "10 bad file(s)" in str(info.value)


def test_other_rates_and_channels_are_recorded(tmp_path):
    wav(tmp_path / "IRMAS-TrainingData/pia/[pia][cla]0001__1.wav", seconds=3.0, sr=22050, channels=1)
    frame = read_irmas(tmp_path)
    assert frame.loc[0, "sample_rate"] == 22050 and frame.loc[0, "channels"] == 1
    assert frame.loc[0, "duration"] == pytest.approx(3.0)


def test_empty_tree_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no IRMAS clips"):
        read_irmas(tmp_path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=200))
def test_label_reader_on_arbitrary_bytes(tmp_path, payload):
    """Any label file gives class codes in CLASSES order or a LabelError naming it, nothing else."""
    path = tmp_path / "fuzz.txt"
    path.write_bytes(payload)
    try:
        labels = read_labels(path)
    except LabelError as error:
        assert error.path == path
        return
    assert labels and list(labels) == sorted(set(labels), key=list(CLASSES).index)


def _stub_tree_of_the_real_release(root, listing):
    """Every file of the real IRMAS release as an empty file in the real layout (test labels written out),
    the test excerpts spread over the three testing parts; returns {absolute path: listing row}."""
    rows = {}
    for i, row in enumerate(listing.itertuples()):
        if row.split == "train":
            path = root / "IRMAS-TrainingData" / row.name
        else:
            path = root / TEST_FOLDERS[i % 3] / row.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".txt").write_text("".join(f"{code}\t\n" for code in row.labels.split()))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        rows[str(path.resolve())] = row
    return rows


class _Header:
    """What read_irmas asks of a file's header: its frames, at 44.1 kHz stereo."""

    def __init__(self, frames):
        self.frames, self.samplerate, self.channels = frames, 44100, 2


def test_every_name_of_the_real_release_is_read_with_its_labels(tmp_path, shared_data, monkeypatch):
    import pandas as pd

    from harmonylib import audio

    listing = pd.read_csv(shared_data / "irmas" / "listing.csv", dtype={"name": str, "labels": str})
    rows = _stub_tree_of_the_real_release(tmp_path, listing)
    monkeypatch.setattr(audio, "info", lambda path: _Header(rows[str(Path(path).resolve())].n_samples))
    frame = read_irmas(tmp_path)
    assert len(frame) == len(listing) == 9579 and (frame["split"] == "train").sum() == 6705
    for clip in frame.itertuples():
        row = rows[clip.path]
        assert (clip.split, clip.labels) == (row.split, tuple(c for c in CLASSES if c in row.labels.split()))
        assert round(clip.duration * 44100) == row.n_samples
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    unknown = train[train["path"].str.contains("[---]", regex=False)]
    assert len(unknown) == 12 and unknown["drums"].map(lambda d: d is None).all()
    assert set(train["drums"].map(repr)) == {"True", "False", "None"}
    assert (train["duration"] * 44100).round().eq(132299).all()  # one sample short of 3 s
    assert test["part"].map(type).eq(int).all() and test["instrument"].map(lambda v: v is None).all()
    assert test["path"].map(lambda p: not p.isascii()).sum() == 36


def test_the_genuine_irmas_clips_are_read(shared_data):
    frame = read_irmas(shared_data / "irmas" / "clips")
    train, test = frame[frame["split"] == "train"].iloc[0], frame[frame["split"] == "test"].iloc[0]
    assert train["labels"] == ("cla",) and train["genre"] == "cla" and train["drums"] is None
    assert round(train["duration"] * train["sample_rate"]) == 132299 and train["channels"] == 2
    assert test["labels"] == ("gel", "voi") and test["song"] == "02 - And The Body Will Die"
    assert test["part"] == 1 and round(test["duration"]) == 20
