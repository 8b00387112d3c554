"""The training engine (harmonylib.train): schedules, accumulation, run folders, resume after kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from harmonylib.errors import ConfigError, HarmonyError
from harmonylib.evaluate import aggregate
from harmonylib.models import build_model
from harmonylib.recipes import paper_groups
from harmonylib.runs import load_checkpoint, read_predictions, save_predictions
from harmonylib.train import (OptimGroup, TrainSettings, fit, lr_schedule, make_optimizers, predict_windows,
                              steps_per_epoch, training_step_memory)

REPO = Path(__file__).resolve().parent.parent


class ToyData(torch.utils.data.Dataset):
    """Multi-label 'waveforms' of 64 samples: noise plus a fixed template per present class.

    ``windows=None`` gives training items (wave, target); otherwise each clip has ``windows``
    windows and items are (wave, target, clip index), like an evaluation set.
    """

    def __init__(self, clips: int, windows: int | None = None, seed: int = 0, delay: float = 0.0):
        generator = torch.Generator().manual_seed(seed)
        templates = torch.randn(11, 64, generator=torch.Generator().manual_seed(99))
        self.y = (torch.rand(clips, 11, generator=generator) < 0.2).float()
        self.windows = windows
        per_clip = windows or 1
        self.x = torch.randn(clips * per_clip, 64, generator=generator) * 0.5
        self.x += self.y.repeat_interleave(per_clip, 0) @ templates
        self.delay = delay

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        clip = i // (self.windows or 1)
        return (self.x[i], self.y[clip]) if self.windows is None else (self.x[i], self.y[clip], clip)


def toy_model(seed: int = 0, dropout: float = 0.2) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 11))
    model.harmony_name = "toy"
    return model


def settings(**changes) -> TrainSettings:
    base = dict(model="toy", epochs=2, batch_size=8, groups=paper_groups("raw_cnn"), seed=3)
    return TrainSettings(**{**base, **changes})


def identity(wave):
    return wave


def weights_of(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_settings_refuse_unknown_selection_and_rising_rates():
    with pytest.raises(ConfigError):
        settings(select="accuracy")
    with pytest.raises(ConfigError):
        settings(groups=(OptimGroup("all", 1e-5, 1e-3, 0.0),))


def test_schedule_warms_up_linearly_then_decays_to_the_final_rate():
    rates = lr_schedule(OptimGroup("all", 1e-3, 1e-5, 0.0), total_steps=200, warmup=0.05, power=0.7)
    assert rates[0] == 0 and rates[10] == pytest.approx(1e-3)
    np.testing.assert_allclose(rates[:11], np.linspace(0, 1e-3, 11))
    assert np.all(np.diff(rates[10:]) < 0)
    assert rates[-1] == pytest.approx(1e-5 + (1e-3 - 1e-5) * (1 / 190) ** 0.7)
    halfway = 10 + 95
    assert rates[halfway] == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5 ** 0.7)


def test_a_run_of_one_or_two_steps_has_a_schedule():
    # a fast dev run takes one optimiser step: the warm-up must leave the decay at least one step
    group = OptimGroup("all", 1e-3, 1e-5, 0.0)
    np.testing.assert_allclose(lr_schedule(group, total_steps=1, warmup=0.05, power=0.7), [1e-3])
    np.testing.assert_allclose(lr_schedule(group, total_steps=2, warmup=0.05, power=0.7), [0, 1e-3])


def test_ast_groups_end_at_their_own_final_rates():
    model = build_model("ast", max_length=100, num_hidden_layers=1, hidden_size=64)
    optimizers, schedulers = make_optimizers(model, paper_groups("ast"), total_steps=20, warmup=0.05, power=0.7)
    assert [len(o.param_groups[0]["params"]) for o in optimizers] == [len(list(model.parameters())) - 4, 4]
    for _ in range(20):
        for optimizer, scheduler in zip(optimizers, schedulers):
            optimizer.step()
            scheduler.step()
    assert optimizers[0].param_groups[0]["lr"] == pytest.approx(2e-6)
    assert optimizers[1].param_groups[0]["lr"] == pytest.approx(1e-4)


def test_accumulation_averages_like_one_large_batch(tmp_path):
    # no dropout: the two runs differ only in how the 8-sample step is split
    big = toy_model(dropout=0.0)
    fit(big, ToyData(64), ToyData(8, 2), settings(batch_size=8), tmp_path / "big", identity, log=lambda m: None)
    small = toy_model(dropout=0.0)
    fit(small, ToyData(64), ToyData(8, 2), settings(batch_size=4, accumulation_steps=2), tmp_path / "acc",
        identity, log=lambda m: None)
    for key, value in big.state_dict().items():
        torch.testing.assert_close(small.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    assert steps_per_epoch(settings(batch_size=4, accumulation_steps=2), 64) == (16, 8)
    assert steps_per_epoch(settings(batch_size=4, accumulation_steps=3), 64) == (16, 6)


def test_fit_writes_run_folder_and_learns(tmp_path):
    model = toy_model()
    result = fit(model, ToyData(256), ToyData(40, 3, seed=7), settings(epochs=8), tmp_path / "run", identity,
                 log=lambda m: None)
    run = tmp_path / "run"
    for name in ("config.json", "metrics.csv", "run.json", "best/model.safetensors", "best/info.json"):
        assert (run / name).exists(), name
    assert not (run / "last.json").exists() and not (run / "last").exists()  # finished: no resume point
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics["epoch"]) == list(range(8))
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "finished" and summary["peak_memory_bytes"] > 0
    assert result.summary == summary and len(result.metrics) == 8
    assert summary["samples_per_second"] > 0 and summary["weights"] == "unknown"
    assert summary["best_epoch"] == int(metrics["val_macro_f1"].idxmax())
    # the all-positive baseline's macro F1 on the same validation clips
    y = ToyData(40, 3, seed=7).y.numpy()
    baseline = np.mean(2 * y.mean(0) / (1 + y.mean(0)))
    assert metrics["val_macro_f1"].max() > baseline + 0.15
    # the model returned holds the best checkpoint
    best = toy_model()
    load_checkpoint(best, run, "best")
    for key, value in best.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    # finished: a second call trains nothing
    again = fit(toy_model(seed=9), ToyData(256), ToyData(40, 3, seed=7), settings(epochs=8), run, identity)
    assert again.summary == summary
    # other settings in the same folder: the stale run is set aside, not lost, and a new one is made
    changed = fit(toy_model(), ToyData(256), ToyData(40, 3, seed=7), settings(epochs=2), run, identity,
                  log=lambda m: None)
    assert list(changed.metrics["epoch"]) == [0, 1]
    kept = tmp_path / "run.superseded-1"
    assert json.loads((kept / "run.json").read_text()) == summary


def test_resume_after_stop_equals_uninterrupted_run(tmp_path):
    train, val = ToyData(96), ToyData(12, 2, seed=4)
    whole = toy_model()
    fit(whole, train, val, settings(epochs=3), tmp_path / "whole", identity, log=lambda m: None)
    first = toy_model()
    partial = fit(first, train, val, settings(epochs=3), tmp_path / "split", identity, stop_after_epoch=0,
                  resume_every=0, log=lambda m: None)
    assert partial.summary["status"] == "interrupted"
    resumed = toy_model(seed=5)  # a fresh process would start from other weights
    fit(resumed, train, val, settings(epochs=3), tmp_path / "split", identity, log=lambda m: None)
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value)
    a = pd.read_csv(tmp_path / "whole" / "metrics.csv")
    b = pd.read_csv(tmp_path / "split" / "metrics.csv")
    assert list(b["epoch"]) == [0, 1, 2]
    timing = ["train_seconds", "train_cpu_seconds", "val_seconds", "samples_per_second", "checkpoint_seconds"]
    pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing))


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_train import ToyData, toy_model, settings, identity
from harmonylib.train import fit
fit(toy_model(), ToyData(96, delay={delay}), ToyData(12, 2, seed=4), settings(epochs=2), {run!r}, identity,
    resume_every=0)
"""


def test_an_unfinished_run_keeps_only_its_newest_resume_point(tmp_path):
    fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=4), tmp_path / "run", identity,
        stop_after_epoch=1, resume_every=0, log=lambda m: None)
    assert [p.name for p in (tmp_path / "run" / "last").iterdir()] == ["epoch_001"]
    assert json.loads((tmp_path / "run" / "last.json").read_text())["epoch"] == 1
    # stopped after its summary but before the clean-up: the next call finds it finished and cleans up
    fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=4), tmp_path / "run", identity, log=lambda m: None)
    (tmp_path / "run" / "last").mkdir()
    (tmp_path / "run" / "last.json").write_text("{}")
    fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=4), tmp_path / "run", identity, log=lambda m: None)
    assert not (tmp_path / "run" / "last").exists() and not (tmp_path / "run" / "last.json").exists()


def test_resume_points_follow_training_time_and_skip_the_last_epoch(tmp_path):
    seldom = fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=3), tmp_path / "seldom", identity,
                 stop_after_epoch=1, resume_every=1e9, log=lambda m: None)
    assert not (tmp_path / "seldom" / "last.json").exists() and list(seldom.metrics["epoch"]) == [0, 1]
    assert list(pd.read_csv(tmp_path / "seldom" / "metrics.csv")["epoch"]) == [0, 1]  # metrics every epoch
    fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=3), tmp_path / "often", identity,
        stop_after_epoch=2, resume_every=0, log=lambda m: None)  # stopped after the last epoch, before the summary
    assert json.loads((tmp_path / "often" / "last.json").read_text())["epoch"] == 1


def test_resume_after_kill_9(tmp_path):
    run = tmp_path / "killed"
    script = KILL_SCRIPT.format(tests=str(REPO / "tests"), delay=0.01, run=str(run))
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (run / "last.json").exists():  # epoch 1 finished: kill -9 somewhere inside epoch 2
        assert process.poll() is None and time.monotonic() < deadline, "training process ended early"
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert json.loads((run / "last.json").read_text())["epoch"] == 0
    assert not (run / "run.json").exists()
    resumed = toy_model(seed=8)
    fit(resumed, ToyData(96), ToyData(12, 2, seed=4), settings(epochs=2), run, identity, log=lambda m: None)
    whole = toy_model()
    fit(whole, ToyData(96), ToyData(12, 2, seed=4), settings(epochs=2), tmp_path / "whole", identity,
        log=lambda m: None)
    assert list(pd.read_csv(run / "metrics.csv")["epoch"]) == [0, 1]
    for key, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value)


def test_selection_criteria(tmp_path):
    train, val = ToyData(96), ToyData(12, 2, seed=4)
    for select, column, best in (("s2_bce", "val_s2_bce", "idxmin"), ("clip_bce", "val_clip_bce", "idxmin")):
        result = fit(toy_model(), train, val, settings(epochs=3, select=select), tmp_path / select, identity,
                     log=lambda m: None)
        assert result.summary["best_epoch"] == getattr(result.metrics[column], best)()
    # why s2_bce is degenerate: S2 scores the top class 1 whatever the model believes
    assert aggregate(np.full((3, 11), 0.01), "S2").max() == 1.0


def test_predictions_keep_every_window_and_round_trip(tmp_path):
    data = ToyData(13, 1, seed=2)  # 13 windows with batches of 4: the last batch holds one window
    window = predict_windows(toy_model(), data, identity, "cpu", batch_size=4)
    assert window["probs"].shape == (13, 11) and list(window["clip_index"]) == list(range(13))
    ids = [f"clip{i}" for i in range(13)]
    back = read_predictions(save_predictions(tmp_path, "irmas", "test", window, ids))
    order = [ids.index(c) for c in back.clip_ids]  # the reader sorts clips by id
    assert sorted(back.clip_ids) == sorted(ids) and len(back.window_probs) == 13
    np.testing.assert_array_equal(back.labels, data.y.numpy().astype(np.int8)[order])
    np.testing.assert_allclose(np.concatenate(back.window_probs), window["probs"][order], rtol=1e-6)
    with pytest.raises(HarmonyError):
        save_predictions(tmp_path, "irmas", "val", window, ids[:5])


def test_training_step_memory_counts_parameters_gradients_adam_state_and_saved_activations():
    model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 3))
    model[2].bias.requires_grad_(False)  # frozen: memory, but no gradient and no optimiser state
    before = {k: v.clone() for k, v in model.state_dict().items()}
    memory = training_step_memory(model, torch.randn(4, 10))
    trainable = (10 * 5 + 5 + 5 * 3) * 4  # float32 bytes
    assert memory["parameters"] == trainable + 3 * 4
    assert memory["gradients"] == trainable and memory["optimiser state"] == 2 * trainable
    # saved for backward: the input (for the first weight's gradient) and ReLU's output, which ReLU saves for
    # its own gradient and the last Linear for its weight's: one storage, counted once; parameters are not
    # activations
    assert memory["activations"] == (4 * 10 + 4 * 5) * 4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_training_step_memory_leaves_batch_norm_statistics_alone():
    model = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4)).eval()
    running = model[1].running_mean.clone()
    memory = training_step_memory(model, torch.randn(8, 6) + 3)
    assert torch.equal(model[1].running_mean, running) and not model.training and memory["activations"] > 0


def test_validation_inputs_are_computed_once_per_run_unless_too_large(tmp_path, monkeypatch):
    import harmonylib.train as engine

    val, seen = ToyData(8, 2), []

    def counting(wave):
        seen.append(len(wave))
        return wave

    def run(name):
        seen.clear()
        return fit(toy_model(), ToyData(64), val, settings(epochs=3), tmp_path / name, counting,
                   train_input=lambda wave, generator: wave, log=lambda m: None)

    cached = run("cached")
    assert sum(seen) == len(val)  # the first validation pass computed them; the next two reused them
    monkeypatch.setattr(engine, "VALIDATION_CACHE_BYTES", 0)
    computed = run("computed")
    assert sum(seen) == 3 * len(val)
    columns = ["val_loss", "val_macro_f1", "train_loss"]
    pd.testing.assert_frame_equal(cached.metrics[columns], computed.metrics[columns])


def test_a_run_resumed_before_its_best_epoch_keeps_summary_and_checkpoint_in_step(tmp_path):
    run = tmp_path / "run"
    fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=3), run, identity, stop_after_epoch=0,
        resume_every=0, log=lambda m: None)
    info = json.loads((run / "best" / "info.json").read_text())  # what a later, lost epoch 1 could have left
    (run / "best" / "info.json").write_text(json.dumps({**info, "epoch": 1, "val_macro_f1": 1.0}))
    result = fit(toy_model(), ToyData(64), ToyData(8, 2), settings(epochs=3), run, identity, log=lambda m: None)
    assert result.summary["best_epoch"] == json.loads((run / "best" / "info.json").read_text())["epoch"] == 1
