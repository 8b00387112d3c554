"""The same command twice gives byte-identical tables at the smoke profile.

The first run is the smoke run that ``./run_tests.sh`` makes (with ``--jobs 2``); the second runs the
ANOVA notebook and the raw-audio CNN's training notebook again, one at a time with the same torch
threads per notebook, in a fresh build folder, so the model is trained twice on the same rendered data (whose own byte-for-byte
reproducibility is tested in test_data_synth.py). Both must write identical CSV tables, metrics and
predictions.
"""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from conftest import require_smoke_run

from harmonylib import paths
from harmonylib.paths import REPO_ROOT, data_root
from harmonylib.pipeline import kernel_threads

RUN = "smoke-raw_cnn_w1"
TABLES = ("tab2.5_anova.csv", "tab4.3_cnn_hyperparameters.csv")


def test_a_second_run_writes_identical_tables_metrics_and_predictions(tmp_path):
    first_figures, first_run = paths.figures_dir(), paths.build_dir() / "runs" / RUN
    require_smoke_run(*(first_figures / name for name in TABLES), first_run / "metrics.csv")
    env = {**os.environ, "HARMONY_BUILD_DIR": str(tmp_path / "build"), "HARMONY_FIGURES_DIR": str(tmp_path / "figures"),
           "HARMONY_DATA_DIR": str(data_root()), "OMP_NUM_THREADS": kernel_threads(2)}  # the smoke run's threads
    done = subprocess.run([sys.executable, "-m", "harmonylib.pipeline", "--profile", "smoke", "--no-report",
                           "--only", "13", "30"], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    tables = sorted(p.name for p in (tmp_path / "figures").glob("*.csv"))
    assert set(TABLES) <= set(tables)
    for name in tables:
        second = tmp_path / "figures" / name
        if name == "claims.csv":  # gathered from every notebook: the rows of the notebook run again must repeat
            rerun = pd.read_csv(second, dtype=str, keep_default_na=False).set_index("claim")
            first = pd.read_csv(first_figures / name, dtype=str, keep_default_na=False).set_index("claim")
            assert len(rerun) and rerun.equals(first.loc[rerun.index]), name
            continue
        assert second.read_bytes() == (first_figures / name).read_bytes(), name

    second_run = tmp_path / "build" / "runs" / RUN
    timing = ("seconds", "samples_per_second")  # these measure the machine, not the result
    a, b = (pd.read_csv(run / "metrics.csv") for run in (first_run, second_run))
    results = [c for c in a.columns if not any(word in c for word in timing)]
    pd.testing.assert_frame_equal(a[results], b[results])
    predictions = sorted(p.name for p in first_run.glob("predictions_*.npz"))
    assert predictions and predictions == sorted(p.name for p in second_run.glob("predictions_*.npz"))
    for name in predictions:
        with np.load(first_run / name) as x, np.load(second_run / name) as y:
            for key in x.files:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{name}:{key}")
