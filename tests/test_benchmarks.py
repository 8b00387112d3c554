"""The input pipeline benchmark (benchmarks/input_pipeline.py) runs end to end at tiny sizes.

Not a timing test: the numbers of a smoke run on a shared machine mean nothing. It checks that both
recipes produce every input type and train both models, that the CSV is written (with each model's FLOPs
per step, achieved FLOP/s and flop efficiency), and that the run ends with the summary lines the README
and the Figure 5.7 notebook quote. The complete run is the one
notebook 56 makes in the smoke run (every part, 8 items); it is read here, not run again.

The time breakdown of a ``./run_all.sh`` (benchmarks/time_breakdown.py) is checked on a synthetic build
folder whose every second is known, and on what the smoke run left behind.

The GPU check (benchmarks/gpu_check.py) runs its CPU dry run at tiny sizes; its projection of the chapter-5
grid is checked against step counts worked out from the profiles' data sizes, and its GPU utilisation reader
against a stand-in ``nvidia-smi``; benchmarks/gpu_check.sh must be valid bash.
"""
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import torch
from conftest import require_smoke_run

from harmonylib import cost, paths
from harmonylib.config import get_profile
from harmonylib.inputs import INPUT_KINDS
from harmonylib.models import build_model

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "input_pipeline.py"
SIDE = get_profile("smoke").train.image_size


def test_the_smoke_runs_benchmark_measured_every_part_and_ends_with_summary_lines():
    notebook = paths.build_dir() / "notebooks" / "smoke" / "56_computational_cost.ipynb"
    written = paths.build_dir() / "benchmarks" / "input_pipeline_smoke_notebook56.csv"
    require_smoke_run(notebook, written)
    printed = "".join(output.get("text", "") for cell in nbformat.read(notebook, as_version=4).cells
                      if cell.cell_type == "code" and "BENCHMARK" in cell.source for output in cell.outputs)
    summary = [line for line in printed.splitlines() if line.startswith(("speedup", "efficiency"))]
    assert len(summary) == len(INPUT_KINDS) + 2, printed
    for kind, line in zip(INPUT_KINDS, summary):
        assert re.fullmatch(rf"speedup {kind}: \d+\.\dx", line), line
    assert re.fullmatch(r"efficiency resnet50: \d+\.\d\d", summary[-2]), summary[-2]
    assert re.fullmatch(r"efficiency raw_cnn: \d+\.\d\d", summary[-1]), summary[-1]

    table = pd.read_csv(written)
    throughput = table[table["measure"] == "throughput"]
    assert sorted(throughput["name"].unique()) == sorted(INPUT_KINDS)
    assert set(throughput["recipe"]) == {"original", "ours"}
    assert (throughput["items"] >= 8).all() and (table["per_second"] > 0).all()
    shapes = throughput.pivot(index="name", columns="recipe", values="input_shape")
    assert (shapes["original"] == shapes["ours"]).all(), shapes  # both recipes make the same inputs
    assert shapes.loc["mel", "ours"] == f"3x{SIDE}x{SIDE}" and shapes.loc["features", "ours"] == "40x87"
    stages = table[table["measure"] == "breakdown"]
    assert set(stages["stage"]) == {"read window", "pitch shift", "time shift + noise", "model input"}
    training = table[table["measure"] == "training"].set_index(["name", "recipe"])
    assert set(training.index) == {(m, r) for m in ("resnet50", "raw_cnn") for r in ("model only", "original", "ours")}
    assert training.loc[("resnet50", "ours"), "input_shape"] == f"3x{SIDE}x{SIDE}"  # the profile's image size
    assert training.loc[("raw_cnn", "ours"), "input_shape"] == "1x44100"
    _check_flop_columns(table)


def _check_flop_columns(table: pd.DataFrame) -> None:
    """Every training row has its model's FLOPs per step, its achieved FLOP/s and, over the run's one measured
    matrix-product rate, its flop efficiency."""
    training = table[table["measure"] == "training"]
    assert (training["step_flops"] > 0).all() and training.groupby("name")["step_flops"].nunique().eq(1).all()
    assert training["matmul_flop_per_second"].nunique() == 1 and (training["matmul_flop_per_second"] > 0).all()
    achieved = (training["step_flops"] / training["batch_size"] * training["per_second"]).to_numpy()
    efficiency = achieved / training["matmul_flop_per_second"].to_numpy()
    assert training["flop_per_second"].to_numpy() == pytest.approx(achieved, rel=1e-4)  # the CSV keeps 6 digits
    assert training["flop_efficiency"].to_numpy() == pytest.approx(efficiency, rel=1e-4)
    assert table.loc[table["measure"] != "training", "flop_efficiency"].isna().all()


def test_benchmark_measures_another_image_size_into_its_own_file():
    done = subprocess.run([sys.executable, str(SCRIPT), "--profile", "smoke", "--items", "8", "--steps", "1",
                           "--repeats", "1", "--device", "cpu", "--inputs", "mel", "--models", "resnet50",
                           "--image-size", "24"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    written = re.search(r"results written to (\S+)", done.stdout).group(1)
    assert written.endswith("_image24.csv")
    table = pd.read_csv(written)
    assert set(table.loc[table["measure"] != "breakdown", "input_shape"]) == {"3x24x24"}
    _check_flop_columns(table)
    # the FLOPs of one step of the model on one batch of the measured input, as harmonylib.cost counts them
    batch = get_profile("smoke").train.batch_size
    step_flops = cost.training_step_flops(build_model("resnet50", pretrained=False), torch.zeros(batch, 3, 24, 24))
    assert table.loc[table["measure"] == "training", "step_flops"].to_numpy() == pytest.approx(step_flops, rel=1e-5)
    training = table[table["measure"] == "training"].set_index("recipe")
    efficiency, flop_efficiency = training.loc["ours", "ratio"], training.loc["model only", "flop_efficiency"]
    assert done.stdout.splitlines()[-2:] == [f"efficiency resnet50: {efficiency:.2f}",
                                             f"flop efficiency resnet50: {flop_efficiency:.2f}"]


# ------------------------------------------------------------------ benchmarks/time_breakdown.py
def _time_breakdown():
    spec = importlib.util.spec_from_file_location("time_breakdown", SCRIPT.parent / "time_breakdown.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(kind: str, source: str, seconds: float, tags=(), printed: str = ""):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.metadata.update(papermill={"duration": seconds}, tags=list(tags))
    if printed:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    return cell


def _stamped_notebook(build: Path, job: str, wall: float, cells: list) -> None:
    stamp = build / "stamps" / "default" / f"{job}.json"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"digest": "x", "elapsed_s": wall, "parameters": {}}))
    if cells:
        executed = build / "notebooks" / "default" / f"{job}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), executed)


def _run_folder(build: Path, name: str, rows: list[dict]) -> None:
    (build / "runs" / name).mkdir(parents=True)
    pd.DataFrame(rows).to_csv(build / "runs" / name / "metrics.csv", index=False)


def _synthetic_build(build: Path) -> None:
    """Two executed notebooks and a stamp without one, whose breakdown is known to the hundredth of a second."""
    _stamped_notebook(build, "10_data_sets", 10.0, [
        _cell("code", "import os\nprofile = 'default'", 0.5, tags=["parameters"]),
        _cell("code", "profile = 'default'", 0.25, tags=["injected-parameters"]),
        _cell("code", "import numpy as np\nfrom harmonylib import paths", 2.0),  # the first import cell
        _cell("code", "data = prepare(P, data_dir)", 3.0),
        _cell("markdown", "## prose", 0.25),
        _cell("code", "if show:\n    clip = prepare(P, data_dir).test", 1.0),  # not a top-level call: everything else
        _cell("code", "import matplotlib.pyplot as plt\nplt.plot(data.train)", 1.0),  # imports, but not the first
    ])  # cells 8.0 s of the 10.0: 2.0 s outside them
    epoch_lines = ("input (1, 44100); 1,000 parameters\n"
                   "epoch 1/2: train loss 0.5000, val loss 0.4000, val macro F1 0.100 (best), 10.0 s\n"
                   "epoch 2/2: train loss 0.4000, val loss 0.3000, val macro F1 0.200 (best), 12.0 s\n")
    _stamped_notebook(build, "experiments/raw_cnn_w1", 50.0, [
        _cell("code", "profile = 'default'", 0.5, tags=["parameters"]),
        _cell("code", "from harmonylib import recipes\njob = recipes.start_training('raw_cnn', profile)", 4.0),
        _cell("code", "result = recipes.train_run(job, model, model_input)", 32.0, printed=epoch_lines),
        _cell("code", "scores = recipes.predict_for_evaluation(job, result, model, model_input)", 6.0),
    ])  # cells 42.5 s of the 50.0
    _stamped_notebook(build, "report", 3.0, [])
    trained = [dict(epoch=0, train_loss=0.50003, train_seconds=10.02, val_seconds=3.0, checkpoint_seconds=0.5),
               dict(epoch=1, train_loss=0.39996, train_seconds=11.98, val_seconds=2.0, checkpoint_seconds=0.5)]
    _run_folder(build, "default-raw_cnn_w1", trained)
    _run_folder(build, "smoke-raw_cnn_w1", trained)  # another profile's run: never read
    _run_folder(build, "default-resnet50_w1",  # reused by no notebook run here; no checkpoint column
                [dict(epoch=0, train_loss=0.7, train_seconds=100.0, val_seconds=20.0)])


def test_time_breakdown_of_a_synthetic_build_adds_up_to_the_known_seconds(tmp_path, capsys):
    tb = _time_breakdown()
    _synthetic_build(tmp_path)
    cells, reused = tb.breakdown(tmp_path, "default")
    table = tb.summary(cells).round(6)
    expected = {
        "data and model inputs (00-22)": {tb.KERNEL: 4.75, tb.DATA: 3.0, tb.OTHER: 2.25},
        "training experiments (30-34)": {tb.KERNEL: 8.0, tb.DATA: 4.0, tb.STEPS: 22.0, tb.VALIDATION: 5.0,
                                         tb.CHECKPOINTS: 1.0, tb.PREDICTIONS: 6.0, tb.OTHER: 4.0},
        "report": {tb.OTHER: 3.0},
    }
    assert list(table.index) == [*expected, "total"]
    for part, seconds in expected.items():
        assert table.loc[part, list(tb.CATEGORIES)].to_dict() == {c: seconds.get(c, 0.0) for c in tb.CATEGORIES}, part
        assert table.loc[part, "wall"] == sum(seconds.values())
    assert table.loc["total", "wall"] == 63.0 and table.loc["total", "notebook runs"] == 3
    assert reused[["run", "epoch", "train_seconds", "checkpoint_seconds"]].values.tolist() == [
        ["default-resnet50_w1", 0, 100.0, 0.0]]

    written = tmp_path / "breakdown.md"
    printed = tb.main(["--build-dir", str(tmp_path), "--output", str(written)])
    assert capsys.readouterr().out == printed == written.read_text()
    assert re.search(r"\| total +\| +3 \| +63 \| 100% +\| 13 \(20%\) +\| 7 \(11%\) +\| 22 \(35%\)", printed), printed
    assert "1 run folder(s) whose 1 epoch(s) were trained before these notebook runs" in printed
    assert "100 s of optimiser steps, 20 s of validation passes" in printed


def test_time_breakdown_of_the_smoke_run_accounts_for_every_stamped_second():
    stamps = paths.build_dir() / "stamps" / "smoke"
    require_smoke_run(stamps)
    tb = _time_breakdown()
    cells, reused = tb.breakdown(paths.build_dir(), "smoke")
    walls = {stamp.relative_to(stamps).with_suffix("").as_posix(): json.loads(stamp.read_text())["elapsed_s"]
             for stamp in stamps.rglob("*.json")}
    assert cells.groupby("job")["seconds"].sum().round(6).to_dict() == pytest.approx(walls)
    assert (cells["seconds"] >= 0).all(), cells[cells["seconds"] < 0]  # no cell gave more than it took
    per_job = cells.pivot_table(index="job", columns="category", values="seconds", aggfunc="sum", fill_value=0)
    experiments = per_job[per_job.index.str.startswith("experiments/")]
    assert len(experiments) and (experiments[tb.DATA] > 0).all() and (experiments[tb.PREDICTIONS] > 0).all()
    metrics = tb.run_metrics(paths.build_dir(), "smoke")
    trained = per_job.reindex(columns=[tb.STEPS]).fillna(0).sum().iloc[0]
    assert trained + reused["train_seconds"].sum() == pytest.approx(metrics["train_seconds"].sum())
    table = tb.summary(cells)
    assert table.loc["total", "wall"] == pytest.approx(sum(walls.values()))


# ------------------------------------------------------------------ benchmarks/gpu_check.py and .sh
GPU_CHECK = SCRIPT.parent / "gpu_check.py"


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", GPU_CHECK)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_gpu_check_dry_run_reports_every_model_and_the_grid(tmp_path):
    """The CPU dry run (tiny sizes) runs the whole check through the engine and writes its report."""
    from harmonylib.grid import experiments_for

    report = tmp_path / "gpu-dry-run.md"
    # OpenMP threads that wait passively: numba's (the phase vocoder's) and torch's otherwise spin between their
    # operations and slow each other tenfold on a 2-core machine; gpu_check.sh --tiny sets the same
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(GPU_CHECK), "--device", "cpu", "--tiny", "--output", str(report)],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.perf_counter() - started < 60  # 27 s on the 2-core machine at a load of 3
    assert done.stdout.splitlines()[-1] == f"report: {report}"
    numbers = json.loads(report.with_suffix(".json").read_text())
    models = pd.DataFrame(numbers["models"]).set_index("model")
    assert list(models.index) == ["raw_cnn", "mfcc_cnn", "features_cnn", "resnet50", "ast"]
    for column in ("end_to_end_samples_per_second", "model_only_samples_per_second", "flops_per_step",
                   "inference_windows_per_second", "model_only_inference_windows_per_second"):
        assert (models[column] > 0).all() and models[column].map(math.isfinite).all(), column
    assert models["pipeline_efficiency"].to_numpy() == pytest.approx(
        (models["end_to_end_samples_per_second"] / models["model_only_samples_per_second"]).to_numpy())
    assert models["gpu_utilisation_percent"].isna().all() and (models["gpu_utilisation_note"] == "no GPU").all()
    projection = pd.DataFrame(numbers["projection"])
    assert list(projection["experiment"]) == [e.name for e in experiments_for(get_profile("paper-synth"))]
    assert numbers["grid_gpu_hours"] == pytest.approx(projection["hours"].sum())

    text = report.read_text()
    assert "**Dry run (`--tiny`)**" in text and "profile **`paper-synth`**" in text
    for name in models.index:
        assert re.search(rf"^\| {name} +\| ", text, re.MULTILINE), name
    assert re.search(r"^\| \*\*total\*\* +\|", text, re.MULTILINE)
    assert re.search(r"\| GPU utilisation >= 90 % while training, every model +\| n/a \(no GPU\) +\| not measurable",
                     text)
    verdict = "met" if models["pipeline_efficiency"].min() >= 0.95 else "not met"
    assert re.search(rf"\| pipeline efficiency >= 0.95 for every model +\| [\d.]+ \(\w+, the lowest\) +\| {verdict} ",
                     text)
    verdict = "met" if numbers["grid_gpu_hours"] < 1 else "not met"
    assert re.search(rf"\| the whole chapter-5 grid in under 1 GPU-hour on this device +\| [\d.]+ GPU-hours +\| "
                     rf"{verdict} ", text)


def test_gpu_check_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(SCRIPT.parent / "gpu_check.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _measured(model: str, batch: int = 16) -> dict:
    """A model measured at 0.02 s per step end to end, half of it in the model; inference at 1000 / 2000 windows/s."""
    return {"model": model, "batch_size": batch, "end_to_end_seconds_per_step": 0.02,
            "model_only_seconds_per_step": 0.01, "inference_windows_per_second": 1000.0,
            "model_only_inference_windows_per_second": 2000.0}


def test_gpu_check_projects_the_steps_of_the_profiles_data():
    from harmonylib.reference import IRMAS_TRAIN_COUNTS
    from harmonylib.sampling import dynamic_epoch_size

    gc = _gpu_check()
    measured = {name: _measured(name) for name in gc.MODELS}
    windows = 3 * sum(IRMAS_TRAIN_COUNTS.values())  # three 1-s windows per 132,299-sample training clip
    for profile in ("paper-synth", "full"):  # the renderer's plan; the reference counts
        grid = gc.project_grid(get_profile(profile), measured).set_index("experiment")
        assert grid.loc["resnet50_w1", "training_windows"] == windows
        assert grid.loc["resnet50_w1", "optimiser_steps"] == 35 * math.ceil(windows / 16)
        assert grid.loc["resnet50_w3", "optimiser_steps"] == 35 * math.ceil(windows / 3 / 16)
        tds = dynamic_epoch_size(windows, 1, 4)
        assert grid.loc["resnet50_w1_tds4", "optimiser_steps"] == 35 * math.ceil(tds / 16)
        assert grid.loc["resnet50_audioset_w1", "training_windows"] > windows  # SynthAudioSet's 10-s clips
    # a fixed-size input: the model's share stays, the input's grows with the window; a growing input: both grow
    assert grid.loc["resnet50_w1", "seconds_per_step"] == pytest.approx(0.02)
    assert grid.loc["resnet50_w3", "seconds_per_step"] == pytest.approx(0.01 + 3 * 0.01)
    assert gc.scaled_seconds("raw_cnn", 0.02, 0.01, 3.0) == pytest.approx(0.06)
    row = grid.loc["raw_cnn_w1"]
    assert row["training_hours"] == pytest.approx(row["optimiser_steps"] * 0.02 / 3600)
    assert row["evaluation_hours"] == pytest.approx((35 * row["validation_windows_per_epoch"] + row["test_windows"])
                                                    / 1000 / 3600)
    assert grid["hours"].to_numpy() == pytest.approx((grid["training_hours"] + grid["evaluation_hours"]).to_numpy())
    # the default profile's caps: 352 training windows per epoch for 6 epochs, AST 640 for 15
    default = gc.project_grid(get_profile("default"), measured).set_index("experiment")
    assert default.loc["raw_cnn_w1", "optimiser_steps"] == 6 * 22
    assert default.loc["ast_w1_l2high", "optimiser_steps"] == 15 * 40


def test_gpu_utilisation_is_read_for_the_measured_gpu_only(tmp_path, monkeypatch):
    """The sampler keeps nvidia-smi's lines of its own GPU (by UUID, with or without 'GPU-')."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nwhile true; do echo 'GPU-aaa-111, 40'; echo 'GPU-bbb-222, 90'; "
                    "echo 'GPU-ccc-333, [N/A]'; sleep 0.05; done\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    gc = _gpu_check()
    for uuid, expected in (("aaa-111", 40.0), ("GPU-BBB-222", 90.0), ("ccc-333", None), ("ddd-444", None)):
        with gc.UtilisationSampler(uuid, interval_ms=50) as sampler:
            time.sleep(0.5)
        assert sampler.mean_between(0, time.perf_counter()) == expected, uuid
