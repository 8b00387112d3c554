"""The AudioSet collector of report 3.2, offline: segment CSV parsing, Table 3.2 mapping, and downloads
through an injected fake downloader (resume, retries, rate limit, unavailable videos, safe IDs)."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from harmonylib.data import audioset
from harmonylib.data.audioset import (NetworkError, VideoUnavailable, YtDlpDownloader, collect, ids_table,
                                      map_labels, read_audioset, read_class_labels, read_segments,
                                      select_segments)
from harmonylib.errors import CSVFormatError, DatasetError

# Google's header, the four rows of report Table 3.1, then rows exercising the Table 3.2 mapping.
SEGMENTS = '''# Segments csv created Sun Mar  5 10:54:31 2017
# num_ytids=22160, num_segs=22160, num_unique_labels=527, num_positive_labels=52882
# YTID, start_seconds, end_seconds, positive_labels
--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"
--ZhevVpy1s, 50.000, 60.000, "/m/012xff"
--aE2O5G5WE, 0.000, 10.000, "/m/03fw1,/m/04rlf,/m/09x0r"
--aO5cdqSAg, 30.000, 40.000, "/t/dd00003,/t/dd00005"
violinPlain, 0.000, 10.000, "/m/04rlf,/m/07y_7"
violinPizzi, 10.000, 20.000, "/m/07y_7,/m/0d8_n"
pianoAcoust, 0.000, 10.000, "/m/05r5c"
pianoElectr, 5.000, 15.000, "/m/05r5c,/m/01s0ps"
celloViolin, 0.000, 10.000, "/m/01xqw,/m/07y_7,/m/042v_gx"
narration01, 0.000, 10.000, "/m/02qldy"
'''


@pytest.fixture
def segments_csv(tmp_path):
    path = tmp_path / "balanced_train_segments.csv"
    path.write_text(SEGMENTS)
    return path


def test_read_segments_table_3_1(segments_csv):
    frame = read_segments(segments_csv)
    assert len(frame) == 10
    first = frame.iloc[0]
    assert (first["ytid"], first["start_seconds"], first["end_seconds"]) == ("--PJHxphWEs", 30.0, 40.0)
    assert first["positive_labels"] == ("/m/09x0r", "/t/dd00088")
    assert frame.iloc[2]["positive_labels"] == ("/m/03fw1", "/m/04rlf", "/m/09x0r")


def test_mapping_applies_exclusions_and_speech_choice(segments_csv):
    chosen = select_segments(read_segments(segments_csv)).set_index("ytid")["labels"]
    assert chosen["--aO5cdqSAg"] == ("voi",)  # male + child singing: voi once
    assert chosen["violinPlain"] == ("vio",)
    assert "violinPizzi" not in chosen.index  # violin w/o pizzicato
    assert chosen["pianoAcoust"] == ("pia",)
    assert "pianoElectr" not in chosen.index  # piano w/o electric piano
    assert chosen["celloViolin"] == ("cel", "gac", "vio")
    assert chosen["narration01"] == ("voi",)
    assert map_labels(["/m/02qlsy"]) == ()  # the report's misprint of narration is no AudioSet ID
    assert "--PJHxphWEs" not in chosen.index  # generic Speech /m/09x0r is not in Table 3.2
    without_speech = select_segments(read_segments(segments_csv), include_speech=False)
    assert "narration01" not in set(without_speech["ytid"])
    assert map_labels(["/m/0d8_n"]) == ()


def test_per_class_cap(segments_csv):
    capped = select_segments(read_segments(segments_csv), cap_per_class=1, seed=3)
    counts = pd.Series([c for labels in capped["labels"] for c in labels]).value_counts()
    assert counts.get("voi", 0) <= 2 and counts.get("pia", 0) == 1  # a row counts for each of its classes
    assert len(capped) < len(select_segments(read_segments(segments_csv)))


def test_table_3_2_has_the_exclusions():
    table = ids_table()
    assert len(table) == 18
    assert '"/m/07y_7" w/o "/m/0d8_n"' in set(table["audioset_id"])
    assert '"/m/05r5c" w/o "/m/01s0ps"' in set(table["audioset_id"])
    assert table.set_index("description").loc["narration", "note"].startswith("the report prints /m/02qlsy")


def test_table_3_2_ids_are_in_the_ontology_and_select_the_real_segments(shared_data):
    from harmonylib.data.audioset import IDS_OF_INTEREST
    from harmonylib.labels import CLASSES
    from harmonylib.reference import AUDIOSET_SELECTION

    ontology = read_class_labels(shared_data / "audioset" / "class_labels_indices.csv")
    assert len(ontology) == 527
    assert {c.mid for c in IDS_OF_INTEREST} | {c.exclude for c in IDS_OF_INTEREST if c.exclude} <= ontology
    for name, (total, per_class) in AUDIOSET_SELECTION.items():
        chosen = select_segments(read_segments(shared_data / "audioset" / name, known_mids=ontology))
        counts = pd.Series([c for labels in chosen["labels"] for c in labels]).value_counts()
        assert (len(chosen), {c: int(counts.get(c, 0)) for c in CLASSES}) == (total, per_class), name


def test_malformed_rows_listed_together(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(SEGMENTS + 'tooShort, 1.0\n../../etc/p, 0.0, 10.0, "/m/05r5c"\n'
                    'abcdefghijk, x, 10.0, "/m/05r5c"\nabcdefghijk, 20.0, 10.0, "/m/05r5c"\n'
                    'abcdefghijk, 0.0, 10.0, ""\n')
    with pytest.raises(CSVFormatError) as info:
        read_segments(path)
    assert "5 malformed row(s)" in str(info.value) and "line 14" in str(info.value)
    skipped = read_segments(path, on_bad="skip")
    assert len(skipped) == 10 and skipped.attrs["skipped"] == 5


def test_unknown_ids_with_an_ontology(segments_csv, tmp_path):
    ontology = tmp_path / "class_labels_indices.csv"
    ontology.write_text('index,mid,display_name\n0,/m/09x0r,"Speech"\n1,/t/dd00088,"Gush"\n2,/m/05r5c,"Piano"\n')
    known = read_class_labels(ontology)
    assert known == {"/m/09x0r", "/t/dd00088", "/m/05r5c"}
    with pytest.raises(CSVFormatError, match="unknown AudioSet ID"):
        read_segments(segments_csv, known_mids=known)
    (tmp_path / "wrong.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CSVFormatError, match="mid"):
        read_class_labels(tmp_path / "wrong.csv")


class FakeDownloader:
    """Writes a tone of a chosen length per ID; can fail like YouTube and a flaky network do."""

    def __init__(self, seconds=None, unavailable=(), flaky=None, sr=48000):
        self.seconds, self.unavailable, self.flaky, self.sr = seconds or {}, set(unavailable), dict(flaky or {}), sr
        self.calls = []

    def __call__(self, ytid, start, end, target):
        self.calls.append(ytid)
        if ytid in self.unavailable:
            raise VideoUnavailable("Private video")
        if self.flaky.get(ytid, 0) > 0:
            self.flaky[ytid] -= 1
            raise NetworkError("connection reset")
        n = int(self.seconds.get(ytid, end - start) * self.sr)
        sf.write(target, 0.2 * np.sin(np.arange(n) / 10.0), self.sr, subtype="PCM_16")


def selected(ids):
    return pd.DataFrame(dict(ytid=ids, start_seconds=[0.0] * len(ids), end_seconds=[10.0] * len(ids),
                             positive_labels=[("/m/05r5c",)] * len(ids), labels=[("pia",)] * len(ids)))


def test_collect_converts_pads_drops_and_records(tmp_path):
    ids = ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc", "ddddddddddd", "eeeeeeeeeee"]
    fake = FakeDownloader(seconds={"bbbbbbbbbbb": 9.7, "ccccccccccc": 10.8}, unavailable={"ddddddddddd"},
                          flaky={"eeeeeeeeeee": 2})
    sleeps = []
    manifest = collect(selected(ids), tmp_path, downloader=fake, sleep=sleeps.append, rate_limit_s=0.5,
                       backoff_s=1.0)
    status = manifest.set_index("ytid")["status"]
    assert status.to_dict() == {"aaaaaaaaaaa": "ok", "bbbbbbbbbbb": "ok", "ccccccccccc": "dropped_duration",
                                "ddddddddddd": "unavailable", "eeeeeeeeeee": "ok"}
    for ytid in ("aaaaaaaaaaa", "bbbbbbbbbbb", "eeeeeeeeeee"):
        info = sf.info(tmp_path / "audio" / f"{ytid}.wav")
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (44100, 1, 441000, "PCM_16")
    assert not (tmp_path / "audio" / "ccccccccccc.wav").exists()
    assert [s for s in sleeps if s != 0.5] == [1.0, 2.0]  # exponential backoff for the two network errors
    assert sleeps.count(0.5) == 5  # rate limit between requests
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == [
        "aaaaaaaaaaa.wav", "bbbbbbbbbbb.wav", "eeeeeeeeeee.wav"]
    frame = read_audioset(tmp_path)
    assert sorted(frame["ytid"]) == ["aaaaaaaaaaa", "bbbbbbbbbbb", "eeeeeeeeeee"]
    assert set(frame["duration"]) == {10.0}


def test_collect_resumes_and_gives_up_on_persistent_network_errors(tmp_path):
    ids = ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"]
    first = FakeDownloader(flaky={"ccccccccccc": 99})
    manifest = collect(selected(ids[:2] + ["ccccccccccc"]), tmp_path, downloader=first, sleep=lambda s: None,
                       max_retries=2)
    assert manifest.set_index("ytid").loc["ccccccccccc", "status"] == "error"
    second = FakeDownloader()
    manifest = collect(selected(ids), tmp_path, downloader=second, sleep=lambda s: None)
    assert second.calls == ["ccccccccccc"]  # finished IDs are skipped, the failed one is retried
    assert set(manifest["status"]) == {"ok"}


def test_collect_checkpoints_when_interrupted(tmp_path):
    ids = [f"{c * 11}" for c in "abcdef"]

    class Interrupting(FakeDownloader):
        def __call__(self, ytid, start, end, target):
            if ytid == "ddddddddddd":
                raise KeyboardInterrupt
            super().__call__(ytid, start, end, target)

    with pytest.raises(KeyboardInterrupt):
        collect(selected(ids), tmp_path, downloader=Interrupting(), sleep=lambda s: None, checkpoint_every=100)
    done = audioset.load_manifest(tmp_path)
    assert list(done["ytid"]) == ids[:3] and set(done["status"]) == {"ok"}
    assert not list((tmp_path / "audio").glob(".*"))  # no partial download left behind
    rest = FakeDownloader()
    collect(selected(ids), tmp_path, downloader=rest, sleep=lambda s: None)
    assert rest.calls == ids[3:]


def test_invalid_ids_never_become_paths(tmp_path):
    fake = FakeDownloader()
    manifest = collect(selected(["../../etc/pw", "ok_id-ABC12"]), tmp_path / "as", downloader=fake,
                       sleep=lambda s: None)
    assert fake.calls == ["ok_id-ABC12"]
    assert manifest.set_index("ytid").loc["../../etc/pw", "status"] == "invalid_id"
    assert sorted(p.name for p in tmp_path.rglob("*.wav")) == ["ok_id-ABC12.wav"]


def test_ytdlp_downloader_uses_argument_lists(tmp_path, monkeypatch):
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs))
        assert isinstance(argv, list) and not kwargs.get("shell")
        if argv[:3] == [sys.executable, "-m", "yt_dlp"]:
            out = argv[argv.index("--output") + 1].replace("%(ext)s", "webm")
            open(out, "wb").close()
            return subprocess.CompletedProcess(argv, 0, "", "")
        sf.write(argv[-1], np.zeros(441000), 44100)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(audioset.subprocess, "run", fake_run)
    target = tmp_path / "x.wav"
    YtDlpDownloader()("-_aZ09xyzAB", 30.0, 40.0, target)
    (ytdlp, _), (ffmpeg, _) = calls
    assert ytdlp[-2:] == ["--", "https://www.youtube.com/watch?v=-_aZ09xyzAB"]
    assert ffmpeg[ffmpeg.index("-ss") + 1] == "30.000" and ffmpeg[ffmpeg.index("-t") + 1] == "10.000"
    assert ffmpeg.index("-ss") < ffmpeg.index("-i") < ffmpeg.index("-t")  # seek the input, then cut 10 s
    assert ffmpeg[ffmpeg.index("-ar") + 1] == "44100"
    assert ffmpeg[ffmpeg.index("-c:a") + 1] == "pcm_s16le" and ffmpeg[ffmpeg.index("-ac") + 1] == "1"
    with pytest.raises(ValueError):
        YtDlpDownloader()("; rm -rf ~", 0, 10, target)


def test_ytdlp_errors_are_classified(tmp_path, monkeypatch):
    def unavailable(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, "", "ERROR: [youtube] abc: Video unavailable")

    monkeypatch.setattr(audioset.subprocess, "run", unavailable)
    with pytest.raises(VideoUnavailable):
        YtDlpDownloader()("abcdefghijk", 0, 10, tmp_path / "x.wav")

    def offline(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, "", "ERROR: Unable to download webpage: <urlopen error>")

    monkeypatch.setattr(audioset.subprocess, "run", offline)
    with pytest.raises(NetworkError):
        YtDlpDownloader()("abcdefghijk", 0, 10, tmp_path / "x.wav")


def test_read_audioset_reports_bad_rows(tmp_path):
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "aaaaaaaaaaa.wav", np.zeros(441000), 44100)
    (tmp_path / "clips.csv").write_text(
        "ytid,start_seconds,end_seconds,positive_labels,labels,status,detail\n"
        "aaaaaaaaaaa,0.000,10.000,/m/05r5c,pia,ok,\n"
        "bbbbbbbbbbb,0.000,10.000,/m/05r5c,pia,ok,\n"  # file missing
        "ccccccccccc,0.000,10.000,/m/05r5c,kazoo,ok,\n"  # unknown label
        "dddddddddd/,0.000,10.000,/m/05r5c,pia,ok,\n"  # invalid ID
        "eeeeeeeeeee,0.000,10.000,/m/05r5c,pia,unavailable,Private video\n")
    with pytest.raises(DatasetError) as info:
        read_audioset(tmp_path)
    assert len(info.value.problems) == 3
    with pytest.raises(DatasetError, match="no clips.csv"):
        read_audioset(tmp_path / "nowhere")
