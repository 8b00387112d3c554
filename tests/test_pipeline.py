"""The papermill runner behind ./run_all.sh: order, skipping unchanged work, failures, the grid's jobs."""
import contextlib
import json
import os
import sys
import textwrap

import pytest
from conftest import processes_naming

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


class Experiment:
    """A stand-in for ``grid.Experiment`` naming notebooks of the test's own workspace."""

    def __init__(self, name, notebook, parameters, model="x"):
        self.name, self.notebook, self.parameters, self.model = name, notebook, parameters, model


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

    monkeypatch.setattr(pipeline, "experiments_for", lambda profile: [Experiment("x_w1", "30_train_x.py", {})])
    data, train, evaluation = pipeline.plan(SMOKE, None)
    assert [pipeline.reads_runs(j, SMOKE) for j in (data, train, evaluation)] == [False, False, True]
    assert pipeline.job_digest(train, "sources", threads="1") != pipeline.job_digest(train, "sources")  # timings
    before = pipeline.grid_digest(SMOKE, None, "sources")
    write_notebook(workspace, "30_train_x.py", "# %%\naugment = True\n")  # e.g. a new augmentation
    after = pipeline.grid_digest(SMOKE, None, "sources")
    assert after != before
    assert pipeline.job_digest(evaluation, "sources", after) != pipeline.job_digest(evaluation, "sources", before)


def _executed(workspace, tmp_path, source, texts, name="executed"):
    """Write notebook 01_t.py with ``source`` and an executed copy whose cells printed ``texts``."""
    import nbformat

    write_notebook(workspace, "01_t.py", source)
    nb = pipeline.to_ipynb(workspace / "01_t.py")
    for cell, text in zip(nb.cells, texts):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    executed = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, executed)
    return executed


def test_checked_outputs_are_compared_with_their_reference(workspace, tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setattr(pipeline, "NBVAL_REFERENCE_DIR", tmp_path / "ref")
    notebook = workspace / "01_t.py"
    source = "# %%\n# NBVAL_CHECK_OUTPUT\nprint(1)\n\n# %%\nprint(2)\n"
    executed = _executed(workspace, tmp_path, source, ("1\n", "2\n"))
    assert "no reference output" in pipeline.checked_output_differences(notebook, executed)[0]
    pipeline.refresh_nbval_reference(executed, notebook)
    reference = nbformat.read(tmp_path / "ref" / "01_t.ipynb", as_version=4)
    assert [len(c.outputs) for c in reference.cells] == [1, 0]  # only the checked cell keeps its output
    assert pipeline.checked_output_differences(notebook, executed) == []

    executed = _executed(workspace, tmp_path, source, ("11\n", "3\n"))  # only the checked cell's output counts
    [problem] = pipeline.checked_output_differences(notebook, executed)
    assert "'print(1)' printed otherwise" in problem and "-1" in problem and "+11" in problem

    stale = executed
    write_notebook(workspace, "01_t.py", "# %%\n# NBVAL_CHECK_OUTPUT\nprint(3)\n")
    [problem] = pipeline.checked_output_differences(notebook, stale)
    assert "no reference output" in problem and "print(3)" in problem
    monkeypatch.setattr(pipeline, "NBVAL_REFERENCE_DIR", tmp_path / "ref2")
    pipeline.refresh_nbval_reference(_executed(workspace, tmp_path, "# %%\n# NBVAL_CHECK_OUTPUT\nprint(3)\n",
                                               ("3\n",), name="fresh"), notebook)
    [problem] = pipeline.checked_output_differences(notebook, stale)
    assert "not executed from the current source" in problem


def test_weights_reach_only_their_models_experiments(workspace, monkeypatch):
    for model in ("raw_cnn", "resnet50"):
        write_notebook(workspace, f"30_train_{model}.py", "# %%\n")
    grid = [Experiment(f"{model}_w1", f"30_train_{model}.py", {}, model) for model in ("raw_cnn", "resnet50")]
    monkeypatch.setattr(pipeline, "experiments_for", lambda profile: grid)
    jobs = {job.name: job.parameters for job in pipeline.plan(SMOKE, None, weights={"resnet50": "/w/r50"})}
    assert jobs["experiments/resnet50_w1"]["weights"] == "/w/r50"
    assert "weights" not in jobs["experiments/raw_cnn_w1"]


def test_a_fast_dev_run_has_its_own_build_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path / "figures"))
    calls = []
    monkeypatch.setattr(pipeline, "run", lambda profile, *args, **kwargs: calls.append((profile, kwargs)) or 0)
    checkpoint = tmp_path / "r50.safetensors"
    checkpoint.write_bytes(b"")
    monkeypatch.delenv("HARMONY_CACHE_DIR", raising=False)
    assert pipeline.main(["--profile", "full", "--fast-dev-run", "--weights", f"resnet50={checkpoint}",
                          "--weights", f"ast={tmp_path}"]) == 0
    profile, kwargs = calls[0]
    assert profile.name == "full-fast-dev-run"
    assert kwargs["weights"] == {"resnet50": str(checkpoint), "ast": str(tmp_path)}
    assert pipeline.paths.build_dir() == tmp_path / "build" / "fast-dev-run"
    assert pipeline.paths.figures_dir() == tmp_path / "build" / "fast-dev-run" / "figures"
    assert pipeline.paths.cache_dir() == tmp_path / "build" / "cache"  # decoded audio shared with full runs
    for bad in (["--weights", "raw_cnn=x"], ["--weights", f"resnet50={tmp_path / 'missing'}"]):
        with pytest.raises(SystemExit):
            pipeline.main(["--profile", "full", *bad])


def test_kernels_are_preloaded_by_default_on_linux(monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, "run", lambda profile, *args, **kwargs: calls.append(kwargs) or 0)
    assert pipeline.main(["--profile", "smoke"]) == 0 and pipeline.main(["--no-preloaded-kernels"]) == 0
    assert [kwargs["preloaded_kernels"] for kwargs in calls] == [sys.platform == "linux", False]


def test_jobs_run_side_by_side_wave_after_wave_and_a_failure_ends_the_run(workspace, tmp_path, monkeypatch, capsys):
    step = """
        # %% tags=["parameters"]
        profile = "default"
        data_dir = None
        # %%
        import os, pathlib, time
        log = pathlib.Path(os.environ["TEST_LOG"])
        (log / "{name}.start").write_text(os.environ.get("OMP_NUM_THREADS", "unset"))
        assert all((log / f"{{before}}.end").exists() for before in {needs})
        deadline = time.time() + 300
        while not all((log / f"{{partner}}.start").exists() for partner in {partners}):
            assert time.time() < deadline, "no job ran beside this one"
            time.sleep(0.1)
        {fail}
        (log / "{name}.end").write_text("")
    """
    needs = {"10_data_sets": [], "20_inputs": ["10_data_sets"], "30_train_x": ["10_data_sets"],
             "50_eval": ["20_inputs", "30_train_x"]}

    def write_all(fail_in=None):
        for name, before in needs.items():
            fail = 'raise ValueError("bad clip")' if name == fail_in else ""
            partners = {"20_inputs": ["30_train_x"], "30_train_x": ["20_inputs"]}.get(name, [])
            write_notebook(workspace, f"{name}.py", step.format(name=name, needs=before, partners=partners, fail=fail))

    write_all()
    monkeypatch.setattr(pipeline, "experiments_for", lambda profile: [Experiment("x_w1", "30_train_x.py", {})])
    assert [[job.name for job in wave] for wave in pipeline.waves(pipeline.plan(SMOKE, None), SMOKE)] == [
        ["10_data_sets"], ["20_inputs", "experiments/x_w1"], ["50_eval"]]

    log = tmp_path / "log"
    log.mkdir()
    monkeypatch.setenv("TEST_LOG", str(log))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert pipeline.run(SMOKE, None, None, force=False, refresh_nbval=False, report=False, jobs=2) == 0
    # every notebook found what it needs finished, 20 and 30 side by side, each with its share of the cores
    threads = {p.stem: p.read_text() for p in log.glob("*.start")}
    assert threads == dict.fromkeys(needs, str(max(1, len(os.sched_getaffinity(0)) // 2)))
    assert sorted(p.stem for p in log.glob("*.end")) == sorted(needs)

    log = tmp_path / "failing"
    log.mkdir()
    monkeypatch.setenv("TEST_LOG", str(log))
    write_all(fail_in="20_inputs")
    capsys.readouterr()
    assert pipeline.run(SMOKE, None, None, force=True, refresh_nbval=False, report=False, jobs=2) == 1
    out = capsys.readouterr().out
    assert "20_inputs.py failed at cell" in out and "ValueError: bad clip" in out
    assert (log / "30_train_x.end").exists() and "experiments/x_w1" in out  # the job beside it finished
    assert not (log / "50_eval.start").exists() and "50_eval" not in out  # the next wave never started
    assert (tmp_path / "build" / "notebooks" / "smoke" / "20_inputs.failed.ipynb").exists()


def test_after_a_failure_no_new_job_starts_and_the_running_ones_finish(tmp_path, monkeypatch):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    failure_seen = threading.Event()
    started = []

    def execute(job, out_dir, log_dir, kernel_server):
        started.append(job.name)
        if job.name == "b":
            raise pipeline.NotebookFailed(job, "cell 1", tmp_path / "b.log")
        assert failure_seen.wait(30), "the failure was not reported while this job ran"
        return 1.0

    monkeypatch.setattr(pipeline, "_timed_execute", execute)
    jobs = [pipeline.Job(name, tmp_path / f"{name}.py") for name in "abcd"]
    ended = []
    with ThreadPoolExecutor(2) as pool:
        for job, _, failure in pipeline._executions(jobs, tmp_path, tmp_path, pool, side_by_side=2):
            ended.append((job.name, failure is not None))
            if failure is not None:
                failure_seen.set()
    assert ended == [("b", True), ("a", False)] and sorted(started) == ["a", "b"]

    failure_seen.set()
    started.clear()
    ended = [(job.name, failure is not None) for job, _, failure in pipeline._executions(jobs, tmp_path, tmp_path, None, 1)]
    assert ended == [("a", False), ("b", True)] and started == ["a", "b"]


def test_preloaded_kernels_are_forks_of_the_kernel_server_and_end_with_the_run(workspace, tmp_path, monkeypatch):
    write_notebook(workspace, "01_first.py", """
        # %% tags=["parameters"]
        profile = "default"
        data_dir = None
        # %%
        import os, pathlib, sys
        pathlib.Path(os.environ["TEST_LOG"]).write_text(str(["colorsys" in sys.modules, os.environ.get("OMP_NUM_THREADS")]))
    """)
    log = tmp_path / "log.txt"
    monkeypatch.setenv("TEST_LOG", str(log))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(pipeline.kernels, "PRELOADED", ("colorsys",))  # which a fresh kernel has not imported
    servers = []
    server = pipeline.kernels.kernel_server

    def recorded(*args):
        with server(*args) as path:
            servers.append(path)
            yield path

    monkeypatch.setattr(pipeline.kernels, "kernel_server", contextlib.contextmanager(recorded))
    assert pipeline.run(SMOKE, None, None, force=True, refresh_nbval=False, report=False, jobs=2,
                        preloaded_kernels=True) == 0
    assert log.read_text() == str([True, pipeline.kernel_threads(2)])
    assert len(servers) == 1 and not processes_naming(servers[0])
    assert pipeline.run(SMOKE, None, None, force=True, refresh_nbval=False, report=False, jobs=1) == 0
    assert log.read_text().startswith("[False")  # without: a fresh kernel


def test_a_fast_dev_run_leaves_out_the_solution_code(tmp_path):
    notebook = tmp_path / "01_t.py"
    notebook.write_text('# %%\nprint(1)\n\n# %% tags=["solution"]\nprint(2)\n\n# %% [markdown]\n# text\n')
    assert len(pipeline.to_ipynb(notebook).cells) == 3
    assert [c.source for c in pipeline.to_ipynb(notebook, solutions=False).cells] == ["print(1)", "text"]
    assert pipeline.Job("x", notebook, {"profile": "smoke"}).runs_solutions
    assert not pipeline.Job("x", notebook, {"profile": "full-fast-dev-run"}).runs_solutions
