"""The input pipeline benchmark (benchmarks/input_pipeline.py) runs end to end at tiny sizes.

Not a timing test: the numbers of a smoke run on a shared machine mean nothing. It checks that both
recipes produce every input type and train both models, that the CSV is written, and that the run
ends with the summary lines the README and the Figure 5.7 notebook quote. The complete run is the one
notebook 56 makes in the smoke run (every part, 8 items); it is read here, not run again.
"""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
from conftest import require_smoke_run

from harmonylib import paths
from harmonylib.config import get_profile
from harmonylib.inputs import INPUT_KINDS

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


def test_benchmark_measures_another_image_size_into_its_own_file():
    done = subprocess.run([sys.executable, str(SCRIPT), "--profile", "smoke", "--items", "8", "--steps", "1",
                           "--repeats", "1", "--device", "cpu", "--inputs", "mel", "--models", "resnet50",
                           "--image-size", "24"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    written = re.search(r"results written to (\S+)", done.stdout).group(1)
    assert written.endswith("_image24.csv")
    table = pd.read_csv(written)
    assert set(table.loc[table["measure"] != "breakdown", "input_shape"]) == {"3x24x24"}
