"""harmonylib.grid: the chapter-5 experiment grid, what it covers and how it drives the pipeline."""
import dataclasses
import json

import pytest

from harmonylib import comparisons as cmp
from harmonylib import evaluate as ev
from harmonylib import grid
from harmonylib.config import get_profile
from harmonylib.errors import HarmonyError

SMOKE = get_profile("smoke")


def test_grid_names_notebooks_and_parameters():
    names = [e.name for e in grid.EXPERIMENTS]
    assert len(names) == len(set(names))
    for e in grid.EXPERIMENTS:
        assert e.notebook in grid.NOTEBOOKS.values()
        assert e.parameters["dataset"] in ("irmas", "irmas_dr", "audioset")
        assert e.parameters["sampling"] in ("static", "tds", "bspds")
        assert (e.parameters["max_sampled"] is None) == (e.parameters["sampling"] == "static")
        assert e.parameters["window"] in (1, 2, 3)
        assert e.group == e.used_in[0] and e.label
        json.dumps(e.parameters)  # papermill parameters must be plain JSON


def test_every_report_figure_of_chapter_5_is_covered():
    figures = set(cmp.COMPARISONS) | set(cmp.LOSS_CURVES) | set(cmp.COST_MODELS)
    assert figures == {"5.1", "5.2a", "5.2b", "5.3a", "5.3b", "5.4", "5.5a", "5.5b", "5.6", "5.7", "5.8"}
    for comparison in cmp.COMPARISONS.values():
        comparison = comparison.named(get_profile("full"))
        assert "Synth" not in comparison.title
        labels = [s.label for s in comparison.systems]
        assert len(labels) == len(set(labels))
        assert {s.run for s in comparison.systems} <= set(grid.BY_NAME)
        assert comparison.pairs and all(a in labels and b in labels for a, b in comparison.pairs)
        assert set(comparison.metrics) <= set(ev.METRICS)
        for system in comparison.systems:  # the run predicts on the data set the figure tests on
            e = grid.BY_NAME[system.run]
            assert system.test in e.parameters["eval_datasets"] or system.test == e.parameters["dataset"]
    for runs in list(cmp.LOSS_CURVES.values()) + list(cmp.COST_MODELS.values()):
        assert set(runs) <= set(grid.BY_NAME)


def test_report_specifics():
    p = {e.name: e.parameters for e in grid.EXPERIMENTS}
    assert [p[f"resnet50_w{w}"]["window"] for w in (1, 2, 3)] == [1, 2, 3]
    assert p["ast_w1_l2high"]["weight_decay"] == {"base": 1e-4, "classifier": 1e-3}
    assert p["ast_w1_l2low"]["weight_decay"] == {"base": 1e-5, "classifier": 1e-5}
    from harmonylib.recipes import paper_groups  # the names are the recipes' optimiser groups
    assert {g.name: g.weight_decay for g in paper_groups("ast", p["ast_w1_l2low"]["weight_decay"])} == \
        {"base": 1e-5, "classifier": 1e-5}
    assert {n for n, q in p.items() if q["sampling"] != "static"} == {
        "resnet50_w1_tds4", "resnet50_w1_tds5", "resnet50_w1_bspds5", "resnet50_w3_bspds5", "resnet50_w3_bspds5_dr"}
    cost_models = {grid.BY_NAME[n].model for n in cmp.COST_MODELS["5.7"]}
    assert cost_models == set(grid.NOTEBOOKS)
    assert all(grid.BY_NAME[n].parameters["window"] == 1 for n in cmp.COST_MODELS["5.7"])


def test_experiments_for_adds_run_names_and_honours_skips():
    smoke = grid.experiments_for(SMOKE)
    assert len(smoke) == len(grid.EXPERIMENTS)
    assert smoke[0].parameters["run_name"] == "smoke-" + smoke[0].name
    assert "run_name" not in grid.EXPERIMENTS[0].parameters  # the declarative list is not modified
    profile = get_profile("smoke")
    skipping = dataclasses.replace(profile, evaluate=dataclasses.replace(profile.evaluate,
                                                                         skip_experiments=("resnet50_w1_tds4",)))
    assert "resnet50_w1_tds4" not in {e.name for e in grid.experiments_for(skipping)}
    bad = dataclasses.replace(profile, evaluate=dataclasses.replace(profile.evaluate, skip_experiments=("nope",)))
    with pytest.raises(HarmonyError, match="nope"):
        grid.experiments_for(bad)


def test_grid_drives_the_pipeline_plan(monkeypatch, tmp_path):
    from harmonylib import pipeline

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ["20_inputs.py", "33_train_resnet50.py", "34_train_ast.py", "50_window_sizes.py"]:
        (notebooks / name).write_text("# %%\n")
    monkeypatch.setattr(pipeline, "NOTEBOOKS_DIR", notebooks)
    jobs = pipeline.plan(SMOKE, None)
    grid_jobs = [j for j in jobs if j.name.startswith("experiments/")]
    assert [j.name for j in jobs][0] == "20_inputs" and jobs[-1].name == "50_window_sizes"
    present = {"33_train_resnet50.py", "34_train_ast.py"}  # only experiments of notebooks that exist
    assert [j.name for j in grid_jobs] == [f"experiments/{e.name}" for e in grid.experiments_for(SMOKE)
                                      if e.notebook in present]
    assert all(j.parameters["profile"] == "smoke" for j in grid_jobs)
    assert grid_jobs[0].parameters["run_name"] == "smoke-resnet50_w1"


def test_the_domain_randomised_experiments_run_only_where_synthirmas_dr_exists():
    synthetic = {e.name for e in grid.experiments_for(get_profile("default"))}
    real = {e.name for e in grid.experiments_for(get_profile("full"))}
    assert set(grid.DOMAIN_RANDOMISED) <= synthetic and not set(grid.DOMAIN_RANDOMISED) & real
    assert {grid.BY_NAME[n].parameters["dataset"] for n in grid.DOMAIN_RANDOMISED} == {"irmas_dr"}
    with pytest.raises(HarmonyError, match="no SynthIRMAS-DR"):
        cmp.experiment_run("resnet50_w1_dr", get_profile("full"))
