"""Name the instruments in any audio file with a trained run: ``python -m harmonylib predict AUDIO...``.

The command (:mod:`harmonylib.__main__`) and the final-model notebook use this module. A file is read
with :func:`harmonylib.audio.load` at any length, sample rate and channel count soundfile reads,
averaged to mono and resampled to the model's rate, cut into the run's windows
(:func:`harmonylib.windows.split`, last window zero-padded), turned into the model's input
(:func:`harmonylib.inputs.make_input`), and the windows' sigmoid outputs are aggregated per file
with S1 or S2 (:func:`harmonylib.evaluate.aggregate`) and thresholded (:func:`~harmonylib.evaluate.binarize`).

The run folder (:mod:`harmonylib.runs`) gives the model's configuration, its selected checkpoint
(safetensors: no pickled code is ever loaded) and the record of how its input is made; the input
itself follows from the model (``harmonylib.recipes.MODEL_INPUTS``).

``build/final_model.json`` names the run the last ``./run_all.sh`` chose as the final model
(:func:`register_final_model`); the command uses it unless ``--model`` is given.
"""
from __future__ import annotations

import io as _io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import paths, runs
from .errors import ConfigError, HarmonyError
from .io import write_bytes, write_json
from .labels import CLASS_COLORS, CLASS_NAMES, CLASSES

BATCH = 32  # windows per forward pass


def final_model_file() -> Path:
    return paths.build_dir() / "final_model.json"


def register_final_model(run_dir: str | Path) -> Path:
    """Make ``run_dir`` the model ``python -m harmonylib predict`` uses by default (``build/final_model.json``).

    Checks first that predict can load the run. Called by the final-model notebook.
    """
    run_dir = Path(run_dir).resolve()
    load_predictor(run_dir, device="cpu")
    write_json(final_model_file(), {"run_dir": str(run_dir)})
    return final_model_file()


def final_model_dir() -> Path:
    """The run folder registered by the last ``./run_all.sh``; :class:`ConfigError` if there is none."""
    record = final_model_file()
    if not record.exists():
        raise ConfigError("no final model registered yet: run ./run_all.sh (the final-model notebook registers "
                          "one) or name a run folder with --model RUN_DIR", record)
    return Path(json.loads(record.read_text())["run_dir"])


@dataclass
class Predictor:
    """A trained model ready for prediction, with everything needed to feed it."""

    run_dir: Path
    model: torch.nn.Module
    model_input: torch.nn.Module
    name: str
    weights: str
    sample_rate: int
    window: float
    device: torch.device


def load_predictor(run_dir: str | Path, device=None) -> Predictor:
    """The model of a run folder with its best checkpoint and its input module; :class:`HarmonyError` naming
    what is missing or wrong."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .config import get_profile
    from .inputs import make_input
    from .models import build_model
    from .recipes import MODEL_INPUTS

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HarmonyError("run folder does not exist", run_dir)
    config = runs.read_json(run_dir / runs.CONFIG)
    record, input_state = runs.read_model_input(run_dir)
    name = config.get("model")
    if name not in MODEL_INPUTS:
        raise HarmonyError(f"the run's configuration names no known model ({name!r})", run_dir)
    profile = get_profile(record["profile"])
    device = torch.device(device) if device is not None else profile.torch_device()
    model_config = {k: v for k, v in config.get("model_config", {}).items() if k != "num_classes"}
    model = build_model(name, pretrained=False, **model_config)
    checkpoint = runs.best_checkpoint(run_dir)
    try:
        model.load_state_dict(load_file(str(checkpoint)))
        model_input = make_input(MODEL_INPUTS[name], profile, record["mean"], record["std"],
                                 model_config.get("max_length", 100), options=record.get("options"))
        model_input.load_state_dict(load_file(str(input_state)))
    except (SafetensorError, RuntimeError, OSError) as error:
        raise HarmonyError(f"cannot load the run's weights ({type(error).__name__}: {error})", run_dir) from None
    model.to(device).eval()
    model_input.to(device).eval()
    weights = f"trained in run {run_dir.name}; initial weights: {config.get('weights', 'unknown')}"
    return Predictor(run_dir, model, model_input, name, weights, profile.features.sample_rate,
                     float(record["window"]), device)


@dataclass
class FilePrediction:
    """What predict found in one file; ``error`` says why a file could not be used (then nothing else is set)."""

    path: Path
    error: str | None = None
    duration: float = 0.0  # seconds
    sample_rate: int = 0  # the file's own
    channels: int = 0
    window_probs: np.ndarray | None = None  # (windows, 11) sigmoid outputs
    scores: np.ndarray | None = None  # (11,) aggregated
    found: np.ndarray | None = None  # (11,) 0/1

    def instruments(self) -> list[tuple[str, float]]:
        """(class code, score) of the instruments found, strongest first."""
        hits = [(CLASSES[i], float(self.scores[i])) for i in np.flatnonzero(self.found)]
        return sorted(hits, key=lambda hit: -hit[1])


@torch.no_grad()
def window_probabilities(predictor: Predictor, wave: np.ndarray, window: float) -> np.ndarray:
    """Sigmoid outputs (windows, 11) of ``predictor``'s model for every ``window``-second window of a mono waveform."""
    from .windows import split

    windows = split(wave, max(1, int(round(window * predictor.sample_rate))), last="pad")
    probs = []
    for start in range(0, len(windows), BATCH):
        batch = torch.from_numpy(windows[start:start + BATCH]).to(predictor.device)
        probs.append(torch.sigmoid(predictor.model(predictor.model_input(batch)).float()).cpu().numpy())
    return np.concatenate(probs)


def predict_file(predictor: Predictor, path: str | Path, window: float | None = None, strategy: str = "S2",
                 threshold: float = 0.5) -> FilePrediction:
    """Instruments in one audio file; an unusable file gives a :class:`FilePrediction` with ``error`` set."""
    from . import audio
    from .evaluate import aggregate, binarize

    path = Path(path)
    try:
        header = audio.info(path)
        wave, _ = audio.load(path, sr=predictor.sample_rate, mono=True)
    except HarmonyError as error:
        return FilePrediction(path, error=error.problem)
    probs = window_probabilities(predictor, wave, window or predictor.window)
    scores = aggregate(probs, strategy)
    return FilePrediction(path, None, header.frames / header.samplerate, header.samplerate, header.channels,
                          probs, scores, binarize(scores, threshold))


def timeline_figure(result: FilePrediction, window: float, threshold: float):
    """Per-window probabilities over time, one row per class in its colour; the threshold dashed."""
    import matplotlib.pyplot as plt

    probs = result.window_probs
    edges = np.arange(len(probs) + 1) * window
    edges[-1] = max(result.duration, edges[-2])  # the last, zero-padded window ends with the audio
    fig, axes = plt.subplots(len(CLASSES), 1, figsize=(8, 0.42 * len(CLASSES) + 1.2), sharex=True,
                             layout="constrained")
    for i, (ax, code) in enumerate(zip(axes, CLASSES)):
        values = np.append(probs[:, i], probs[-1, i])
        ax.fill_between(edges, values, step="post", color=CLASS_COLORS[code], alpha=0.8, linewidth=0)
        ax.axhline(threshold, color="0.3", linestyle="--", linewidth=0.7)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_ylabel(code, rotation=0, ha="right", va="center",
                      fontweight="bold" if result.found[i] else "normal")
        ax.set_xlim(0, edges[-1])
    axes[-1].set_xlabel("time (s)")
    fig.supylabel("probability per class (0 to 1)", fontsize=9)
    found = ", ".join(CLASS_NAMES[code] for code, _ in result.instruments()) or "none"
    axes[0].set_title(f"{result.path.name}: probability per {window:g}-s window (0 to 1; dashed: threshold "
                      f"{threshold:g})\nfound: {found}", fontsize=9)
    return fig


def save_timeline(result: FilePrediction, window: float, threshold: float, target: str | Path) -> Path:
    """Write :func:`timeline_figure` of one file as a PNG (atomically)."""
    import matplotlib.pyplot as plt

    fig = timeline_figure(result, window, threshold)
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    write_bytes(target, buffer.getvalue())
    return Path(target)
