"""Reading IRMAS (and SynthIRMAS, written in the same layout) into one table (notebooks 10, 12).

Layout (Zenodo record 1290750; counts in ``harmonylib.reference``)::

    IRMAS-TrainingData/<cls>/[cls][genre]NNNN__k.wav
    IRMAS-TrainingData/<cls>/PPP__[cls][dru|nod|---][genre]NNNN__k.wav
    IRMAS-TestingData-Part1/Part1/<name>.wav + <name>.txt
    IRMAS-TestingData-Part2/IRTestingData-Part2/<name>.wav + <name>.txt
    IRMAS-TestingData-Part3/Part3/<name>.wav + <name>.txt

A test label file holds one label per line, tab-terminated (``"gel\\t"``); the label is the first
three characters. Handling of imperfect files (all problems are collected and raised together as
one :class:`~harmonylib.errors.DatasetError`, so every bad file is fixed in one go):

* unreadable/empty/truncated wav, training name that matches neither pattern, class in the name
  different from its folder, unknown class folder, unknown genre, a test wav without its ``.txt``,
  an empty label file, an unknown label code, the same test name in two parts: errors.
* Windows line endings, blank lines, trailing tabs/spaces, upper case: accepted.
* a label listed twice in one file: kept once (labels are a set).
* other sample rates or channel counts than 44.1 kHz stereo: accepted (``sample_rate`` and
  ``channels`` columns); :func:`harmonylib.audio.load` resamples and mixes down on request.
* the drum token ``[---]``, which 12 real training names carry (e.g. ``014__[gel][---][pop_roc]0978__1``):
  drums unknown, as for names without a drum token (``drums`` None). mirdata's loader reads it alike.

Missing values are ``None`` (not NaN) and ``part`` is a Python integer for test rows, so the table
reads the same under pandas 2 and 3 (whose default string columns would turn None into NaN).

:func:`download_irmas` (``python -m harmonylib download-irmas DIR``) fetches the real data from the
Zenodo record, resumably, and verifies each archive's MD5.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd

from .. import audio
from ..errors import AudioError, DatasetError, HarmonyError, LabelError
from ..labels import CLASSES

GENRES = ("cou_fol", "cla", "pop_roc", "lat_sou", "jaz_blu")
TRAIN_FOLDER = "IRMAS-TrainingData"
TEST_FOLDERS = (
    "IRMAS-TestingData-Part1/Part1",
    "IRMAS-TestingData-Part2/IRTestingData-Part2",
    "IRMAS-TestingData-Part3/Part3",
)
COLUMNS = ["path", "split", "labels", "instrument", "genre", "drums", "song", "duration", "sample_rate",
           "channels", "part"]
NULLABLE = ("instrument", "genre", "drums", "part")  # None where a clip has no value (object columns)

# Both IRMAS patterns; the prefix and the drum token are each optional, so mixed variants parse too.
_TRAIN = re.compile(r"^(?:(?P<prefix>\d+)__)?\[(?P<cls>[a-z]{3})\](?:\[(?P<drums>dru|nod|---)\])?"
                    r"\[(?P<genre>[a-z_]+)\](?P<source>\d+)__(?P<k>\d+)$")
_EXCERPT = re.compile(r"-\d+$")


def parse_train_name(stem: str) -> dict | None:
    """Class, genre, drums (True, False, or None: no token or ``[---]``) and source of a training file name,
    or None if it matches neither pattern."""
    match = _TRAIN.match(stem)
    if match is None:
        return None
    fields = match.groupdict()
    drums = {"dru": True, "nod": False}.get(fields.get("drums"))
    return dict(instrument=fields["cls"], genre=fields["genre"], drums=drums,
                song=f"[{fields['cls']}][{fields['genre']}]{fields['source']}")


def song_of(stem: str) -> str:
    """The song of a test excerpt: its file name without the trailing ``-N``."""
    return _EXCERPT.sub("", stem)


def read_labels(path: str | Path) -> tuple[str, ...]:
    """Class codes of a test label file, in CLASSES order (see the module docstring for the rules)."""
    path = Path(path)
    if not path.is_file():
        raise LabelError("label file is missing", path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelError("label file is not text (not UTF-8)", path) from None
    codes = [line.strip()[:3].lower() for line in text.splitlines() if line.strip()]
    if not codes:
        raise LabelError("label file is empty", path)
    unknown = sorted({c for c in codes if c not in CLASSES})
    if unknown:
        raise LabelError(f"unknown label(s) {', '.join(map(repr, unknown))}; expected one of {', '.join(CLASSES)}",
                         path)
    return tuple(c for c in CLASSES if c in codes)


def _header(path: Path, problems: list) -> tuple[float, int, int] | None:
    try:
        header = audio.info(path)
        if header.frames == 0 or header.samplerate <= 0:
            raise AudioError("contains no samples (zero-length audio)", path)
        return header.frames / header.samplerate, header.samplerate, header.channels
    except AudioError as exc:
        problems.append(exc)
        return None


def read_irmas(root: str | Path) -> pd.DataFrame:
    """One row per clip of the IRMAS tree under ``root`` (training data and/or the three testing parts).

    Columns: path (absolute), split ('train'|'test'), labels (tuple of codes), instrument (train),
    genre (train), drums (True/False/None), song (test: name without ``-N``; train: the source
    ``[cls][genre]NNNN`` its excerpts share), duration (s), sample_rate, channels, part (test part 1-3).
    Raises :class:`DatasetError` listing every bad file.
    """
    root = Path(root)
    rows, problems = [], []
    train_dir = root / TRAIN_FOLDER
    if train_dir.is_dir():
        for folder in sorted(p for p in train_dir.iterdir() if p.is_dir()):
            if folder.name not in CLASSES:
                problems.append(HarmonyError(
                    f"unknown class folder {folder.name!r}; expected one of {', '.join(CLASSES)}", folder))
                continue
            for wav in sorted(folder.glob("*.wav")):
                fields = parse_train_name(wav.stem)
                if fields is None:
                    problems.append(LabelError("training file name matches neither '[cls][genre]NNNN__k' nor "
                                               "'PPP__[cls][dru|nod|---][genre]NNNN__k'", wav))
                    continue
                if fields["instrument"] != folder.name:
                    problems.append(LabelError(f"class [{fields['instrument']}] in the name but in folder "
                                               f"{folder.name!r}", wav))
                    continue
                if fields["genre"] not in GENRES:
                    problems.append(LabelError(f"unknown genre [{fields['genre']}]; expected one of "
                                               f"{', '.join(GENRES)}", wav))
                    continue
                header = _header(wav, problems)
                if header is not None:
                    rows.append(dict(path=str(wav.resolve()), split="train", labels=(fields["instrument"],),
                                     **fields, duration=header[0], sample_rate=header[1], channels=header[2],
                                     part=None))
    seen: dict[str, Path] = {}
    for part, folder in enumerate(TEST_FOLDERS, start=1):
        folder = root / folder
        if not folder.is_dir():
            continue
        for wav in sorted(folder.glob("*.wav")):
            if wav.stem in seen:
                problems.append(HarmonyError(f"duplicate test excerpt name (also in {seen[wav.stem]})",
                                                        wav))
                continue
            seen[wav.stem] = wav
            try:
                labels = read_labels(wav.with_suffix(".txt"))
            except LabelError as exc:
                problems.append(exc)
                continue
            header = _header(wav, problems)
            if header is not None:
                rows.append(dict(path=str(wav.resolve()), split="test", labels=labels, instrument=None, genre=None,
                                 drums=None, song=song_of(wav.stem), duration=header[0], sample_rate=header[1],
                                 channels=header[2], part=part))
    if problems:
        raise DatasetError(problems, root)
    if not rows:
        raise DatasetError([HarmonyError(
            f"no IRMAS clips found: expected {TRAIN_FOLDER}/<cls>/*.wav or {', '.join(TEST_FOLDERS)}", root)], root)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in NULLABLE:
        frame[column] = pd.Series([row[column] for row in rows], dtype=object)
    return frame.sort_values(["split", "path"], kind="stable", ignore_index=True)


ZENODO_URL = "https://zenodo.org/records/1290750/files/{name}?download=1"
# The four archives of IRMAS's Zenodo record 1290750 with the MD5 checksums Zenodo lists for them.
ARCHIVES = {
    "IRMAS-TrainingData.zip": "4fd9f5ed5a18d8e2687e6360b5f60afe",
    "IRMAS-TestingData-Part1.zip": "5a2e65520dcedada565dff2050bb2a56",
    "IRMAS-TestingData-Part2.zip": "afb0c8ea92f34ee653693106be95c895",
    "IRMAS-TestingData-Part3.zip": "9b3fb2d0c89cdc98037121c25bd5b556",
}


def http_fetch(url: str, target: Path, progress: bool = True) -> None:
    """Complete ``target`` with the bytes of ``url``: those after the ones it holds (an HTTP Range request), or
    all of them where the server ignores the range; with a progress bar. A connection that closes early
    raises :class:`ConnectionError` and leaves what arrived, for the next call to go on from."""
    import urllib.error
    import urllib.request

    from tqdm.auto import tqdm

    done = target.stat().st_size if target.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416 and done:  # nothing after the bytes we hold: the file is complete
            return
        raise
    with response:
        if done and response.status != 206:  # the server ignored the range: start again
            done = 0
        total = int(response.headers.get("Content-Length") or 0) + done
        with open(target, "ab" if done else "wb") as handle, \
                tqdm(total=total or None, initial=done, unit="B", unit_scale=True, desc=target.name,
                     disable=not progress) as bar:
            while chunk := response.read(1 << 20):
                handle.write(chunk)
                bar.update(len(chunk))
    if total and target.stat().st_size < total:
        raise ConnectionError(f"{url}: the connection closed after {target.stat().st_size} of {total} bytes")


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def download_irmas(target: str | Path, fetch=None, progress: bool = True) -> Path:
    """Download IRMAS from its Zenodo record into ``target``, verify each archive's MD5, extract it; returns
    ``target``. ``./run_all.sh --profile full --data-dir DIR`` finds it as ``DIR/IRMAS`` or as ``DIR`` itself.
    The archives (about 3 GB) stay beside the extracted folders; delete them once the study has run.

    Resumable: an archive whose extraction finished is skipped; an interrupted download continues where it
    stopped (``<archive>.part``); an archive with the wrong checksum is kept as ``<archive>.bad`` and the
    call raises :class:`DatasetError` naming it (run again to download it afresh). ``fetch(url, path,
    progress)`` appends the bytes of ``url`` to ``path`` (tests pass a double: no network).
    """
    import zipfile

    fetch = fetch or http_fetch
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for name, checksum in ARCHIVES.items():
        archive, marker = target / name, target / f".{name}.extracted"
        if marker.exists():
            continue
        if not archive.exists():
            partial = archive.with_name(archive.name + ".part")
            fetch(ZENODO_URL.format(name=name), partial, progress)
            partial.rename(archive)
        if md5sum(archive) != checksum:
            bad = archive.replace(archive.with_name(archive.name + ".bad"))
            raise DatasetError([HarmonyError(f"MD5 is not Zenodo's {checksum}: download incomplete or altered; "
                                             "run again to fetch it afresh", bad)], target)
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(target)
        marker.touch()
    return target
