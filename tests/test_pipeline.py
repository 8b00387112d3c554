"""The papermill runner behind ./run_all.sh: order, skipping unchanged work, failures, the grid's jobs."""
import json
import textwrap

import pytest

from harmonylib import pipeline
from harmonylib.config import get_profile

HEADER = """\
# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---
"""

SMOKE = get_profile("smoke")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.setattr(pipeline, "NOTEBOOKS_DIR", notebooks)
    monkeypatch.setattr(pipeline, "experiments_for", lambda profile: [])
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path / "figures"))
    return notebooks


def write_notebook(folder, name, body):
    (folder / name).write_text(HEADER + textwrap.dedent(body))


def test_runs_in_order_skips_unchanged_and_reports_the_failing_cell(workspace, tmp_path, capsys):
    write_notebook(workspace, "01_first.py", """
        # %% tags=["parameters"]
        profile = "default"
        data_dir = None
        # %%
        print("profile is", profile)
    """)
    write_notebook(workspace, "02_broken.py", """
        # %% tags=["parameters"]
        profile = "default"
        data_dir = None
        # %%
        x = 1
        # %%
        raise ValueError("bad clip")
    """)
    assert [p.name for p in pipeline.notebook_paths()] == ["01_first.py", "02_broken.py"]

    assert pipeline.run(SMOKE, None, None, force=False, refresh_nbval=False, report=False) == 1
    out = capsys.readouterr().out
    assert "01_first" in out and " ok " in out
    assert "02_broken.py failed at cell" in out and "ValueError: bad clip" in out
    assert "log:" in out
    executed = tmp_path / "build" / "notebooks" / "smoke"
    assert "profile is smoke" in (executed / "01_first.ipynb").read_text()
    assert not (executed / "02_broken.ipynb").exists() and (executed / "02_broken.failed.ipynb").exists()

    write_notebook(workspace, "02_broken.py", """
        # %% tags=["parameters"]
        profile = "default"
        data_dir = None
        # %%
        x = 1
    """)
    assert pipeline.run(SMOKE, None, None, force=False, refresh_nbval=False, report=False) == 0
    out = capsys.readouterr().out
    assert "01_first" in out and "skipped  (unchanged)" in out
    assert (executed / "02_broken.ipynb").exists() and not (executed / "02_broken.failed.ipynb").exists()
    stamp = json.loads((tmp_path / "build" / "stamps" / "smoke" / "02_broken.json").read_text())
    assert stamp["parameters"] == {"profile": "smoke", "data_dir": None}


def test_plan_replaces_training_notebooks_with_the_experiment_grid(workspace, monkeypatch):
    for name in ("10_data.py", "30_train_x.py", "31_train_y.py", "50_eval.py"):
        write_notebook(workspace, name, "# %%\n")

    class Experiment:
        def __init__(self, name, notebook, parameters):
            self.name, self.notebook, self.parameters = name, notebook, parameters

    grid = [Experiment("x_w1", "30_train_x.py", {"window": 1}), Experiment("y_w3", "31_train_y.py", {"window": 3})]
    monkeypatch.setattr(pipeline, "experiments_for", lambda profile: grid)
    jobs = pipeline.plan(SMOKE, "/data", None)
    assert [j.name for j in jobs] == ["10_data", "experiments/x_w1", "experiments/y_w3", "50_eval"]
    assert jobs[1].parameters == {"profile": "smoke", "data_dir": "/data", "window": 1}
    assert [j.name for j in pipeline.plan(SMOKE, None, ["5"])] == ["50_eval"]
    assert [j.name for j in pipeline.plan(SMOKE, None, ["31", "5"])] == ["experiments/y_w3", "50_eval"]


def test_retraining_a_model_reruns_the_notebooks_that_read_the_runs(workspace, monkeypatch):
    for name in ("10_data.py", "30_train_x.py", "50_eval.py"):
        write_notebook(workspace, name, "# %%\n")

    class Experiment:
        def __init__(self, name, notebook, parameters):
            self.name, self.notebook, self.parameters = name, notebook, parameters

    monkeypatch.setattr(pipeline, "experiments_for", lambda profile: [Experiment("x_w1", "30_train_x.py", {})])
    data, train, evaluation = pipeline.plan(SMOKE, None)
    assert [pipeline.reads_runs(j, SMOKE) for j in (data, train, evaluation)] == [False, False, True]
    before = pipeline.grid_digest(SMOKE, None, "sources")
    write_notebook(workspace, "30_train_x.py", "# %%\naugment = True\n")  # e.g. a new augmentation
    after = pipeline.grid_digest(SMOKE, None, "sources")
    assert after != before
    assert pipeline.job_digest(evaluation, "sources", after) != pipeline.job_digest(evaluation, "sources", before)


def test_nbval_notebook_carries_reference_outputs_only_for_unchanged_checked_cells(workspace, tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setattr(pipeline, "NBVAL_REFERENCE_DIR", tmp_path / "ref")
    write_notebook(workspace, "01_t.py", "# %%\n# NBVAL_CHECK_OUTPUT\nprint(1)\n\n# %%\nprint(2)\n")
    executed = tmp_path / "executed.ipynb"
    nb = pipeline.to_ipynb(workspace / "01_t.py")
    for cell, text in zip(nb.cells, ("1\n", "2\n")):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nbformat.write(nb, executed)
    pipeline.refresh_nbval_reference(executed, workspace / "01_t.py")
    reference = nbformat.read(tmp_path / "ref" / "01_t.ipynb", as_version=4)
    assert [len(c.outputs) for c in reference.cells] == [1, 0]

    checked = nbformat.read(pipeline.nbval_notebook(workspace / "01_t.py", tmp_path / "a.ipynb"), as_version=4)
    assert checked.cells[0].outputs[0]["text"] == "1\n"
    write_notebook(workspace, "01_t.py", "# %%\n# NBVAL_CHECK_OUTPUT\nprint(3)\n")
    stale = nbformat.read(pipeline.nbval_notebook(workspace / "01_t.py", tmp_path / "b.ipynb"), as_version=4)
    assert stale.cells[0].outputs == []
