"""The predict command (harmonylib.predict, python -m harmonylib predict) on tiny randomly initialised runs.

Run folders are written as the training notebooks write them (harmonylib.train.fit, then
harmonylib.runs.save_model_input); audio files at odd
rates and channel counts, very short ones, and a corrupt one.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from harmonylib import paths
from harmonylib.__main__ import main
from harmonylib.config import get_profile
from harmonylib.errors import ConfigError, HarmonyError
from harmonylib.inputs import make_input
from harmonylib.labels import CLASSES
from harmonylib.models import build_model
from harmonylib.predict import (final_model_dir, load_predictor, predict_file, register_final_model,
                                window_probabilities)
from harmonylib.recipes import MODEL_INPUTS, model_config, settings_for
from harmonylib.runs import save_model_input
from harmonylib.train import fit

from conftest import write_pickle_payload


class _Noise(torch.utils.data.Dataset):
    """A few 1-s windows of noise with random labels: training items (wave, target), evaluation ones with a clip index."""

    def __init__(self, n: int, clips: bool, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.waves = 0.1 * torch.randn(n, 44100, generator=g)
        self.targets = (torch.rand(n, len(CLASSES), generator=g) < 0.3).float()
        self.clips = clips

    def __len__(self):
        return len(self.waves)

    def __getitem__(self, i):
        return (self.waves[i], self.targets[i], i) if self.clips else (self.waves[i], self.targets[i])


def _write_run(folder: Path, name: str, window: float = 1.0) -> Path:
    """A run folder as the training notebooks leave it: one epoch (two steps) of harmonylib.train.fit on noise (nothing is
    learnt), then save_model_input."""
    P = get_profile("smoke")
    torch.manual_seed(0)
    model = build_model(name, **model_config(name, P, window))
    module = make_input(MODEL_INPUTS[name], P, 0.0, 0.1, max_length=int(round(100 * window))).to("cpu")
    if name == "features_cnn":
        module.fit([torch.randn(2, 44100) * 0.1])
    settings = dataclasses.replace(settings_for(name, P, epochs=1), batch_size=2)
    fit(model, _Noise(4, False, 1), _Noise(2, True, 2), settings, folder, module,
        device="cpu", log=lambda message: None)
    save_model_input(folder, module, P, 0.0, 0.1, window)
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return _write_run(tmp_path_factory.mktemp("runs") / "smoke-raw_cnn_w1", "raw_cnn")


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """8 kHz mono 2.5 s, 96 kHz 6-channel 1.2 s, 44.1 kHz stereo 0.05 s (shorter than a window), a corrupt file."""
    folder = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    files = {"mono8k.wav": (8000, 2.5, 1), "six96k.flac": (96000, 1.2, 6), "tiny.wav": (44100, 0.05, 2)}
    for name, (rate, seconds, channels) in files.items():
        sf.write(folder / name, 0.1 * rng.standard_normal((int(rate * seconds), channels)), rate)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    return {name.split(".")[0]: folder / name for name in [*files, "corrupt.wav"]}


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(["predict", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_readable_file_is_predicted_and_the_corrupt_one_named(run_dir, audio, capsys):
    code, out, err = _run(capsys, audio["mono8k"], audio["six96k"], audio["corrupt"], audio["tiny"],
                          "--model", run_dir, "--format", "json")
    assert code == 1
    assert str(audio["corrupt"]) in err and "not a readable audio file" in err
    files = {Path(f["file"]).stem: f for f in json.loads(out)["files"]}
    assert files["corrupt"]["error"] and "instruments" not in files["corrupt"]
    assert (files["mono8k"]["sample_rate"], files["mono8k"]["channels"], files["mono8k"]["windows"]) == (8000, 1, 3)
    assert (files["six96k"]["sample_rate"], files["six96k"]["channels"], files["six96k"]["windows"]) == (96000, 6, 2)
    assert files["tiny"]["windows"] == 1 and files["tiny"]["duration_s"] == pytest.approx(0.05)
    for name in ("mono8k", "six96k", "tiny"):
        scores = files[name]["scores"]
        assert list(scores) == list(CLASSES)
        assert max(scores.values()) == pytest.approx(1.0)  # S2: the strongest class scores 1
        found = {i["code"] for i in files[name]["instruments"]}
        assert found == {c for c, s in scores.items() if s > 0.5}


def test_all_good_files_exit_0_and_table_names_instruments(run_dir, audio, capsys):
    code, out, err = _run(capsys, audio["mono8k"], "--model", run_dir)
    assert code == 0 and not err
    assert f"{audio['mono8k']}  (2.50 s, 8000 Hz, 1 channel(s), 3 window(s))" in out
    result = predict_file(load_predictor(run_dir, "cpu"), audio["mono8k"])
    for code_, score in result.instruments():
        assert f"  {code_}  " in out and f"{score:.3f}" in out


def test_csv_has_one_row_per_file_with_status_and_scores(run_dir, audio, capsys):
    code, out, _ = _run(capsys, audio["six96k"], audio["corrupt"], "--model", run_dir, "--format", "csv",
                        "--strategy", "S1", "--threshold", "0.3")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["status"] for r in rows] == ["ok", "error"]
    assert rows[1]["error"] and rows[1][CLASSES[0]] == ""
    scores = np.array([float(rows[0][c]) for c in CLASSES])
    assert set(rows[0]["instruments"].split()) == {c for c, s in zip(CLASSES, scores) if s > 0.3}
    run = load_predictor(run_dir, "cpu")
    wave = __import__("harmonylib.audio", fromlist=["load"]).load(audio["six96k"], sr=44100, mono=True)[0]
    expected = window_probabilities(run, wave, 1.0).mean(axis=0)  # S1
    np.testing.assert_allclose(scores, expected, atol=1e-4)


def test_window_option_changes_the_number_of_windows(run_dir, audio, capsys):
    code, out, err = _run(capsys, audio["mono8k"], "--model", run_dir, "--window", "0.5", "--format", "json")
    assert code == 0 and "trained on 1-s windows" in err
    assert json.loads(out)["files"][0]["windows"] == 5


def test_timeline_png_per_file(run_dir, audio, tmp_path, capsys):
    target = tmp_path / "timeline.png"
    code, _, _ = _run(capsys, audio["mono8k"], "--model", run_dir, "--timeline", target)
    assert code == 0
    image = __import__("matplotlib.image", fromlist=["imread"]).imread(target)
    assert image.shape[0] > 300 and image.shape[1] > 500
    code, _, _ = _run(capsys, audio["mono8k"], audio["corrupt"], audio["tiny"], "--model", run_dir,
                      "--timeline", tmp_path / "t.png")
    assert code == 1
    assert sorted(p.name for p in tmp_path.glob("t-*.png")) == ["t-mono8k.png", "t-tiny.png"]


def test_features_and_ast_runs_load_and_predict(tmp_path, audio):
    for name in ("features_cnn", "ast"):
        run = load_predictor(_write_run(tmp_path / name, name), "cpu")
        result = predict_file(run, audio["six96k"])
        assert result.error is None and result.window_probs.shape == (2, len(CLASSES))
        assert np.all((result.window_probs >= 0) & (result.window_probs <= 1))
    features = load_predictor(tmp_path / "features_cnn", "cpu").model_input
    assert bool(features.fitted) and not torch.all(features.row_std == 1)  # the fitted statistics came back


def test_usage_and_model_errors_exit_2(run_dir, audio, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    code, _, err = _run(capsys, audio["mono8k"])
    assert code == 2 and "no final model registered" in err and "--model" in err
    code, _, err = _run(capsys, audio["mono8k"], "--model", tmp_path / "nowhere")
    assert code == 2 and "run folder does not exist" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    code, _, err = _run(capsys, audio["mono8k"], "--model", broken)
    assert code == 2 and "input.json" in err
    with pytest.raises(SystemExit) as exit_:
        main(["predict", str(audio["mono8k"]), "--format", "xml"])
    assert exit_.value.code == 2
    code, _, err = _run(capsys, audio["mono8k"], "--model", run_dir, "--window", "0")
    assert code == 2


def test_a_run_with_its_own_mfcc_count_is_predicted_with_that_count(tmp_path):
    from harmonylib.inputs import MFCCInput

    folder = tmp_path / "smoke-mfcc_cnn_w1_13mfcc"
    P = get_profile("smoke")
    model = build_model("mfcc_cnn")
    module = MFCCInput(0.0, 0.1, n_mfcc=13, height=40)
    settings = dataclasses.replace(settings_for("mfcc_cnn", P, epochs=1), batch_size=2)
    fit(model, _Noise(4, False, 1), _Noise(2, True, 2), settings, folder, module, device="cpu", log=lambda message: None)
    save_model_input(folder, module, P, 0.0, 0.1, 1.0)
    predictor = load_predictor(folder, "cpu")
    assert predictor.model_input.options == {"n_mfcc": 13, "height": 40}
    wave = torch.randn(2, 44100) * 0.1
    torch.testing.assert_close(predictor.model_input(wave), module(wave))


def test_pickled_checkpoints_are_never_loaded(run_dir, tmp_path):
    import shutil

    evil = tmp_path / "evil"
    shutil.copytree(run_dir, evil)
    write_pickle_payload(evil / "best" / "model.safetensors", tmp_path / "pickle-ran")
    with pytest.raises(HarmonyError, match="cannot load the run's weights"):
        load_predictor(evil, "cpu")
    assert not (tmp_path / "pickle-ran").exists()  # the pickle's code never ran


def test_register_final_model_is_the_default(run_dir, audio, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    with pytest.raises(ConfigError):
        final_model_dir()
    with pytest.raises(HarmonyError):
        register_final_model(tmp_path / "not-a-run")
    record = register_final_model(run_dir)
    assert record == paths.build_dir() / "final_model.json"
    assert final_model_dir() == run_dir.resolve()
    code, out, _ = _run(capsys, audio["mono8k"])
    assert code == 0 and str(run_dir.resolve()) in out


def test_python_dash_m_entry_point(run_dir, audio):
    done = subprocess.run([sys.executable, "-m", "harmonylib", "predict", str(audio["tiny"]), "--model", str(run_dir),
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"][0]["windows"] == 1
