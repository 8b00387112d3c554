"""The data commands a researcher runs first, against test doubles (no network): ``python -m harmonylib
download-irmas DIR`` (Zenodo archives, MD5, resume) and ``collect-audioset DIR --segments CSV``."""
import hashlib
import http.server
import io
import threading
import zipfile

import numpy as np
import pytest
import soundfile as sf

from harmonylib.__main__ import main
from harmonylib.data import audioset, irmas


def _wav_bytes(seconds=0.2, sr=44100):
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((int(seconds * sr), 2)), sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture
def zenodo(tmp_path, monkeypatch):
    """The four IRMAS archives, tiny, on a fake Zenodo; ``fetch`` appends from them like a Range request and
    can be told to drop the connection after the first half of an archive."""
    served, checksums = tmp_path / "zenodo", {}
    served.mkdir()
    members = {"IRMAS-TrainingData.zip": {"IRMAS-TrainingData/cla/[cla][cla]0189__2.wav": _wav_bytes()}}
    for part, inner in ((1, "Part1"), (2, "IRTestingData-Part2"), (3, "Part3")):
        folder = f"IRMAS-TestingData-Part{part}/{inner}"
        members[f"IRMAS-TestingData-Part{part}.zip"] = {f"{folder}/song {part}-1.wav": _wav_bytes(),
                                                       f"{folder}/song {part}-1.txt": b"gel\t\nvoi\t\n"}
    for name, files in members.items():
        with zipfile.ZipFile(served / name, "w") as bundle:
            for member, data in files.items():
                bundle.writestr(member, data)
        checksums[name] = hashlib.md5((served / name).read_bytes()).hexdigest()
    monkeypatch.setattr(irmas, "ARCHIVES", checksums)
    state = {"calls": [], "drop_after_half": set()}

    def fetch(url, target, progress):
        name = url.split("/")[-1].split("?")[0]
        state["calls"].append((name, target.stat().st_size if target.exists() else 0))
        data = (served / name).read_bytes()
        done = target.stat().st_size if target.exists() else 0
        end = len(data) // 2 if name in state["drop_after_half"] else len(data)
        with open(target, "ab") as handle:
            handle.write(data[done:end])
        if end < len(data):
            state["drop_after_half"].discard(name)
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(irmas, "http_fetch", fetch)
    return state


def test_download_irmas_resumes_verifies_and_extracts(tmp_path, zenodo, capsys):
    zenodo["drop_after_half"].add("IRMAS-TestingData-Part2.zip")
    assert main(["download-irmas", str(tmp_path / "data")]) == 1  # the connection dropped
    assert main(["download-irmas", str(tmp_path / "data")]) == 0
    resumed = [offset for name, offset in zenodo["calls"] if name == "IRMAS-TestingData-Part2.zip"]
    assert resumed[0] == 0 and resumed[1] > 0  # the second run went on from the bytes it had
    assert [name for name, _ in zenodo["calls"]].count("IRMAS-TrainingData.zip") == 1
    clips = irmas.read_irmas(tmp_path / "data" / "IRMAS")
    assert len(clips) == 4 and sorted(clips["part"].dropna()) == [1, 2, 3]
    calls, label = len(zenodo["calls"]), next((tmp_path / "data" / "IRMAS").rglob("song 1-1.txt"))
    label.write_text("pia\t\n")  # a later edit of an extracted file
    assert main(["download-irmas", str(tmp_path / "data")]) == 0 and len(zenodo["calls"]) == calls  # all done
    assert label.read_text() == "pia\t\n"  # nothing downloaded or extracted again
    assert "--data-dir" in capsys.readouterr().out


def test_download_irmas_keeps_an_archive_with_the_wrong_checksum(tmp_path, zenodo, monkeypatch, capsys):
    right = irmas.ARCHIVES["IRMAS-TestingData-Part1.zip"]
    monkeypatch.setitem(irmas.ARCHIVES, "IRMAS-TestingData-Part1.zip", "0" * 32)
    assert main(["download-irmas", str(tmp_path)]) == 1
    assert (tmp_path / "IRMAS" / "IRMAS-TestingData-Part1.zip.bad").exists()
    assert not (tmp_path / "IRMAS" / "IRMAS-TestingData-Part1").exists()  # never extracted
    assert "IRMAS-TestingData-Part1.zip.bad" in capsys.readouterr().err
    monkeypatch.setitem(irmas.ARCHIVES, "IRMAS-TestingData-Part1.zip", right)
    assert main(["download-irmas", str(tmp_path)]) == 0
    assert ("IRMAS-TestingData-Part1.zip", 0) in zenodo["calls"][-3:]  # fetched afresh, from its first byte


ARCHIVE = bytes(range(256)) * 64


class _Zenodo(http.server.BaseHTTPRequestHandler):
    """Serves ARCHIVE; ``mode``: "range" (honours Range), "ignore" (always the whole file), "close_early"
    (announces the whole rest, sends half of it and closes)."""

    mode, sent = "range", []

    def do_GET(self):
        requested = self.headers.get("Range")
        start = int(requested.split("=")[1].rstrip("-")) if requested and self.mode != "ignore" else 0
        if start >= len(ARCHIVE):
            self.send_response(416)
            self.end_headers()
            return
        body = ARCHIVE[start:]
        self.sent.append(len(body))
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2] if self.mode == "close_early" else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Zenodo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/IRMAS-TrainingData.zip"
    httpd.shutdown()
    _Zenodo.mode, _Zenodo.sent = "range", []


@pytest.mark.parametrize("mode", ["range", "ignore"])
def test_http_fetch_completes_a_partial_file(tmp_path, server, mode, capsys):
    _Zenodo.mode = mode
    target = tmp_path / "IRMAS-TrainingData.zip.part"
    target.write_bytes(ARCHIVE[:1000])
    irmas.http_fetch(server, target)
    assert target.read_bytes() == ARCHIVE  # appended after the range, or started again where it was ignored
    assert _Zenodo.sent[-1] == len(ARCHIVE) - (1000 if mode == "range" else 0)
    assert "IRMAS-TrainingData.zip.part" in capsys.readouterr().err  # tqdm's bar names the file
    irmas.http_fetch(server, target)  # complete already: the server answers 416
    assert target.read_bytes() == ARCHIVE


def test_http_fetch_keeps_what_arrived_when_the_connection_closes_early(tmp_path, server):
    _Zenodo.mode = "close_early"
    target = tmp_path / "archive.part"
    with pytest.raises(ConnectionError, match="closed after"):
        irmas.http_fetch(server, target, progress=False)
    assert target.read_bytes() == ARCHIVE[:len(ARCHIVE) // 2]
    _Zenodo.mode = "range"
    irmas.http_fetch(server, target, progress=False)
    assert target.read_bytes() == ARCHIVE


def test_collect_audioset_selects_table_3_2_and_resumes(tmp_path, monkeypatch, capsys):
    segments = tmp_path / "balanced_train_segments.csv"
    segments.write_text('# header\n# header\n# YTID, start_seconds, end_seconds, positive_labels\n'
                        'aaaaaaaaaaa, 0.000, 10.000, "/m/05r5c"\n'
                        'bbbbbbbbbbb, 0.000, 10.000, "/m/02qldy"\n'
                        'ccccccccccc, 0.000, 10.000, "/m/09x0r"\n')
    fetched = []

    class Downloader:
        def __call__(self, ytid, start, end, target):
            fetched.append(ytid)
            sf.write(target, np.zeros(int((end - start) * 16000)), 16000, subtype="PCM_16")

    monkeypatch.setattr(audioset, "YtDlpDownloader", Downloader)
    args = ["collect-audioset", str(tmp_path), "--segments", str(segments), "--rate-limit", "0"]
    assert main(args) == 0
    assert fetched == ["aaaaaaaaaaa", "bbbbbbbbbbb"]  # generic speech (/m/09x0r) is not in Table 3.2
    clips = audioset.read_audioset(tmp_path / "AudioSet")
    assert dict(zip(clips["ytid"], clips["labels"])) == {"aaaaaaaaaaa": ("pia",), "bbbbbbbbbbb": ("voi",)}
    assert main(args) == 0 and fetched == ["aaaaaaaaaaa", "bbbbbbbbbbb"]  # resumed: nothing fetched again
    out = capsys.readouterr()
    assert main(["collect-audioset", str(tmp_path / "songs"), "--segments", str(segments), "--rate-limit", "0",
                 "--no-speech"]) == 0
    assert fetched[2:] == ["aaaaaaaaaaa"]  # narration is speech
    assert "ok 2" in out.out and "AudioSet" in out.err  # tqdm's bar on stderr


def test_make_fixture_writes_the_real_layouts_that_the_full_profile_reads(tmp_path, monkeypatch, capsys):
    from harmonylib.config import get_profile
    from harmonylib.data import prepare

    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    assert main(["make-fixture", str(tmp_path / "data")]) == 0
    clips = irmas.read_irmas(tmp_path / "data" / "IRMAS")
    train, test = clips[clips["split"] == "train"], clips[clips["split"] == "test"]
    assert sorted(set(train["instrument"])) == sorted(set(c for labels in train["labels"] for c in labels))
    unknown = train[train["path"].str.contains("[---]", regex=False)]
    assert len(unknown) and unknown["drums"].map(lambda d: d is None).all()
    assert (train["duration"] * 44100).round().eq(132299).all()
    assert sorted(set(test["part"])) == [1, 2, 3] and not test["path"].map(str.isascii).all()
    data = prepare(get_profile("full"), tmp_path / "data")  # the readers, splits and statistics of the real data
    assert len(data.val) and len(data.test) and len(data.audioset_train) and len(data.audioset_test)
    assert len(data.audioset_train) + len(data.audioset_val) + len(data.audioset_test) == 21  # one unavailable
    quick = prepare(get_profile("full-fast-dev-run"), tmp_path / "data")  # 2 clips per evaluation split
    assert quick.train.equals(data.train) and quick.audioset_train.equals(data.audioset_train)
    for split in ("val", "test", "audioset_val", "audioset_test"):
        assert getattr(quick, split).equals(getattr(data, split).head(2)), split
    assert len(data.test) > 2 and len(data.audioset_test) > 2
    assert main(["make-fixture", str(tmp_path / "data")]) == 1  # never written over data
    assert "not empty" in capsys.readouterr().err
