"""RealSolo: a small test set of real recordings of the instrument classes, assembled from the sample libraries that
Debian packages ship (notebook 58).

Everything the study trains on is rendered from SoundFonts; RealSolo asks what the models do on recordings. It is
built, never committed, by :func:`build_realsolo`: ``apt-get download`` fetches the packages of :data:`RECORDINGS`
(no root needed), ``dpkg-deb -x`` unpacks them, and each recording is decoded, averaged to mono and written as a
44.1-kHz 16-bit WAV at its own level (scaled down only where the mono sum would clip). Nothing is synthesised.

* **Solos**: one recording each, labelled with the instrument its package names it by (the file's name in a folder
  of instrument samples, or the package's list of sources); :data:`RECORDINGS` says why each carries its label.
  The labels were not checked by ear; notebook 58 lists them and lets a reader listen.
* **Mixtures**: two or three solos of different classes, from different packages where the classes allow, at
  realistic levels in the manner of IRMAS's test excerpts (the first at full level, the others 0-8 dB below it at
  equal RMS), as long as the shortest of them; labelled with every class they hold.

``manifest.csv`` (:data:`MANIFEST_COLUMNS`) has one row per clip: its file, labels, song (the source recording of a
solo; the first member's recording for a mixture, so that the intervals of notebook 58 resample recordings), the
packages, their versions and licences, the files inside the packages, their SHA-256 and why the label holds. Each
package's ``copyright`` file is copied to ``licences/``. :func:`read_realsolo` reads and checks it all.

Where the packages cannot cover a class it has fewer recordings (clarinet and saxophone: one each, both from
``qabcs-data``); speech recordings are not used for ``voi`` (IRMAS's voice is sung). Notebook 58 says so.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io, paths
from ..errors import ConfigError, DatasetError, HarmonyError, LabelError
from ..labels import CLASSES
from .synth import SR, sha256_file, write_wav

VERSION = "1.0"  # raised when the selection or the mixing changes, so that an older build is replaced
SEED = 58  # the mixtures' draw; RealSolo is the same for every profile
MIN_SECONDS = 0.4
MIXTURES = {2: 24, 3: 8}  # members -> mixtures
MIX_LEVEL_DB = (-8.0, 0.0)  # the second and third members' level against the first's
MANIFEST_COLUMNS = ["file", "labels", "song", "kind", "seconds", "packages", "versions", "licences", "members",
                    "sha256", "why"]


@dataclass(frozen=True)
class Package:
    """A Debian package RealSolo draws from, and the licence its ``copyright`` file gives the files used
    (:func:`licence_of` checks it for every file)."""

    name: str
    licence: str
    stanza: str  # where in the copyright file that licence is stated


PACKAGES = {p.name: p for p in (
    Package("lmms-common", "GPL-2+", "Files: * (LMMS's samples folder has no stanza of its own)"),
    Package("qabcs-data", "GPL-3+", "Files: * (the 'noises' of the alphabet book)"),
    Package("sonic-pi-samples", "CC0", "Files: etc/samples/<name>.flac, with its freesound.org source"),
    Package("sound-icons", "GPL-2+", "Files: *"),
    Package("csoundqt-examples", "LGPL-2.1+", "Files: * (Examples/SourceMaterials)"),
    Package("pd-cyclone", "BSD-3-clause", "Files: *"),
    Package("python3-pyo", "LGPL-3", "Files: * (examples/snds)"),
)}


@dataclass(frozen=True)
class Recording:
    """One file of a package used as a solo: its class and why it carries that label."""

    key: str
    cls: str
    package: str
    member: str  # path inside the package
    why: str


_LMMS = "usr/share/lmms/samples"
_QABCS = "usr/share/qabcs/abcs/all/noises"
_SONIC = "usr/share/sonic-pi/samples"
_ICONS = "usr/share/sounds/sound-icons"
_CSQT = "usr/share/csoundqt/Examples/SourceMaterials"
_LMMS_WHY = "LMMS's folder of recorded instrument samples names it {}"
_QABCS_WHY = "the alphabet book's sound of the {} (its 'noises' folder)"
_ICONS_WHY = "speech-dispatcher's sound icon named {}"
_CSQT_WHY = "CsoundQt's example source material named {}"
_SONIC_WHY = "Sonic Pi's sample {}, whose freesound.org source the package's copyright file gives"

RECORDINGS = (
    Recording("lmms_cello01", "cel", "lmms-common", f"{_LMMS}/instruments/cello01.ogg", _LMMS_WHY.format("cello01")),
    Recording("qabcs_cello", "cel", "qabcs-data", f"{_QABCS}/cello.ogg", _QABCS_WHY.format("cello")),
    Recording("icons_violoncello7", "cel", "sound-icons", f"{_ICONS}/violoncello-7.wav",
              _ICONS_WHY.format("violoncello-7")),
    Recording("qabcs_clarinet", "cla", "qabcs-data", f"{_QABCS}/clarinet.ogg", _QABCS_WHY.format("clarinet")),
    Recording("lmms_flute01", "flu", "lmms-common", f"{_LMMS}/instruments/flute01.ogg", _LMMS_WHY.format("flute01")),
    Recording("qabcs_flute", "flu", "qabcs-data", f"{_QABCS}/flute.ogg", _QABCS_WHY.format("flute")),
    Recording("qabcs_concert_flute", "flu", "qabcs-data", f"{_QABCS}/western_concert_flute.ogg",
              _QABCS_WHY.format("western concert flute")),
    Recording("csoundqt_flute", "flu", "csoundqt-examples", f"{_CSQT}/flute.wav", _CSQT_WHY.format("flute")),
    Recording("pyo_flute", "flu", "python3-pyo", "usr/lib/python3/dist-packages/pyo/examples/snds/flute.aif",
              "pyo's example sound named flute"),
    Recording("csoundqt_classical_guitar", "gac", "csoundqt-examples", f"{_CSQT}/ClassicalGuitar.wav",
              _CSQT_WHY.format("ClassicalGuitar")),
    Recording("lmms_latin_guitar01", "gac", "lmms-common", f"{_LMMS}/latin/latin_guitar01.ogg",
              "LMMS's latin samples name it latin_guitar01 (acoustic: our reading of a latin guitar)"),
    Recording("lmms_latin_guitar02", "gac", "lmms-common", f"{_LMMS}/latin/latin_guitar02.ogg",
              "LMMS's latin samples name it latin_guitar02 (acoustic: our reading of a latin guitar)"),
    Recording("lmms_latin_guitar03", "gac", "lmms-common", f"{_LMMS}/latin/latin_guitar03.ogg",
              "LMMS's latin samples name it latin_guitar03 (acoustic: our reading of a latin guitar)"),
    Recording("lmms_steel_guitar01", "gac", "lmms-common", f"{_LMMS}/instruments/steel_guitar01.ogg",
              _LMMS_WHY.format("steel_guitar01 (a steel-string acoustic guitar; its distorted copies are left out)")),
    Recording("qabcs_guitar", "gac", "qabcs-data", f"{_QABCS}/guitar.ogg", _QABCS_WHY.format("guitar")),
    Recording("icons_guitar12", "gac", "sound-icons", f"{_ICONS}/guitar-12.wav", _ICONS_WHY.format("guitar-12")),
    Recording("icons_guitar13", "gac", "sound-icons", f"{_ICONS}/guitar-13.wav", _ICONS_WHY.format("guitar-13")),
    Recording("sonic_guit_e_fifths", "gel", "sonic-pi-samples", f"{_SONIC}/guit_e_fifths.flac",
              _SONIC_WHY.format("guit_e_fifths (electric guitar)")),
    Recording("sonic_guit_e_slide", "gel", "sonic-pi-samples", f"{_SONIC}/guit_e_slide.flac",
              _SONIC_WHY.format("guit_e_slide (electric guitar)")),
    Recording("sonic_guit_em9", "gel", "sonic-pi-samples", f"{_SONIC}/guit_em9.flac",
              _SONIC_WHY.format("guit_em9 (electric guitar)")),
    Recording("sonic_guit_harmonics", "gel", "sonic-pi-samples", f"{_SONIC}/guit_harmonics.flac",
              _SONIC_WHY.format("guit_harmonics (electric guitar)")),
    Recording("qabcs_electric_guitar", "gel", "qabcs-data", f"{_QABCS}/electric_guitar.ogg",
              _QABCS_WHY.format("electric guitar")),
    Recording("lmms_church_organ01", "org", "lmms-common", f"{_LMMS}/instruments/church_organ01.ogg",
              _LMMS_WHY.format("church_organ01")),
    Recording("lmms_church_organ02", "org", "lmms-common", f"{_LMMS}/instruments/church_organ02.ogg",
              _LMMS_WHY.format("church_organ02")),
    Recording("lmms_church_organ03", "org", "lmms-common", f"{_LMMS}/instruments/church_organ03.ogg",
              _LMMS_WHY.format("church_organ03")),
    Recording("lmms_church_organ04", "org", "lmms-common", f"{_LMMS}/instruments/church_organ04.ogg",
              _LMMS_WHY.format("church_organ04")),
    Recording("lmms_e_organ01", "org", "lmms-common", f"{_LMMS}/instruments/e_organ01.ogg",
              _LMMS_WHY.format("e_organ01 (an electric organ)")),
    Recording("qabcs_organ", "org", "qabcs-data", f"{_QABCS}/organ.ogg", _QABCS_WHY.format("organ")),
    Recording("lmms_piano01", "pia", "lmms-common", f"{_LMMS}/instruments/piano01.ogg", _LMMS_WHY.format("piano01")),
    Recording("lmms_piano02", "pia", "lmms-common", f"{_LMMS}/instruments/piano02.ogg", _LMMS_WHY.format("piano02")),
    Recording("qabcs_piano", "pia", "qabcs-data", f"{_QABCS}/piano.ogg", _QABCS_WHY.format("piano")),
    Recording("qabcs_grand_piano", "pia", "qabcs-data", f"{_QABCS}/grand_piano.ogg", _QABCS_WHY.format("grand piano")),
    Recording("sonic_ambi_piano", "pia", "sonic-pi-samples", f"{_SONIC}/ambi_piano.flac",
              _SONIC_WHY.format("ambi_piano (a piano)")),
    Recording("icons_piano3", "pia", "sound-icons", f"{_ICONS}/piano-3.wav", _ICONS_WHY.format("piano-3")),
    Recording("qabcs_saxophone", "sax", "qabcs-data", f"{_QABCS}/saxophone.ogg", _QABCS_WHY.format("saxophone")),
    Recording("lmms_trumpet01", "tru", "lmms-common", f"{_LMMS}/instruments/trumpet01.ogg",
              _LMMS_WHY.format("trumpet01")),
    Recording("qabcs_trumpet", "tru", "qabcs-data", f"{_QABCS}/trumpet.ogg", _QABCS_WHY.format("trumpet")),
    Recording("icons_trumpet1", "tru", "sound-icons", f"{_ICONS}/trumpet-1.wav", _ICONS_WHY.format("trumpet-1")),
    Recording("icons_trumpet12", "tru", "sound-icons", f"{_ICONS}/trumpet-12.wav", _ICONS_WHY.format("trumpet-12")),
    Recording("lmms_violin_fingered01", "vio", "lmms-common", f"{_LMMS}/instruments/violin_fingered01.ogg",
              _LMMS_WHY.format("violin_fingered01")),
    Recording("lmms_violin_double_stop01", "vio", "lmms-common", f"{_LMMS}/instruments/violin_double_stop01.ogg",
              _LMMS_WHY.format("violin_double_stop01")),
    Recording("qabcs_violin", "vio", "qabcs-data", f"{_QABCS}/violin.ogg", _QABCS_WHY.format("violin")),
    Recording("cyclone_violin", "vio", "pd-cyclone", "usr/lib/pd/extra/cyclone/violin.wav",
              "Pd cyclone's example sound named violin"),
    Recording("csoundqt_violins", "vio", "csoundqt-examples", f"{_CSQT}/violins.wav",
              _CSQT_WHY.format("violins (a violin section)")),
    Recording("csoundqt_choir", "voi", "csoundqt-examples", f"{_CSQT}/choir.wav", _CSQT_WHY.format("choir")),
    Recording("sonic_ambi_choir", "voi", "sonic-pi-samples", f"{_SONIC}/ambi_choir.flac",
              _SONIC_WHY.format("ambi_choir (a sung choir)")),
)


def realsolo_root() -> Path:
    """Where RealSolo is built: ``<data>/RealSolo`` (``$HARMONY_DATA_DIR`` or ``data/``), one for every profile."""
    return paths.data_root() / "RealSolo"


def _key() -> dict:
    selection = [(r.key, r.cls, r.package, r.member) for r in RECORDINGS]
    return dict(dataset="RealSolo", version=VERSION, seed=SEED, mixtures={str(k): v for k, v in MIXTURES.items()},
                level_db=list(MIX_LEVEL_DB), selection=hashlib.sha256(repr(selection).encode()).hexdigest())


def fetch_packages(names, folder: Path) -> dict[str, str]:
    """``apt-get download`` the packages ``names`` into ``folder`` and unpack each into ``folder/<name>/``
    (``dpkg-deb -x``); returns name -> version. A clear :class:`ConfigError` where apt cannot fetch them."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not (folder / n / ".version").exists()]
    if missing:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise ConfigError(f"RealSolo is assembled from the Debian packages {', '.join(missing)}; this system has "
                              "no apt-get/dpkg-deb to fetch them", folder)
        with tempfile.TemporaryDirectory(dir=folder) as downloads:
            done = subprocess.run(["apt-get", "download", *missing], cwd=downloads, capture_output=True, text=True)
            if done.returncode != 0:
                raise ConfigError(f"apt-get download {' '.join(missing)} failed: {done.stderr.strip()[-400:]} "
                                  "(run `apt-get update` first, as root, if the package lists are missing)", folder)
            for name in missing:
                deb = next(Path(downloads).glob(f"{name}_*.deb"))
                version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                                         check=True).stdout.strip()
                target = folder / name
                shutil.rmtree(target, ignore_errors=True)
                subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
                io.write_text(target / ".version", version)
    return {n: (folder / n / ".version").read_text().strip() for n in names}


def licence_of(copyright_text: str, member: str) -> str | None:
    """The licence a machine-readable Debian ``copyright`` file (DEP-5) gives the installed file ``member``: that of
    the last paragraph whose ``Files:`` names the file's base name or is ``*`` (installed paths differ from the
    source paths the patterns use, so only these two kinds of pattern are trusted); None where none does."""
    import re

    name, found = Path(member).name, None
    for paragraph in re.split(r"\n\s*\n", copyright_text):
        fields = dict(re.findall(r"^(Files|License):[ \t]*(.*(?:\n[ \t]+\S.*)*)", paragraph, re.M))
        patterns = fields.get("Files", "").split()
        if "License" in fields and any(p == "*" or Path(p).name == name for p in patterns):
            found = fields["License"].split("\n")[0].strip()
    return found


def _copyright(unpacked: Path, package: str) -> Path:
    return unpacked / package / "usr" / "share" / "doc" / package / "copyright"


def _rms(wave: np.ndarray) -> float:
    return float(np.sqrt(np.mean(wave.astype(np.float64) ** 2)))


def _write(path: Path, wave: np.ndarray) -> None:
    """A mono waveform as 16-bit WAV (:func:`synth.write_wav`), scaled down to a peak of 0.98 where it would clip."""
    top = float(np.abs(wave).max())
    write_wav(path, (wave * (0.98 / top) if top > 0.98 else wave)[np.newaxis])


def plan_mixtures(recordings=RECORDINGS, mixtures: dict[int, int] = MIXTURES, seed: int = SEED) -> list[list[str]]:
    """The members (recording keys) of every mixture: distinct classes, from distinct packages where the classes
    allow, no set drawn twice; the first member is the predominant one."""
    rng = np.random.default_rng(seed)
    by_class = {c: [r for r in recordings if r.cls == c] for c in CLASSES}
    classes = [c for c in CLASSES if by_class[c]]
    chosen, seen = [], set()
    for size, count in mixtures.items():
        made, attempts = 0, 0
        while made < count:
            attempts += 1
            if attempts > 1000 * count:
                raise ConfigError(f"cannot draw {count} different mixtures of {size} recordings from {len(recordings)}")
            picks = []
            for cls in rng.choice(classes, size=size, replace=False):
                options = [r for r in by_class[cls] if r.package not in {p.package for p in picks}] or by_class[cls]
                picks.append(options[int(rng.integers(len(options)))])
            members = tuple(p.key for p in picks)
            if frozenset(members) not in seen:
                seen.add(frozenset(members))
                chosen.append(list(members))
                made += 1
    return chosen


def build_realsolo(target: Path | None = None, packages_dir: Path | None = None) -> Path:
    """Build RealSolo into ``target`` (default :func:`realsolo_root`) unless a build with the same key is there:
    fetch and unpack the packages, write the solos and the mixtures, the copyright files and ``manifest.csv``
    (last, atomically). ``packages_dir`` keeps the unpacked packages (default ``<cache>/debian-packages``)."""
    from .. import audio

    target = Path(target) if target is not None else realsolo_root()
    manifest = target / "manifest.csv"
    stamp = target / "build.json"
    if manifest.exists() and stamp.exists() and json.loads(stamp.read_text()).get("key") == _key():
        return target
    unpacked = Path(packages_dir) if packages_dir is not None else paths.cache_dir() / "debian-packages"
    versions = fetch_packages(sorted({r.package for r in RECORDINGS}), unpacked)
    problems, copyrights = [], {}
    for name in versions:
        path = _copyright(unpacked, name)
        copyrights[name] = path.read_text(errors="replace") if path.exists() else ""
        io.write_text(target / "licences" / f"{name}.copyright", copyrights[name])
    waves, digests, rows = {}, {}, []
    for rec in RECORDINGS:
        source = unpacked / rec.package / rec.member
        stated = licence_of(copyrights[rec.package], rec.member)
        if stated != PACKAGES[rec.package].licence:
            problems.append(HarmonyError(f"the copyright file of {rec.package} {versions[rec.package]} gives this file "
                                         f"the licence {stated!r}, not {PACKAGES[rec.package].licence!r}; check it "
                                         "before using the file", source))
            continue
        try:
            wave, _ = audio.load(source, sr=SR, mono=True)
        except HarmonyError as error:
            problems.append(error)
            continue
        if len(wave) < MIN_SECONDS * SR:
            problems.append(HarmonyError(f"shorter than {MIN_SECONDS} s", source))
            continue
        waves[rec.key], digests[rec.key] = wave, sha256_file(source)
        _write(target / "solo" / f"{rec.key}.wav", wave)
        rows.append(dict(file=f"solo/{rec.key}.wav", labels=rec.cls, song=rec.key, kind="solo",
                         seconds=round(len(wave) / SR, 3), packages=rec.package, versions=versions[rec.package],
                         licences=PACKAGES[rec.package].licence, members=rec.member, sha256=digests[rec.key],
                         why=rec.why))
    if problems:
        raise DatasetError(problems, target)
    by_key = {r.key: r for r in RECORDINGS}
    rng = np.random.default_rng([SEED, 1])  # the levels: a stream of their own, apart from the plan's
    for index, members in enumerate(plan_mixtures(), start=1):
        length = min(len(waves[k]) for k in members)
        level = _rms(waves[members[0]][:length])
        mix = waves[members[0]][:length].astype(np.float64)
        for key in members[1:]:
            part = waves[key][:length].astype(np.float64)
            mix += part * (level / max(_rms(part), 1e-9)) * 10 ** (rng.uniform(*MIX_LEVEL_DB) / 20)
        name = f"mix/mix{index:02d}__{'+'.join(members)}.wav"
        _write(target / name, mix.astype(np.float32))
        recs = [by_key[k] for k in members]
        rows.append(dict(file=name, labels=";".join(c for c in CLASSES if c in {r.cls for r in recs}),
                         song=members[0], kind="mixture", seconds=round(length / SR, 3),
                         packages=";".join(r.package for r in recs), versions=";".join(versions[r.package] for r in recs),
                         licences=";".join(PACKAGES[r.package].licence for r in recs),
                         members=";".join(r.member for r in recs),
                         sha256=";".join(digests[k] for k in members),
                         why="a mixture of the solos " + ", ".join(members) + " (each labelled as its solo)"))
    io.write_csv(manifest, pd.DataFrame(rows, columns=MANIFEST_COLUMNS))
    io.write_json(stamp, dict(key=_key()))
    return target


def read_realsolo(root: Path | None = None) -> pd.DataFrame:
    """RealSolo's clips as the evaluation reads clips: ``path`` (absolute), ``labels`` (tuple of codes), ``song``,
    ``kind``, ``duration`` and the manifest's other columns. Checks every row -- the file reads as audio, the
    labels are classes, a licence and the package's copyright file are recorded -- and raises
    :class:`DatasetError` listing every problem."""
    from .. import audio

    root = Path(root) if root is not None else realsolo_root()
    manifest = root / "manifest.csv"
    if not manifest.exists():
        raise ConfigError("RealSolo is not built here: harmonylib.data.realsolo.build_realsolo() (notebook 58) "
                          "assembles it from Debian packages", manifest)
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    if list(frame.columns) != MANIFEST_COLUMNS:
        raise DatasetError([HarmonyError(f"columns {list(frame.columns)}, expected {MANIFEST_COLUMNS}", manifest)], root)
    problems = []
    for row in frame.itertuples():
        path = root / row.file
        if row.kind not in ("solo", "mixture") or not row.song:
            problems.append(HarmonyError(f"kind {row.kind!r} (solo or mixture) and song {row.song!r} (a recording)",
                                         path))
        try:
            float(row.seconds)
        except ValueError:
            problems.append(HarmonyError(f"seconds {row.seconds!r} is not a number", path))
        labels = row.labels.split(";") if row.labels else []
        unknown = [c for c in labels if c not in CLASSES]
        if not labels or unknown:
            problems.append(LabelError(f"labels {row.labels!r}: {'none' if not labels else 'unknown ' + str(unknown)}",
                                       path))
        packages, licences = row.packages.split(";"), row.licences.split(";")
        if len(licences) != len(packages) or not all(licences):
            problems.append(HarmonyError(f"licences {row.licences!r} do not match packages {row.packages!r}", path))
        for package in packages:
            if not (root / "licences" / f"{package}.copyright").is_file():
                problems.append(HarmonyError(f"no copyright file recorded for package {package!r}", path))
        try:
            audio.info(path)
        except HarmonyError as error:
            problems.append(error)
    if problems:
        raise DatasetError(problems, root)
    frame["path"] = [str((root / f).resolve()) for f in frame["file"]]
    frame["labels"] = [tuple(v.split(";")) for v in frame["labels"]]
    frame["duration"] = frame["seconds"].astype(float)
    return frame
