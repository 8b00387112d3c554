"""SynthIRMAS and SynthAudioSet: offline stand-ins for IRMAS and AudioSet, rendered from General MIDI
SoundFonts of recorded instruments (notebook 10 explains and plays them).

Neither data set can be downloaded here, so the study renders its own, deterministically from the
profile seed, with tinysoundfont:

* **SynthIRMAS** in the exact IRMAS layout and naming, 44.1 kHz 16-bit stereo. Training clips are rendered
  from ``FluidR3_GM.sf2`` through a studio chain; the validation/test songs from another SoundFont
  (``sf_GMbank.sf2``, csound's General MIDI bank) through another room and other microphones, so that a test
  song's instruments are other recordings than the training clips', as in the real IRMAS. The first
  ``twin_songs`` test songs are rendered again with the training SoundFont, through the studio chain and
  through the stage chain (:data:`TWINS`), so notebook 10 can measure what the held-out instruments and the
  other recording chain each change.
  Training clips have the real clips' length (132,299 samples, one short of 3 s) with one labelled
  predominant instrument playing throughout over quieter, unlabelled accompaniment (bass, a chord
  instrument, GM drums for ``[dru]``); test excerpts are 5-20 s (mostly 20 s) of "songs" whose
  excerpts share key, tempo and instrumentation, with 1-5 labelled instruments that play for part or all of an excerpt. Class and label-count frequencies
  follow IRMAS's (``harmonylib.reference``).
* **SynthAudioSet** through a different recording chain: mono, band-limited like a low-bitrate upload, other
  rooms, background noise and soft clipping; 10-s clips in the layout the AudioSet collector writes
  (``audio/<YTID>.wav`` + ``clips.csv``). Its training clips go round the SoundFonts of SynthIRMAS-DR (below);
  its validation and test clips, known before rendering (:func:`harmonylib.data.splits.ytid_split`), are played
  by ``TimGM6mb.sf2``, whose samples none of them shares. Training on one data set and testing on the other is a
  shift of recording chain and mix (report 5.5), and for a model trained on SynthIRMAS also of SoundFonts.

Music is generated per clip from a seeded random generator: a key and mode, a genre-typical chord
progression, tempo and rhythm (with swing for jazz/blues), melodies that move mostly by step within
each instrument's real range, humanised timing and velocity, several GM programs per class where
they exist, then panning, level variation and a synthetic room. Results on these data sets are
*not* IRMAS or AudioSet results.

* **SynthIRMAS-DR** (notebook 58): SynthIRMAS's training clips again -- the same notes, names and part gains -- each
  source rendered from one of :data:`DR_SOUNDFONTS` through :func:`randomised_chain`, a room, microphone and level
  drawn afresh (domain randomisation, so that no instrument is one sample set). Its validation and test songs are
  SynthIRMAS's: the held-out SoundFont shares no samples with any of the three.

SoundFonts are looked up in ``$HARMONY_SOUNDFONT_DIR``, then ``/usr/share/sounds/sf2`` and ``sf3`` (Debian packages
``fluid-soundfont-gm``, ``csound-soundfont``, ``timgm6mb-soundfont``, ``musescore-general-soundfont`` and
``opl3-soundfont``, installed by ``./run_all.sh``). Rendering uses one
process per usable core (``$HARMONY_RENDER_WORKERS`` sets another number); every clip has its own seed,
so the files do not depend on the number of processes. A render goes into ``<target>.partial`` and is
renamed when complete (manifest last), and a killed render resumes where it stopped.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import io
from ..errors import ConfigError
from ..labels import CLASSES
from ..reference import (IRMAS_LABELS_PER_CLIP, IRMAS_TEST_LABEL_COUNTS, IRMAS_TEST_PARTS, IRMAS_TRAIN_COUNTS,
                         IRMAS_TRAIN_SAMPLES)

# Raised when a data set's audio changes, so that an older render is replaced (1.1: SynthIRMAS training
# clips of 132,299 samples, as the real ones, instead of 132,300; 1.2: validation/test songs from a held-out
# SoundFont, through another recording chain, a floor of songs per class)
IRMAS_GENERATOR_VERSION = "1.2"
AUDIOSET_GENERATOR_VERSION = "1.1"  # 1.1: training clips from several SoundFonts, validation/test from a held-out one
SR = 44100
GENRES = ("cou_fol", "cla", "pop_roc", "lat_sou", "jaz_blu")
IRMAS_SOUNDFONT = "FluidR3_GM.sf2"
IRMAS_TEST_SOUNDFONT = "sf_GMbank.sf2"  # Debian csound-soundfont (LGPL-2.1+): other samples than FluidR3's
TWINS_FOLDER = "harmony_twins"
# the test songs' second renderings: folder under TWINS_FOLDER -> (SoundFont, recording chain)
TWINS = {"training_soundfont_studio": (IRMAS_SOUNDFONT, "studio"), "training_soundfont_stage": (IRMAS_SOUNDFONT, "stage")}
DR_GENERATOR_VERSION = "1.0"
# SynthIRMAS-DR's training SoundFonts (notebook 58), none sharing samples with IRMAS_TEST_SOUNDFONT: FluidR3; MuseScore
# General (Debian musescore-general-soundfont, MIT), other recordings of cello, piano, violin and the drums and FluidR3's
# for the rest; the OPL-3 FM bank (Debian opl3-soundfont, CC-BY-SA-4.0), frequency-modulation synthesis, no recording.
# TimGM6mb is left out: it shares most of its samples with the test bank.
DR_SOUNDFONTS = (IRMAS_SOUNDFONT, "MuseScore_General_Full.sf3", "OPL-3_FM_128M.sf2")
# SynthAudioSet's training clips go round DR_SOUNDFONTS too; its validation and test clips are TimGM6mb's, which shares
# samples with none of them. It does share most of its samples with csound's bank, SynthIRMAS's test bank: both test
# sets are played by one sample family.
AUDIOSET_TEST_SOUNDFONT = "TimGM6mb.sf2"
# every SoundFont the synthetic data sets are rendered from
SOUNDFONTS = (*DR_SOUNDFONTS, IRMAS_TEST_SOUNDFONT, AUDIOSET_TEST_SOUNDFONT)
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/share/sounds/sf3")


@dataclass(frozen=True)
class Instrument:
    programs: tuple[int, ...]  # GM programs (0-based)
    low: int  # playable MIDI range
    high: int
    style: str  # "line" (monophonic melody), "voice" (sung line), "keys", "guitar", "organ"
    genres: dict  # genre -> weight


INSTRUMENTS = {
    "cel": Instrument((42,), 36, 76, "line", dict(cla=0.8, cou_fol=0.1, pop_roc=0.1)),
    "cla": Instrument((71,), 50, 89, "line", dict(cla=0.7, jaz_blu=0.2, cou_fol=0.1)),
    "flu": Instrument((73, 73, 73, 72), 60, 96, "line", dict(cla=0.5, jaz_blu=0.2, lat_sou=0.15, cou_fol=0.15)),
    "gac": Instrument((24, 25), 40, 83, "guitar", dict(cou_fol=0.45, pop_roc=0.3, lat_sou=0.15, jaz_blu=0.1)),
    "gel": Instrument((26, 27, 28, 29, 30), 40, 86, "guitar", dict(pop_roc=0.65, jaz_blu=0.25, cou_fol=0.1)),
    "org": Instrument((16, 17, 18, 19), 36, 96, "organ", dict(pop_roc=0.45, jaz_blu=0.3, cla=0.15, lat_sou=0.1)),
    "pia": Instrument((0, 1), 33, 96, "keys", dict(cla=0.3, jaz_blu=0.3, pop_roc=0.3, lat_sou=0.1)),
    "sax": Instrument((64, 65, 66, 67), 44, 80, "line", dict(jaz_blu=0.6, pop_roc=0.2, lat_sou=0.2)),
    "tru": Instrument((56,), 54, 82, "line", dict(jaz_blu=0.45, lat_sou=0.3, pop_roc=0.15, cla=0.1)),
    "vio": Instrument((40,), 55, 100, "line", dict(cla=0.65, cou_fol=0.25, lat_sou=0.1)),
    "voi": Instrument((52, 53), 48, 79, "voice", dict(pop_roc=0.5, jaz_blu=0.2, cou_fol=0.15, lat_sou=0.1, cla=0.05)),
}
SAX_RANGES = {64: (56, 87), 65: (49, 80), 66: (44, 75), 67: (36, 68)}  # soprano, alto, tenor, baritone

GENRE_STYLE = {  # tempo range (bpm), probability of minor, drum probability, swing
    "cou_fol": dict(tempo=(90, 130), minor=0.15, drums=0.5, swing=0.0),
    "cla": dict(tempo=(60, 110), minor=0.4, drums=0.03, swing=0.0),
    "pop_roc": dict(tempo=(90, 140), minor=0.3, drums=0.85, swing=0.0),
    "lat_sou": dict(tempo=(95, 125), minor=0.5, drums=0.8, swing=0.0),
    "jaz_blu": dict(tempo=(70, 170), minor=0.3, drums=0.65, swing=0.62),
}
PROGRESSIONS = {  # scale degrees (0 = tonic), one chord per bar
    "cou_fol": [(0, 0, 3, 0, 4, 4, 0, 0), (0, 3, 4, 0), (0, 4, 5, 3)],
    "cla": [(0, 3, 4, 0), (0, 5, 1, 4), (0, 4, 5, 2, 3, 0, 3, 4)],
    "pop_roc": [(0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (0, 5, 3, 4)],
    "lat_sou": [(0, 3, 4, 3), (5, 1, 4, 0), (0, 6, 5, 4)],
    "jaz_blu": [(0, 3, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4), (1, 4, 0, 0), (0, 5, 1, 4)],
}
ACCOMPANIMENT = {  # genre -> chord instruments of the backing band (class or GM program) and weights
    "cou_fol": {"gac": 0.7, "pia": 0.2, "org": 0.1},
    "cla": {"pia": 0.5, 48: 0.4, "org": 0.1},
    "pop_roc": {"gel": 0.3, "pia": 0.3, "org": 0.2, "gac": 0.2},
    "jaz_blu": {"pia": 0.7, "gel": 0.2, "org": 0.1},
    "lat_sou": {"gac": 0.5, "pia": 0.4, "org": 0.1},
}
BASS_PROGRAMS = {"cou_fol": (32, 33), "cla": (43, 32), "pop_roc": (33, 34), "lat_sou": (32, 33), "jaz_blu": (32,)}
RHYTHMS = {  # one bar of note lengths in beats, per genre
    "cou_fol": [(1, 1, 1, 1), (1.5, 0.5, 2), (0.5, 0.5, 1, 1, 1), (2, 1, 1)],
    "cla": [(1, 1, 1, 1), (2, 1, 1), (1.5, 0.5, 1, 1), (0.5,) * 8, (3, 1), (4,)],
    "pop_roc": [(1, 0.5, 0.5, 1, 1), (0.5,) * 8, (1.5, 1.5, 1), (2, 0.5, 0.5, 1)],
    "lat_sou": [(0.75, 0.75, 0.5, 1, 1), (1.5, 1, 1.5), (0.5, 1, 0.5, 1, 1), (0.75, 0.75, 0.5, 2)],
    "jaz_blu": [(0.5,) * 8, (1, 0.5, 0.5, 1, 1), (1.5, 0.5, 0.5, 0.5, 1), (0.5, 0.5, 1, 2)],
}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DRUM_CHANNEL = 9  # General MIDI channel 10


# ---------------------------------------------------------------------------------------------
# SoundFonts


def find_soundfont(name: str) -> Path:
    """The SoundFont ``name``: in ``$HARMONY_SOUNDFONT_DIR``, else the Debian locations; else a clear error."""
    folders = [os.environ["HARMONY_SOUNDFONT_DIR"]] if os.environ.get("HARMONY_SOUNDFONT_DIR") else []
    for folder in [*folders, *SOUNDFONT_DIRS]:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"SoundFont {name} not found in {', '.join([*folders, *SOUNDFONT_DIRS])}. SynthIRMAS/SynthAudioSet are "
        "rendered from the General MIDI SoundFonts of the Debian packages fluid-soundfont-gm (FluidR3_GM.sf2), "
        "csound-soundfont (sf_GMbank.sf2), timgm6mb-soundfont (TimGM6mb.sf2), musescore-general-soundfont "
        "(MuseScore_General_Full.sf3) and opl3-soundfont (OPL-3_FM_128M.sf2): run ./run_all.sh (it installs them) "
        "or `sudo apt-get install fluid-soundfont-gm csound-soundfont timgm6mb-soundfont musescore-general-soundfont "
        "opl3-soundfont`, or put the five files in a folder and set HARMONY_SOUNDFONT_DIR to it.")


def sha256_file(path: Path) -> str:
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_SYNTHS: dict[str, tuple] = {}


def _synth(soundfont: str):
    """One tinysoundfont synthesizer per process and SoundFont (loading FluidR3 takes ~2 s)."""
    if soundfont not in _SYNTHS:
        import tinysoundfont

        synth = tinysoundfont.Synth(samplerate=SR)
        _SYNTHS[soundfont] = (synth, synth.sfload(str(find_soundfont(soundfont)), max_voices=128))
    return _SYNTHS[soundfont]


# ---------------------------------------------------------------------------------------------
# Music: notes and parts


@dataclass
class Part:
    """One instrument's notes: (start s, duration s, MIDI key, velocity 1-127) and its mix settings."""

    program: int
    notes: list = field(default_factory=list)
    drums: bool = False
    gain_db: float = 0.0
    pan: float = 0.0  # -1 left .. 1 right
    window: tuple[float, float] | None = None  # (start, end) s where the part is audible; None: all


@dataclass(frozen=True)
class Song:
    """What the excerpts of one piece share: genre, key, mode, tempo, progression."""

    genre: str
    tonic: int  # pitch class
    minor: bool
    tempo: float
    progression: tuple[int, ...]

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def scale(self) -> tuple[int, ...]:
        return MINOR if self.minor else MAJOR

    def chord(self, bar: int, sevenths: bool = False) -> list[int]:
        """Pitch classes of the chord of ``bar`` (triad, or four-note chord when ``sevenths``)."""
        degree = self.progression[bar % len(self.progression)]
        steps = (0, 2, 4, 6) if sevenths else (0, 2, 4)
        pcs = [(self.tonic + self.scale[(degree + s) % 7]) % 12 for s in steps]
        if self.minor and degree == 4:  # harmonic minor: major dominant
            pcs[1] = (pcs[1] + 1) % 12
        return pcs


def random_song(rng: np.random.Generator, genre: str) -> Song:
    style = GENRE_STYLE[genre]
    progressions = PROGRESSIONS[genre]
    return Song(genre=genre, tonic=int(rng.integers(12)), minor=bool(rng.random() < style["minor"]),
                tempo=float(rng.uniform(*style["tempo"])),
                progression=progressions[int(rng.integers(len(progressions)))])


def _time(song: Song, beats: float) -> float:
    """Seconds of a position in beats, with swung off-beat eighths in jazz/blues."""
    swing = GENRE_STYLE[song.genre]["swing"]
    whole, frac = divmod(beats, 1.0)
    if swing and abs(frac - 0.5) < 1e-6:
        frac = swing
    return (whole + frac) * song.beat


def _scale_keys(song: Song, low: int, high: int) -> np.ndarray:
    return np.array([k for k in range(low, high + 1) if (k - song.tonic) % 12 in song.scale])


def _human(rng, t: float, sigma: float = 0.012) -> float:
    return max(0.0, t + float(rng.normal(0, sigma)))


def _vel(rng, base: float, spread: float = 10) -> int:
    return int(np.clip(rng.normal(base, spread), 20, 127))


def melody(rng, song: Song, low: int, high: int, seconds: float, *, legato: float = 0.9,
           rest: float = 0.08, loud: float = 92, long_notes: bool = False) -> list:
    """A melodic line: mostly stepwise in the scale, chord tones on strong beats, within [low, high]."""
    keys = _scale_keys(song, low, high)
    span = len(keys)
    index = int(rng.integers(span // 4, max(span // 4 + 1, 3 * span // 4)))
    notes, beat, bars = [], 0.0, int(np.ceil(seconds / (4 * song.beat))) + 1
    rhythms = RHYTHMS[song.genre]
    if long_notes:
        rhythms = [r for r in rhythms if len(r) <= 4] or rhythms
    for bar in range(bars):
        chord = song.chord(bar)
        for length in rhythms[int(rng.integers(len(rhythms)))]:
            step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3], p=[.1, .22, .1, .06, .22, .1, .1, .05, .05]))
            index = int(np.clip(index + step, 0, span - 1))
            if beat % 2 == 0:  # strong beat: move to the nearest chord tone
                tones = [i for i in range(max(0, index - 2), min(span, index + 3)) if keys[i] % 12 in chord]
                if tones:
                    index = min(tones, key=lambda i: abs(i - index))
            if rng.random() > rest:
                start = _time(song, beat)
                end = _time(song, beat + length)
                if start < seconds:
                    notes.append((_human(rng, start), (end - start) * legato, int(keys[index]),
                                  _vel(rng, loud + (8 if beat % 4 == 0 else 0))))
            beat += length
    return notes


def chords(rng, song: Song, low: int, seconds: float, *, pattern: str, loud: float = 70,
           sevenths: bool = False) -> list:
    """Accompaniment: block chords, strums, arpeggios, power chords or sustained pads over the progression."""
    notes, bar_s = [], 4 * song.beat
    for bar in range(int(np.ceil(seconds / bar_s)) + 1):
        pcs = song.chord(bar, sevenths)
        root = low + (pcs[0] - low) % 12
        voicing = [root + (pc - pcs[0]) % 12 for pc in pcs]
        t0 = bar * bar_s
        if pattern == "pad":
            notes += [(_human(rng, t0), bar_s * 0.98, k, _vel(rng, loud, 6)) for k in voicing]
        elif pattern == "block":
            hits = {"jaz_blu": (1.5, 3.5), "lat_sou": (0, 1.5, 3), "cla": (0, 2)}.get(song.genre, (0, 1, 2, 3))
            for b in hits:
                length = 0.9 * song.beat * (2 if song.genre == "cla" else 1)
                notes += [(_human(rng, t0 + _time(song, b), 0.008), length, k, _vel(rng, loud)) for k in voicing]
        elif pattern == "strum":
            for b in (0, 1, 1.5, 2.5, 3) if song.genre != "cla" else (0, 2):
                t = _human(rng, t0 + _time(song, b), 0.01)
                keys = voicing + [voicing[0] + 12] + ([voicing[1] + 12] if len(voicing) > 1 else [])
                direction = 1 if b % 1 == 0 else -1
                v = _vel(rng, loud - (0 if b % 1 == 0 else 12))
                notes += [(t + i * 0.012, song.beat * 0.95, k, v) for i, k in enumerate(keys[::direction])]
        elif pattern == "arpeggio":
            keys = voicing + [voicing[0] + 12, voicing[1] + 12 if len(voicing) > 1 else voicing[0] + 12]
            for i in range(8):
                notes.append((_human(rng, t0 + _time(song, i / 2)), song.beat * 0.9, keys[i % len(keys)],
                              _vel(rng, loud - 5)))
        elif pattern == "power":
            for i in range(8):
                notes += [(_human(rng, t0 + _time(song, i / 2), 0.006), song.beat * 0.45, k, _vel(rng, loud, 6))
                          for k in (root, root + 7, root + 12)]
        elif pattern == "bass":
            for b in (0, 2) if song.genre in ("cla", "cou_fol") else (0, 1, 2, 3):
                key = root if b in (0, 2) else root + (7 if b == 1 else 12 if song.genre == "jaz_blu" else 7)
                notes.append((_human(rng, t0 + _time(song, b)), song.beat * 0.85, key, _vel(rng, loud)))
    return [n for n in notes if n[0] < seconds]


DRUM_PATTERNS = {  # genre -> {GM drum key: (16th steps in a bar, velocity)}
    "pop_roc": {36: ((0, 8, 10), 105), 38: ((4, 12), 100), 42: (tuple(range(0, 16, 2)), 70)},
    "cou_fol": {36: ((0, 8), 90), 38: ((4, 12), 70), 42: (tuple(range(0, 16, 2)), 55)},
    "jaz_blu": {51: ((0, 4, 6, 8, 12, 14), 70), 44: ((4, 12), 60), 36: ((0,), 55)},
    "lat_sou": {36: ((0, 6, 8, 14), 85), 75: ((0, 3, 6, 10, 12), 80), 63: ((2, 10), 80), 64: ((6, 14), 75),
                70: (tuple(range(16)), 45)},
    "cla": {47: ((0, 8), 60)},
}


def drums(rng, song: Song, seconds: float) -> list:
    notes, bar_s = [], 4 * song.beat
    pattern = DRUM_PATTERNS[song.genre]
    for bar in range(int(np.ceil(seconds / bar_s)) + 1):
        t0 = bar * bar_s
        if bar % 4 == 0 and song.genre in ("pop_roc", "cou_fol") and rng.random() < 0.5:
            notes.append((_human(rng, t0, 0.005), 0.5, 49, _vel(rng, 100)))
        for key, (steps, loud) in pattern.items():
            for s in steps:
                notes.append((_human(rng, t0 + _time(song, s / 4), 0.006), 0.1, key, _vel(rng, loud, 12)))
    return [n for n in notes if n[0] < seconds]


def instrument_part(rng, song: Song, cls: str, seconds: float, *, program: int | None = None,
                    role: str = "lead") -> Part:
    """The notes one class plays: a lead line (plus its own chords for keyboards/guitars) or accompaniment."""
    inst = INSTRUMENTS[cls]
    program = int(rng.choice(inst.programs)) if program is None else program
    low, high = SAX_RANGES.get(program, (inst.low, inst.high)) if cls == "sax" else (inst.low, inst.high)
    if role == "accompaniment":
        pattern = {"keys": "block", "guitar": "strum", "organ": "pad"}.get(inst.style, "pad")
        if cls == "gel" and program in (29, 30):
            pattern = "power"
        return Part(program, chords(rng, song, max(low, 48), seconds, pattern=pattern, loud=65,
                                    sevenths=song.genre == "jaz_blu"))
    if inst.style in ("line", "voice"):
        width = high - low
        lo = int(low + rng.uniform(0, 0.35) * width)
        hi = max(lo + 12, int(high - rng.uniform(0, 0.3) * width))
        legato = 0.98 if inst.style == "voice" or cls in ("vio", "cel") else float(rng.uniform(0.75, 0.95))
        return Part(program, melody(rng, song, lo, min(hi, high), seconds, legato=legato,
                                    long_notes=inst.style == "voice" or song.genre == "cla"))
    # keyboards, guitars, organ as predominant instrument: a melody on top of their own harmony
    line = melody(rng, song, max(low, 60), min(high, 88), seconds, legato=0.9, loud=95)
    if cls == "gel" and program in (29, 30):
        pattern = str(rng.choice(["power", "power", "arpeggio"]))
        line = line if rng.random() < 0.6 else []
    else:
        pattern = {"keys": rng.choice(["block", "arpeggio"]), "guitar": rng.choice(["strum", "arpeggio"]),
                   "organ": rng.choice(["pad", "block"])}[inst.style]
    return Part(program, line + chords(rng, song, max(low, 45), seconds, pattern=str(pattern), loud=78,
                                       sevenths=song.genre == "jaz_blu"))


def backing(rng, song: Song, seconds: float, *, lead: tuple[str, ...], with_drums: bool,
            chord_instrument: bool = True, level_db: tuple[float, float] = (-16, -8)) -> list[Part]:
    """Unlabelled accompaniment at a lower level: bass, maybe a chord instrument, GM drums when ``with_drums``."""
    parts = [Part(int(rng.choice(BASS_PROGRAMS[song.genre])),
                  chords(rng, song, 36, seconds, pattern="bass", loud=85),
                  gain_db=float(rng.uniform(*level_db)) + 2, pan=0.0)]
    if chord_instrument:
        choices = {k: w for k, w in ACCOMPANIMENT[song.genre].items() if k not in lead}
        if choices:
            keys = list(choices)
            pick = keys[int(rng.choice(len(keys), p=np.array(list(choices.values())) / sum(choices.values())))]
            if isinstance(pick, str):
                part = instrument_part(rng, song, pick, seconds, role="accompaniment")
            else:
                part = Part(pick, chords(rng, song, 55, seconds, pattern="pad", loud=60))
            part.gain_db, part.pan = float(rng.uniform(*level_db)), float(rng.uniform(-0.6, 0.6))
            parts.append(part)
    if with_drums:
        parts.append(Part(0, drums(rng, song, seconds), drums=True, gain_db=float(rng.uniform(*level_db)) + 3,
                          pan=0.0))
    return parts


# ---------------------------------------------------------------------------------------------
# Rendering and the two recording chains


def render_part(soundfont: str, part: Part, seconds: float) -> np.ndarray:
    """Render one part alone to stereo float32 (n, 2); the synthesizer is reset before and after."""
    synth, sfid = _synth(soundfont)
    chan = DRUM_CHANNEL if part.drums else 0
    synth.sounds_off()
    synth.generate(256)
    synth.program_select(chan, sfid, 0, part.program, part.drums)
    synth.pitchbend(chan, 8192)
    for controller, value in ((7, 100), (10, 64), (11, 127), (64, 0)):
        synth.control_change(chan, controller, value)
    total = int(round(seconds * SR))
    events = []
    for start, length, key, velocity in part.notes:
        on = int(round(start * SR))
        if on >= total:
            continue
        events.append((on, 1, key, velocity))
        events.append((min(total, on + max(1, int(round(length * SR)))), 0, key, 0))
    events.sort()
    out = np.zeros((total, 2), dtype=np.float32)
    position = 0
    for sample, is_on, key, velocity in events:
        if sample > position:
            out[position:sample] = np.frombuffer(synth.generate(sample - position), dtype=np.float32).reshape(-1, 2)
            position = sample
        if is_on:
            synth.noteon(chan, int(key), int(velocity))
        else:
            synth.noteoff(chan, int(key))
    if total > position:
        out[position:] = np.frombuffer(synth.generate(total - position), dtype=np.float32).reshape(-1, 2)
    synth.sounds_off()
    synth.generate(256)
    return out


def preset_similarity(soundfont_a: str, soundfont_b: str, program: int, keys=(60,), drums: bool = False) -> float:
    """How alike two SoundFonts' presets ``program`` sound: over ``keys``, the smallest peak of the normalised
    cross-correlation of one dry note (its first 0.25 s from the onset) rendered from each. Near 1 where both
    presets play the same recorded sample, whatever their envelope settings; 0.1-0.8 for different recordings of
    one instrument (measured on General MIDI banks; a sung vowel, close to a few sinusoids, reaches 0.78). With ``drums``, ``keys`` are GM drum notes. Notebook 10."""
    from scipy.signal import correlate

    def onset(soundfont: str, key: int) -> np.ndarray:
        audio = render_part(soundfont, Part(program, [(0.0, 0.4, key, 100)], drums=drums), 0.5).mean(axis=1)
        sounding = np.flatnonzero(np.abs(audio) > 1e-4)
        start = sounding[0] if len(sounding) else 0
        return audio[start:start + int(0.25 * SR)].astype(np.float64)

    peaks = []
    for key in keys:
        x, y = onset(soundfont_a, key), onset(soundfont_b, key)
        energy = np.sqrt((x ** 2).sum() * (y ** 2).sum())
        if energy < 1e-9:
            raise ConfigError(f"preset {program} of {soundfont_a} or {soundfont_b} is silent at key {key}")
        peaks.append(float(np.abs(correlate(x, y, method="fft")).max() / energy))
    return min(peaks)


def class_similarity(soundfont_a: str, soundfont_b: str) -> dict[str, float]:
    """:func:`preset_similarity` of every class's General MIDI programs (the most alike of them, at two keys
    around the middle of the class's range) and of the drum kit's kick, snare and hi-hat, keyed by class and
    ``"drums"``. Notebook 10."""
    alike = {}
    for cls, inst in INSTRUMENTS.items():
        middle = (inst.low + inst.high) // 2
        alike[cls] = max(preset_similarity(soundfont_a, soundfont_b, program, (middle - 6, middle + 6))
                         for program in dict.fromkeys(inst.programs))
    alike["drums"] = preset_similarity(soundfont_a, soundfont_b, 0, (36, 38, 42), drums=True)
    return alike


def _window_envelope(window, total: int) -> np.ndarray:
    """A gain curve that is 1 inside ``window`` (s) with 50-ms fades, 0 outside."""
    env = np.zeros(total, dtype=np.float32)
    a, b = (int(round(t * SR)) for t in window)
    a, b = max(0, a), min(total, b)
    env[a:b] = 1
    fade = min(int(0.05 * SR), max(1, (b - a) // 4))
    if a > 0:
        env[a:a + fade] = np.linspace(0, 1, fade, dtype=np.float32)[: len(env[a:a + fade])]
    if b < total:
        env[b - fade:b] = np.linspace(1, 0, fade, dtype=np.float32)
    return env


def mix(soundfont: str, parts: list[Part], seconds: float) -> np.ndarray:
    """Render, place (gain, equal-power pan, audible window) and sum the parts: (2, n) float32."""
    total = int(round(seconds * SR))
    out = np.zeros((total, 2), dtype=np.float32)
    for part in parts:
        stem = render_part(soundfont, part, seconds)
        angle = (part.pan + 1) * np.pi / 4
        stem *= (np.array([np.cos(angle), np.sin(angle)]) * np.sqrt(2) * 10 ** (part.gain_db / 20)).astype(np.float32)
        if part.window is not None:
            stem *= _window_envelope(part.window, total)[:, None]
        out += stem
    return np.ascontiguousarray(out.T)


def room(rng, audio: np.ndarray, rt60: float, wet: float, brightness: float) -> np.ndarray:
    """Convolve with a synthetic room: decorrelated exponentially decaying noise, low-passed by ``brightness``."""
    from scipy.signal import butter, fftconvolve, sosfilt

    n = int(rt60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal((audio.shape[0], n)) * np.exp(-6.9 * t / rt60)
    ir = sosfilt(butter(2, brightness, fs=SR, output="sos"), ir, axis=-1)
    ir /= np.sqrt((ir ** 2).sum(axis=-1, keepdims=True)) + 1e-12
    predelay = int(rng.uniform(0.005, 0.03) * SR)
    ir = np.concatenate([np.zeros((audio.shape[0], predelay)), ir], axis=-1).astype(np.float32)
    reverb = fftconvolve(audio.astype(np.float32), ir, axes=-1)[:, : audio.shape[1]]
    return ((1 - wet) * audio + wet * reverb).astype(np.float32)


def to_level(audio: np.ndarray, rms_db: float, peak: float = 0.98) -> np.ndarray:
    """Scale to an RMS level in dBFS, then down if the peak would clip."""
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    if rms < 1e-9:
        return audio
    audio = audio * (10 ** (rms_db / 20) / rms)
    top = float(np.abs(audio).max())
    return (audio * (peak / top) if top > peak else audio).astype(np.float32)


def irmas_chain(rng, audio: np.ndarray) -> np.ndarray:
    """SynthIRMAS's studio: a room of 0.3-1.8 s at 8-30 % wet, mastered to -24..-14 dBFS RMS, stereo."""
    audio = room(rng, audio, rt60=float(rng.uniform(0.3, 1.8)), wet=float(rng.uniform(0.08, 0.3)),
                 brightness=float(rng.uniform(4000, 12000)))
    return to_level(audio, float(rng.uniform(-24, -14)))


def stage_chain(rng, audio: np.ndarray) -> np.ndarray:
    """SynthIRMAS's validation/test songs: another room and other microphones than the studio's -- a room of
    0.2-2.5 s at 10-40 % wet, a microphone's colouration (a high-pass at 40-150 Hz and two broad resonances of
    -6..+6 dB between 200 Hz and 8 kHz), mastered to -26..-12 dBFS RMS, stereo."""
    audio = room(rng, audio, rt60=float(rng.uniform(0.2, 2.5)), wet=float(rng.uniform(0.1, 0.4)),
                 brightness=float(rng.uniform(3000, 16000)))
    audio = microphone(rng, audio, highpass_hz=(40, 150), resonances=2, gain_db=(-6, 6), band_hz=(200, 8000))
    return to_level(audio, float(rng.uniform(-26, -12)))


def microphone(rng, audio: np.ndarray, highpass_hz: tuple[float, float], resonances: int,
               gain_db: tuple[float, float], band_hz: tuple[float, float]) -> np.ndarray:
    """A microphone's colouration: a high-pass at U(``highpass_hz``) Hz, then ``resonances`` broad bands (an
    octave and a half wide) boosted or cut by U(``gain_db``) dB at log-uniform centres within ``band_hz``."""
    from scipy.signal import butter, sosfilt

    audio = sosfilt(butter(2, float(rng.uniform(*highpass_hz)), "highpass", fs=SR, output="sos"), audio, axis=-1)
    for _ in range(resonances):
        centre = float(np.exp(rng.uniform(np.log(band_hz[0]), np.log(band_hz[1]))))
        gain = float(rng.uniform(*gain_db))
        band = sosfilt(butter(1, [centre / 1.5, centre * 1.5], "bandpass", fs=SR, output="sos"), audio, axis=-1)
        audio = audio + (10 ** (gain / 20) - 1) * band
    return audio.astype(np.float32)


def randomised_chain(rng, audio: np.ndarray) -> np.ndarray:
    """SynthIRMAS-DR's training chain: room, microphone and level drawn afresh for every source over wider ranges
    than the studio's and the stage's -- a room of 0.1-3 s at 0-50 % wet, a high-pass at 20-250 Hz, zero to three
    resonances of -10..+10 dB between 120 Hz and 10 kHz, mastered to -32..-10 dBFS RMS, stereo (notebook 58)."""
    audio = room(rng, audio, rt60=float(rng.uniform(0.1, 3.0)), wet=float(rng.uniform(0.0, 0.5)),
                 brightness=float(rng.uniform(2500, 18000)))
    audio = microphone(rng, audio, highpass_hz=(20, 250), resonances=int(rng.integers(0, 4)), gain_db=(-10, 10),
                       band_hz=(120, 10000))
    return to_level(audio, float(rng.uniform(-32, -10)))


CHAINS = {"studio": irmas_chain, "stage": stage_chain, "randomised": randomised_chain}


def audioset_chain(rng, audio: np.ndarray) -> np.ndarray:
    """SynthAudioSet's "YouTube" chain: mono, small rooms, band limits of a low-bitrate upload, noise, clipping."""
    from scipy.signal import butter, sosfilt

    mono = audio.mean(axis=0, keepdims=True)
    if rng.random() < 0.7:
        mono = room(rng, mono, rt60=float(rng.uniform(0.1, 0.6)), wet=float(rng.uniform(0.1, 0.45)),
                    brightness=float(rng.uniform(2500, 7000)))
    mono = to_level(mono, -20)
    low, high = float(rng.uniform(60, 250)), float(rng.uniform(3500, 11000))
    mono = sosfilt(butter(2, low, "highpass", fs=SR, output="sos"), mono, axis=-1)
    mono = sosfilt(butter(6, high, fs=SR, output="sos"), mono, axis=-1)
    noise = np.cumsum(rng.standard_normal(mono.shape, dtype=np.float32), axis=-1)  # brown-ish room/street noise
    noise = sosfilt(butter(1, 30, "highpass", fs=SR, output="sos"), noise, axis=-1)
    noise += 0.3 * rng.standard_normal(mono.shape, dtype=np.float32) * np.std(noise)
    snr_db = float(rng.uniform(12, 35))
    noise *= np.sqrt(np.mean(mono ** 2) / (np.mean(noise ** 2) + 1e-12)) * 10 ** (-snr_db / 20)
    hum = np.sin(2 * np.pi * float(rng.choice([50, 60])) * np.arange(mono.shape[1]) / SR)
    mono = mono + noise + (rng.random() < 0.3) * 0.003 * hum
    drive = float(rng.uniform(1, 4))
    mono = np.tanh(drive * mono) / np.tanh(drive)
    return to_level(mono.astype(np.float32), float(rng.uniform(-26, -14)))


def write_wav(path: Path, audio: np.ndarray) -> None:
    """16-bit PCM WAV (channels, n), written atomically."""
    import io as _io

    buffer = _io.BytesIO()
    sf.write(buffer, np.clip(audio.T, -1, 1), SR, subtype="PCM_16", format="WAV")
    io.write_bytes(path, buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# Plans: every clip's parameters decided up front from the seed (independent of process count)


def _weighted(rng, weights: dict):
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _allocate(total: int, weights: dict) -> dict:
    """Split ``total`` over the keys in proportion to ``weights`` (largest remainder, at least 1 each)."""
    w = np.array([weights[k] for k in weights], dtype=float)
    exact = total * w / w.sum()
    counts = np.maximum(1, np.floor(exact)).astype(int)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable")[: max(0, total - counts.sum())]:
        counts[i] += 1
    return dict(zip(weights, counts.tolist()))


def _seed(*parts) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


TITLE_WORDS = ("blue", "river", "night", "morning", "old", "road", "home", "little", "summer", "rain", "heart",
               "city", "golden", "train", "moon", "dance", "lonely", "sweet", "winter", "light")


def plan_irmas(seed: int, train_clips: int, test_songs: int, excerpts: tuple[int, int],
               test_seconds: float = 20.0, min_songs_per_class: int = 0, twin_songs: int = 0) -> list[dict]:
    """Every SynthIRMAS job: training sources (1-3 excerpts each) from the training SoundFont through the studio
    chain, test songs (several excerpts) from the held-out SoundFont through the stage chain, and the first
    ``twin_songs`` test songs again in each rendering of :data:`TWINS`.

    ``min_songs_per_class``: song ``i < 11 * min_songs_per_class`` has class ``CLASSES[i % 11]`` in every
    excerpt, so every class is labelled in at least that many songs; the other instruments follow IRMAS's
    frequencies.
    """
    rng = np.random.default_rng(_seed("plan_irmas", seed))
    jobs = []
    per_class = _allocate(train_clips, IRMAS_TRAIN_COUNTS) if train_clips else {}
    for cls in CLASSES:
        remaining, source, prefix = per_class.get(cls, 0), 0, 0
        while remaining > 0:
            k = min(remaining, int(rng.choice([1, 2, 3], p=[0.3, 0.3, 0.4])))
            source += 1
            genre = _weighted(rng, INSTRUMENTS[cls].genres)
            dru = bool(rng.random() < GENRE_STYLE[genre]["drums"])
            long_name = bool(rng.random() < 0.65)
            names = []
            for i in range(1, k + 1):
                if long_name:
                    prefix += 1
                    names.append(f"{prefix:03d}__[{cls}][{'dru' if dru else 'nod'}][{genre}]{source:04d}__{i}")
                else:
                    names.append(f"[{cls}][{genre}]{source:04d}__{i}")
            jobs.append(dict(kind="train", cls=cls, genre=genre, drums=dru, names=names,
                             folder=f"IRMAS-TrainingData/{cls}", seed=_seed("train", seed, cls, source),
                             soundfont=IRMAS_SOUNDFONT, chain="studio"))
            remaining -= k
    label_p = np.array([IRMAS_LABELS_PER_CLIP[n] for n in range(1, 6)], dtype=float)
    label_p /= label_p.sum()
    class_w = {c: IRMAS_TEST_LABEL_COUNTS[c] for c in CLASSES}
    part_share = np.cumsum([p[2] for p in IRMAS_TEST_PARTS]) / sum(p[2] for p in IRMAS_TEST_PARTS)
    genre_w = {"pop_roc": 0.4, "jaz_blu": 0.22, "cou_fol": 0.14, "lat_sou": 0.12, "cla": 0.12}
    for song_index in range(test_songs):
        genre = _weighted(rng, genre_w)
        n_excerpts = int(rng.integers(excerpts[0], excerpts[1] + 1))
        counts = [int(rng.choice(5, p=label_p)) + 1 for _ in range(n_excerpts)]
        pool_size = min(5, max(counts) + int(rng.random() < 0.3))
        forced = CLASSES[song_index % len(CLASSES)] if song_index < len(CLASSES) * min_songs_per_class else None
        pool = [forced] if forced else []
        affinity = {c: class_w[c] * (0.3 + INSTRUMENTS[c].genres.get(genre, 0.0)) for c in CLASSES}
        while len(pool) < pool_size:
            pick = _weighted(rng, {c: w for c, w in affinity.items() if c not in pool})
            pool.append(pick)
        programs = {c: int(rng.choice(INSTRUMENTS[c].programs)) for c in pool}
        part = int(np.searchsorted(part_share, (song_index + 0.5) / test_songs))
        folder, inner, _ = IRMAS_TEST_PARTS[part]
        title = " ".join(rng.choice(TITLE_WORDS, size=int(rng.integers(2, 4)), replace=False))
        stem = [f"({song_index + 1:02d}) {title}", f"{song_index + 1:02d}. synth band - {title}",
                f"{song_index + 1:02d} - {title}"][part]
        dru = bool(rng.random() < GENRE_STYLE[genre]["drums"])
        clips = []
        for i, n in enumerate(counts):
            present = list(rng.choice(pool, size=min(n, len(pool)), replace=False))
            if forced and forced not in present:
                present[-1] = forced
            seconds = test_seconds if rng.random() < 0.85 else float(np.round(rng.uniform(5, test_seconds), 2))
            windows = {}
            for j, c in enumerate(present):
                if j == 0 or rng.random() < 0.6:
                    windows[c] = None
                else:
                    length = float(rng.uniform(0.35, 0.8)) * seconds
                    start = float(rng.uniform(0, seconds - length))
                    windows[c] = (start, start + length)
            clips.append(dict(name=f"{stem}-{i + 1}", seconds=seconds, windows=windows,
                              labels=[c for c in CLASSES if c in present]))
        jobs.append(dict(kind="test", genre=genre, drums=dru, programs=programs, clips=clips,
                         folder=f"{folder}/{inner}", seed=_seed("test", seed, song_index),
                         soundfont=IRMAS_TEST_SOUNDFONT, chain="stage"))
        tested = jobs[-1]
        for twin, (soundfont, chain) in TWINS.items() if song_index < twin_songs else ():
            jobs.append({**tested, "folder": f"{TWINS_FOLDER}/{twin}/{folder}/{inner}", "soundfont": soundfont,
                         "chain": chain})
    return jobs


AUDIOSET_PAIRS = (("cel", "vio"), ("gac", "gel"), ("org", "pia"), ("pia", "vio"), ("gel", "voi"), ("pia", "voi"))


def synthetic_ytid(seed: int, index: int) -> str:
    """An 11-character YouTube-style ID (so SynthAudioSet passes the collector's ID check)."""
    digest = hashlib.sha256(f"synthaudioset/{seed}/{index}".encode()).digest()[:8]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def plan_audioset(seed: int, clips: int, fractions: tuple[float, float, float]) -> list[dict]:
    """Every SynthAudioSet clip: mostly one label, classes more balanced than IRMAS's, AudioSet-like pairs. The clips
    that the seeded split (``fractions`` train/val/test) puts in training go round :data:`DR_SOUNDFONTS`, per first
    label from a seeded start; the validation and test clips are :data:`AUDIOSET_TEST_SOUNDFONT`'s."""
    from .splits import ytid_split

    rng = np.random.default_rng(_seed("plan_audioset", seed))
    class_w = {c: 1.0 + 0.6 * (c in ("voi", "pia", "gel", "gac")) for c in CLASSES}
    ytids = [synthetic_ytid(seed, index) for index in range(clips)]
    split = ytid_split(ytids, fractions, seed).set_index("ytid")["split"]
    next_soundfont = dict(zip(CLASSES, np.random.default_rng(_seed("plan_audioset_soundfonts", seed)).integers(
        len(DR_SOUNDFONTS), size=len(CLASSES)).tolist()))  # class -> index into DR_SOUNDFONTS of its next clip
    jobs = []
    for index, ytid in enumerate(ytids):
        n = int(rng.choice([1, 2, 3], p=[0.75, 0.2, 0.05]))
        if n == 2 and rng.random() < 0.6:
            present = list(AUDIOSET_PAIRS[int(rng.integers(len(AUDIOSET_PAIRS)))])
        else:
            present = list(rng.choice(CLASSES, size=n, replace=False,
                                      p=np.array(list(class_w.values())) / sum(class_w.values())))
        genre = _weighted(rng, INSTRUMENTS[present[0]].genres)
        windows = {c: None if j == 0 and rng.random() < 0.7 else
                   tuple(sorted(float(x) for x in rng.uniform(0, 10, size=2))) for j, c in enumerate(present)}
        windows = {c: (w if w is None or w[1] - w[0] > 2.5 else (max(0.0, w[0] - 2.5), min(10.0, w[1] + 2.5)))
                   for c, w in windows.items()}
        if split[ytid] == "train":
            soundfont = DR_SOUNDFONTS[next_soundfont[present[0]] % len(DR_SOUNDFONTS)]
            next_soundfont[present[0]] += 1
        else:
            soundfont = AUDIOSET_TEST_SOUNDFONT
        jobs.append(dict(kind="audioset", ytid=ytid, genre=genre, soundfont=soundfont,
                         drums=bool(rng.random() < 0.5 * GENRE_STYLE[genre]["drums"]),
                         windows=windows, labels=[c for c in CLASSES if c in present],
                         seed=_seed("audioset", seed, index)))
    return jobs


# ---------------------------------------------------------------------------------------------
# Jobs


def _label_text(labels) -> str:
    return "".join(f"{c}\t\n" for c in labels)


def render_job(job: dict, root: str) -> None:
    """Render one planned job into ``root`` (skips files that already exist: a resumed render)."""
    root = Path(root)
    rng = np.random.default_rng(job["seed"])
    if job["kind"] == "train":
        paths = [root / job["folder"] / f"{name}.wav" for name in job["names"]]
        if all(p.exists() for p in paths):
            return
        song = random_song(rng, job["genre"])
        seconds = 3.0 * len(paths)
        lead = instrument_part(rng, song, job["cls"], seconds + 0.5)
        lead.gain_db, lead.pan = float(rng.uniform(-1, 1)), float(rng.uniform(-0.3, 0.3))
        parts = [lead, *backing(rng, song, seconds + 0.5, lead=(job["cls"],), with_drums=job["drums"],
                                chord_instrument=rng.random() < 0.75)]
        audio = CHAINS[job["chain"]](rng, mix(job["soundfont"], parts, seconds + 0.5))
        offset = int(0.5 * SR)  # skip the first half second (attack of the first notes, room build-up)
        for i, path in enumerate(paths):
            start = offset + i * 3 * SR
            write_wav(path, audio[:, start:start + IRMAS_TRAIN_SAMPLES])
    elif job["kind"] == "test":
        song = random_song(rng, job["genre"])
        for clip in job["clips"]:
            wav = root / job["folder"] / f"{clip['name']}.wav"
            clip_rng = np.random.default_rng(_seed(job["seed"], clip["name"]))
            if wav.exists():
                continue
            parts = []
            for j, (cls, window) in enumerate(clip["windows"].items()):
                part = instrument_part(clip_rng, song, cls, clip["seconds"], program=job["programs"][cls])
                part.gain_db = float(clip_rng.uniform(-6, 0))
                part.pan = float(clip_rng.uniform(-0.6, 0.6))
                part.window = window
                parts.append(part)
            parts += backing(clip_rng, song, clip["seconds"], lead=tuple(clip["windows"]), with_drums=job["drums"],
                             chord_instrument=False, level_db=(-14, -8))
            audio = CHAINS[job["chain"]](clip_rng, mix(job["soundfont"], parts, clip["seconds"]))
            io.write_text(wav.with_suffix(".txt"), _label_text(clip["labels"]))
            write_wav(wav, audio)
    else:
        wav = root / "audio" / f"{job['ytid']}.wav"
        if wav.exists():
            return
        song = random_song(rng, job["genre"])
        parts = []
        for cls, window in job["windows"].items():
            part = instrument_part(rng, song, cls, 10.0)
            part.gain_db, part.window = float(rng.uniform(-6, 0)), window
            parts.append(part)
        if rng.random() < 0.6:
            parts += backing(rng, song, 10.0, lead=tuple(job["windows"]), with_drums=job["drums"],
                             chord_instrument=False, level_db=(-18, -9))
        write_wav(wav, audioset_chain(rng, mix(job["soundfont"], parts, 10.0)))


def _run_jobs(jobs: list[dict], root: Path, workers: int, soundfonts: tuple[str, ...]) -> None:
    if workers <= 1 or len(jobs) < 8:
        for job in jobs:
            render_job(job, str(root))
        return
    import multiprocessing

    # fork shares the loaded SoundFont with the workers and needs no importable __main__ (plain scripts)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    if method == "fork":
        for soundfont in soundfonts:
            _synth(soundfont)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        # one job per hand-out (chunksize 1): a test song takes as long as up to 50 training jobs
        list(pool.map(render_job, jobs, [str(root)] * len(jobs)))


def render_workers() -> int:
    """Processes used to render: ``$HARMONY_RENDER_WORKERS``, else one per core this process may use
    (the output does not depend on it)."""
    value = os.environ.get("HARMONY_RENDER_WORKERS")
    if value:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _render(target: Path, key: dict, jobs: list[dict], counts: dict, workers: int | None, extra=None) -> Path:
    """Render ``jobs`` into ``target`` through ``target.partial`` (resumable), manifest last, then rename; the
    SoundFonts the jobs name must be there (:func:`find_soundfont`), even when the render is.

    A lock file beside ``target`` makes concurrent callers (parallel notebooks or tests) wait for one render.
    """
    from filelock import FileLock

    soundfonts = tuple(dict.fromkeys(job["soundfont"] for job in jobs))
    for name in soundfonts:
        find_soundfont(name)
    manifest = target / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("key") == key:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(f".{target.name}.lock"))):
        if manifest.exists() and json.loads(manifest.read_text()).get("key") == key:
            return target
        return _render_unlocked(target, key, jobs, soundfonts, counts, workers, extra)


def _render_unlocked(target: Path, key: dict, jobs: list[dict], soundfonts: tuple[str, ...], counts: dict,
                     workers: int | None, extra) -> Path:
    partial = target.with_name(target.name + ".partial")
    partial_key, finished = partial / "partial_key.json", partial / "manifest.json"

    def holds(path: Path) -> bool:
        return path.exists() and json.loads(path.read_text()).get("key", json.loads(path.read_text())) == key

    if not holds(finished):  # else: a complete render that was killed just before its rename
        if partial.exists() and not holds(partial_key):
            shutil.rmtree(partial)
        partial.mkdir(parents=True, exist_ok=True)
        io.write_json(partial_key, dict(key=key))
        _run_jobs(jobs, partial, render_workers() if workers is None else workers, soundfonts)
        if extra is not None:
            extra(partial)
        io.write_json(finished, dict(
            key=key, generator_version=key["generator_version"], seed=key["seed"],
            soundfonts={name: sha256_file(find_soundfont(name)) for name in soundfonts}, sample_rate=SR,
            counts=counts))
        partial_key.unlink()
    if target.exists():
        shutil.rmtree(target)
    os.replace(partial, target)
    return target


def render_synth_irmas(target: Path, seed: int, train_clips: int, test_songs: int,
                       excerpts: tuple[int, int], test_seconds: float = 20.0, min_songs_per_class: int = 0,
                       twin_songs: int = 0, workers: int | None = None) -> Path:
    """Render SynthIRMAS into ``target`` (IRMAS layout) unless a manifest with the same key is there
    (:func:`plan_irmas` says what is rendered with which SoundFont)."""
    key = dict(dataset="SynthIRMAS", generator_version=IRMAS_GENERATOR_VERSION, seed=seed, train_clips=train_clips,
               test_songs=test_songs, excerpts=list(excerpts), test_seconds=test_seconds,
               min_songs_per_class=min_songs_per_class, twin_songs=twin_songs)
    jobs = plan_irmas(seed, train_clips, test_songs, excerpts, test_seconds, min_songs_per_class, twin_songs)
    tests = [j for j in jobs if j["kind"] == "test" and not j["folder"].startswith(TWINS_FOLDER)]
    counts = dict(train=sum(len(j["names"]) for j in jobs if j["kind"] == "train"),
                  test_songs=test_songs, test=sum(len(j["clips"]) for j in tests),
                  twin_songs=min(twin_songs, test_songs))
    return _render(target, key, jobs, counts, workers)


def plan_irmas_dr(seed: int, train_clips: int) -> list[dict]:
    """SynthIRMAS-DR's jobs: SynthIRMAS's training sources with the same notes, part gains and names (the same seeds),
    each rendered from one of :data:`DR_SOUNDFONTS` -- a class's sources go round them from a seeded start, so every
    class has about a third of its clips from each -- through :func:`randomised_chain` (notebook 58)."""
    rng = np.random.default_rng(_seed("plan_irmas_dr", seed))
    start = {cls: int(rng.integers(len(DR_SOUNDFONTS))) for cls in CLASSES}
    jobs, sources = [], dict.fromkeys(CLASSES, 0)
    for job in plan_irmas(seed, train_clips, 0, (1, 1)):
        turn = start[job["cls"]] + sources[job["cls"]]
        sources[job["cls"]] += 1
        jobs.append({**job, "soundfont": DR_SOUNDFONTS[turn % len(DR_SOUNDFONTS)], "chain": "randomised"})
    return jobs


def render_synth_irmas_dr(target: Path, seed: int, train_clips: int, workers: int | None = None) -> Path:
    """Render SynthIRMAS-DR's training clips into ``target`` (``IRMAS-TrainingData/`` only: its validation and test
    songs are SynthIRMAS's) unless a manifest with the same key is there."""
    key = dict(dataset="SynthIRMAS-DR", generator_version=DR_GENERATOR_VERSION,
               irmas_generator_version=IRMAS_GENERATOR_VERSION, seed=seed, train_clips=train_clips)
    jobs = plan_irmas_dr(seed, train_clips)
    counts = dict(train=sum(len(j["names"]) for j in jobs),
                  by_soundfont={name: sum(len(j["names"]) for j in jobs if j["soundfont"] == name)
                                for name in DR_SOUNDFONTS})
    return _render(target, key, jobs, counts, workers)


def render_synth_audioset(target: Path, seed: int, clips: int, fractions: tuple[float, float, float],
                          workers: int | None = None) -> Path:
    """Render SynthAudioSet into ``target`` in the collector's layout (``audio/<YTID>.wav`` + ``clips.csv``), the
    SoundFont of each clip following its split (``fractions`` train/val/test, :func:`plan_audioset`)."""
    import pandas as pd

    from .audioset import MANIFEST_COLUMNS, class_mids
    from .splits import audioset_split_path, ytid_split

    key = dict(dataset="SynthAudioSet", generator_version=AUDIOSET_GENERATOR_VERSION, seed=seed, clips=clips,
               fractions=list(fractions))
    jobs = plan_audioset(seed, clips, fractions)
    rows = [dict(ytid=j["ytid"], start_seconds="0.000", end_seconds="10.000",
                 positive_labels=",".join(class_mids(j["labels"])), labels=";".join(j["labels"]),
                 status="ok", detail="") for j in jobs]
    by_soundfont = {name: sum(j["soundfont"] == name for j in jobs) for name in (*DR_SOUNDFONTS, AUDIOSET_TEST_SOUNDFONT)}

    def write_lists(folder: Path) -> None:  # the collector's list, and the split the SoundFonts followed
        io.write_csv(folder / "clips.csv", pd.DataFrame(rows, columns=MANIFEST_COLUMNS))
        io.write_csv(audioset_split_path(folder, fractions, seed), ytid_split([j["ytid"] for j in jobs], fractions, seed))

    return _render(target, key, jobs, dict(clips=clips, by_soundfont=by_soundfont), workers, extra=write_lists)


def twin_clips(testing, irmas_root: Path, twin: str):
    """The rows of ``testing`` (SynthIRMAS validation/test clips) that were rendered again as ``twin`` (a key of
    :data:`TWINS`), ``path`` pointing at that rendering: the same notes, levels and labels, only the instruments'
    samples or the recording chain differ (notebook 10). The index is ``testing``'s, so
    ``testing.loc[twins.index]`` are the same clips as tested."""
    root = Path(irmas_root)
    folder = root / TWINS_FOLDER / twin
    twins = testing["path"].map(lambda p: folder / Path(p).resolve().relative_to(root.resolve()))
    present = twins.map(Path.is_file)
    return testing[present].assign(path=twins[present].map(str))
