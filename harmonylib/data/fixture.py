"""A tiny data tree in the exact layouts of the real data sets: ``python -m harmonylib make-fixture DIR``.

``DIR/IRMAS/`` looks like the real IRMAS release (Zenodo record 1290750): training folders per class
with both naming patterns, the drum tokens ``[dru]``, ``[nod]`` and ``[---]`` (drums unknown), clips of
132,299 samples (one short of 3 s, as every real training clip) in 44.1 kHz 16-bit stereo, and the three
testing parts in their real folders with label files and non-ASCII song names. ``DIR/AudioSet/`` looks like
a collection made by ``python -m harmonylib collect-audioset``: a ``clips.csv`` manifest (one unavailable
video among them) and 10-s mono clips. The audio is a few seconds of tones and noise per clip, enough for
every reader, split and notebook of the ``full`` profile to run on it (``--data-dir DIR``); it says
nothing about instruments. Tests use it; so can anyone checking the full path without the real data.

With ``--weights``, ``DIR/weights/`` also gets the two pretrained checkpoints of the report in their
real formats but with *random* weights (:func:`make_weights`), for ``./run_all.sh --weights``: they
prove the loading path of the real checkpoints, not what pretraining gives.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from .. import io
from ..errors import HarmonyError
from ..labels import CLASSES
from ..reference import IRMAS_TEST_PARTS, IRMAS_TRAIN_SAMPLES
from .audioset import MANIFEST_COLUMNS

SR = 44100
# (song, excerpts, labels) of the testing data, one song per testing part at least, names as odd as IRMAS's
TEST_SONGS = (
    ("01 - Canto das três raças", 2, ("gac", "voi")),
    ("(02) dont kill the whale", 2, ("gel", "voi")),
    ("Zamfir - The Lonely Shepherd - 01", 1, ("flu", "pia")),
    ("0050_10CC___I_M_NOT_IN_LOVE", 2, ("org", "pia", "voi")),
    ("Miles - So What", 1, ("sax", "tru")),
    ("Bach — Suite 1", 2, ("cel", "vio")),
    ("Clarinet Quintet", 1, ("cla", "vio")),
)
DRUM_TOKENS = ("dru", "nod", "---")


def _tone(rng: np.random.Generator, samples: int, channels: int, pitch_hz: float) -> np.ndarray:
    t = np.arange(samples) / SR
    wave = 0.2 * np.sin(2 * np.pi * pitch_hz * t) + 0.02 * rng.standard_normal(samples)
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


def _write(path: Path, wave: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave, SR, subtype="PCM_16")


def make_irmas(root: Path, seed: int = 0) -> Path:
    """The IRMAS part of the fixture: two training clips per class, the test songs of :data:`TEST_SONGS`."""
    rng = np.random.default_rng(seed)
    for k, cls in enumerate(CLASSES):
        pitch = 110.0 * 2 ** (k / 4)
        token = DRUM_TOKENS[k % len(DRUM_TOKENS)]
        names = (f"[{cls}][cla]{k:04d}__1.wav", f"{k:03d}__[{cls}][{token}][pop_roc]{k + 100:04d}__2.wav")
        for name in names:
            _write(root / "IRMAS-TrainingData" / cls / name, _tone(rng, IRMAS_TRAIN_SAMPLES, 2, pitch))
    for i, (song, excerpts, labels) in enumerate(TEST_SONGS):
        folder, inner, _ = IRMAS_TEST_PARTS[i % len(IRMAS_TEST_PARTS)]
        for n in range(1, excerpts + 1):
            wav = root / folder / inner / f"{song}-{n}.wav"
            _write(wav, _tone(rng, int((5.02 if n == 2 else 6.0) * SR), 2, 220.0 + 20 * i))
            wav.with_suffix(".txt").write_text("".join(f"{code}\t\n" for code in labels))
    return root


def make_audioset(root: Path, seed: int = 0) -> Path:
    """The AudioSet part: 10-s mono clips of a collection in ``root/audio`` and its ``clips.csv`` manifest."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, cls in enumerate(CLASSES * 2):
        ytid = f"fixture{k:04d}"
        status = "unavailable" if k == 3 else "ok"
        if status == "ok":
            _write(root / "audio" / f"{ytid}.wav", _tone(rng, 10 * SR, 1, 110.0 * 2 ** (k % 11 / 4)))
        rows.append(dict(ytid=ytid, start_seconds="30.000", end_seconds="40.000", positive_labels="",
                         labels=cls, status=status, detail="Private video" if status != "ok" else ""))
    io.write_csv(root / "clips.csv", pd.DataFrame(rows, columns=MANIFEST_COLUMNS))
    return root


def make_weights(root: Path, seed: int = 0) -> dict[str, Path]:
    """Randomly initialised checkpoints in the formats of the report's pretrained ones, under ``root``:

    * ``resnet50.tv_in1k-random/model.safetensors``: the state dict of timm's 1000-class ResNet-50, the
      file the Hugging Face hub holds for ``timm/resnet50.tv_in1k``;
    * ``ast-finetuned-audioset-10-10-0.4593-random/``: a Hugging Face folder (``config.json`` +
      ``model.safetensors``) of ``ASTForAudioClassification`` with the published checkpoint's
      configuration (max_length 1024, 527 AudioSet labels), as ``save_pretrained`` writes it.

    Returns model name -> path, what ``./run_all.sh --weights MODEL=PATH`` takes.
    """
    import timm
    import torch
    from safetensors.torch import save_file
    from transformers import ASTConfig, ASTForAudioClassification

    torch.manual_seed(seed)
    resnet = root / "resnet50.tv_in1k-random" / "model.safetensors"
    resnet.parent.mkdir(parents=True, exist_ok=True)
    save_file(timm.create_model("resnet50", pretrained=False, num_classes=1000).state_dict(), str(resnet))
    ast = root / "ast-finetuned-audioset-10-10-0.4593-random"
    ASTForAudioClassification(ASTConfig(max_length=1024, num_labels=527)).save_pretrained(ast)
    return {"resnet50": resnet, "ast": ast}


def make_fixture(target: str | Path, seed: int = 0, weights: bool = False) -> Path:
    """Write the whole fixture under ``target`` (``IRMAS/`` and ``AudioSet/``, with ``weights`` also
    :func:`make_weights` into ``weights/``); returns ``target``. Refuses a ``target`` that already holds
    either data set, so it never mixes fake clips into real data."""
    target = Path(target)
    for part in ("IRMAS", "AudioSet"):
        if (target / part).exists() and any((target / part).iterdir()):
            raise HarmonyError(f"{part}/ is not empty: the fixture goes into a folder of its own", target)
    make_irmas(target / "IRMAS", seed)
    make_audioset(target / "AudioSet", seed)
    if weights:
        make_weights(target / "weights", seed)
    return target
