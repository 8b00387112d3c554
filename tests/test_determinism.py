"""The same command twice gives byte-identical tables at the smoke profile (issue: reliability).

Two complete, independent runs of the ANOVA notebook and of one training experiment (fresh build
folders, so the model is trained twice; the rendered data set of the smoke profile is shared, its
own byte-for-byte reproducibility is tested in test_data_synth.py) must write identical CSV tables, metrics and predictions.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from harmonylib.paths import REPO_ROOT, data_root


def _run(tmp_path, tag, data_dir):
    env = {**os.environ, "HARMONY_BUILD_DIR": str(tmp_path / tag / "build"),
           "HARMONY_FIGURES_DIR": str(tmp_path / tag / "figures"), "HARMONY_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "harmonylib.pipeline", "--profile", "smoke", "--no-report",
                           "--only", "13", "30"], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path / tag


@pytest.mark.slow
def test_two_runs_write_identical_tables_metrics_and_predictions(tmp_path):
    data_dir = data_root()  # rendered once (by ./run_tests.sh's smoke run), read by both runs
    first, second = _run(tmp_path, "first", data_dir), _run(tmp_path, "second", data_dir)
    tables = sorted(p.name for p in (first / "figures").glob("*.csv"))
    assert "tab2.5_anova.csv" in tables and "tab4.3_cnn_hyperparameters.csv" in tables
    assert tables == sorted(p.name for p in (second / "figures").glob("*.csv"))
    for name in tables:
        assert (first / "figures" / name).read_bytes() == (second / "figures" / name).read_bytes(), name

    runs = [folder / "build" / "runs" / "smoke-raw_cnn_w1" for folder in (first, second)]
    # the timing columns measure this machine, not the result
    timing = ("seconds", "samples_per_second")
    import pandas as pd

    a, b = (pd.read_csv(run / "metrics.csv") for run in runs)
    results = [c for c in a.columns if not any(word in c for word in timing)]
    pd.testing.assert_frame_equal(a[results], b[results])
    for name in sorted(p.name for p in runs[0].glob("predictions_*.npz")):
        with np.load(runs[0] / name) as x, np.load(runs[1] / name) as y:
            for key in x.files:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{name}:{key}")
