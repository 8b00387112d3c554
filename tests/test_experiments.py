"""harmonylib.experiments: the chapter-5 grid, the run-folder format and its reader."""
import dataclasses
import io
import json

import numpy as np
import pytest

from harmonylib import evaluate as ev
from harmonylib import paths
from harmonylib import experiments as ex
from harmonylib.config import get_profile
from harmonylib.errors import HarmonyError
from harmonylib.labels import NUM_CLASSES

from fake_runs import write_fake_run, write_fake_runs


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path))
    return tmp_path


def test_grid_names_notebooks_and_parameters():
    names = [e.name for e in ex.EXPERIMENTS]
    assert len(names) == len(set(names))
    for e in ex.EXPERIMENTS:
        assert e.notebook in ex.NOTEBOOKS.values()
        assert e.parameters["dataset"] in ("irmas", "audioset")
        assert e.parameters["sampling"] in ("static", "tds", "bspds")
        assert (e.parameters["max_sampled"] is None) == (e.parameters["sampling"] == "static")
        assert e.parameters["window"] in (1, 2, 3)
        assert e.group == e.used_in[0] and e.label
        json.dumps(e.parameters)  # papermill parameters must be plain JSON


def test_every_report_figure_of_chapter_5_is_covered():
    figures = set(ex.COMPARISONS) | set(ex.LOSS_CURVES) | set(ex.COST_MODELS)
    assert figures == {"5.1", "5.2a", "5.2b", "5.3a", "5.3b", "5.4", "5.5a", "5.5b", "5.6", "5.7", "5.8"}
    for comparison in ex.COMPARISONS.values():
        comparison = comparison.named(get_profile("full"))
        assert "Synth" not in comparison.title
        labels = [s.label for s in comparison.systems]
        assert len(labels) == len(set(labels))
        assert {s.run for s in comparison.systems} <= set(ex.BY_NAME)
        assert comparison.pairs and all(a in labels and b in labels for a, b in comparison.pairs)
        assert set(comparison.metrics) <= set(ev.METRICS)
        for system in comparison.systems:  # the run predicts on the data set the figure tests on
            e = ex.BY_NAME[system.run]
            assert system.test in e.parameters["eval_datasets"] or system.test == e.parameters["dataset"]
    for runs in list(ex.LOSS_CURVES.values()) + list(ex.COST_MODELS.values()):
        assert set(runs) <= set(ex.BY_NAME)


def test_report_specifics():
    p = {e.name: e.parameters for e in ex.EXPERIMENTS}
    assert [p[f"resnet50_w{w}"]["window"] for w in (1, 2, 3)] == [1, 2, 3]
    assert p["ast_w1_l2high"]["weight_decay"] == {"base": 1e-4, "classifier": 1e-3}
    assert p["ast_w1_l2low"]["weight_decay"] == {"base": 1e-5, "classifier": 1e-5}
    from harmonylib.train import paper_groups  # the names are the training engine's optimiser groups
    assert {g.name: g.weight_decay for g in paper_groups("ast", p["ast_w1_l2low"]["weight_decay"])} == \
        {"base": 1e-5, "classifier": 1e-5}
    assert {n for n, q in p.items() if q["sampling"] != "static"} == {
        "resnet50_w1_tds4", "resnet50_w1_tds5", "resnet50_w1_bspds5", "resnet50_w3_bspds5"}
    cost_models = {ex.BY_NAME[n].model for n in ex.COST_MODELS["5.7"]}
    assert cost_models == set(ex.NOTEBOOKS)
    assert all(ex.BY_NAME[n].parameters["window"] == 1 for n in ex.COST_MODELS["5.7"])


def test_experiments_for_adds_run_names_and_honours_skips():
    smoke = ex.experiments_for("smoke")
    assert len(smoke) == len(ex.EXPERIMENTS)
    assert smoke[0].parameters["run_name"] == "smoke-" + smoke[0].name
    assert "run_name" not in ex.EXPERIMENTS[0].parameters  # the declarative list is not modified
    profile = get_profile("smoke")
    skipping = dataclasses.replace(profile, evaluate=dataclasses.replace(profile.evaluate,
                                                                         skip_experiments=("resnet50_w1_tds4",)))
    assert "resnet50_w1_tds4" not in {e.name for e in ex.experiments_for(skipping)}
    bad = dataclasses.replace(profile, evaluate=dataclasses.replace(profile.evaluate, skip_experiments=("nope",)))
    with pytest.raises(HarmonyError, match="nope"):
        ex.experiments_for(bad)


def test_grid_drives_the_pipeline_plan(monkeypatch, tmp_path):
    from harmonylib import pipeline

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ["20_inputs.py", "33_train_resnet50.py", "34_train_ast.py", "50_window_sizes.py"]:
        (notebooks / name).write_text("# %%\n")
    monkeypatch.setattr(pipeline, "NOTEBOOKS_DIR", notebooks)
    jobs = pipeline.plan("smoke", None)
    grid = [j for j in jobs if j.name.startswith("experiments/")]
    assert [j.name for j in jobs][0] == "20_inputs" and jobs[-1].name == "50_window_sizes"
    present = {"33_train_resnet50.py", "34_train_ast.py"}  # only experiments of notebooks that exist
    assert [j.name for j in grid] == [f"experiments/{e.name}" for e in ex.experiments_for("smoke")
                                      if e.notebook in present]
    assert all(j.parameters["profile"] == "smoke" for j in grid)
    assert grid[0].parameters["run_name"] == "smoke-resnet50_w1"


def test_missing_run_names_the_run_and_the_command(build):
    with pytest.raises(ex.MissingRunError) as error:
        ex.load_run("resnet50_w2", "smoke")
    message = str(error.value)
    assert "smoke-resnet50_w2" in message and "papermill" in message and "33_train_resnet50.py" in message
    assert '"window": 2' in message
    with pytest.raises(HarmonyError, match="unknown experiment"):
        ex.load_run("resnet51", "smoke")


def test_fake_run_round_trip(build):
    write_fake_run("resnet50_w1", "smoke")
    run = ex.load_run("resnet50_w1", "smoke")
    assert run.parameters["window"] == 1 and run.train_dataset == "irmas"
    assert run.summary["status"] == "finished"
    assert list(run.metrics.columns[:3]) == ["epoch", "train_loss", "val_loss"]
    test = run.predictions("irmas", "test")
    assert list(test.clip_ids) == sorted(test.clip_ids)
    assert test.labels.shape == (len(test.clip_ids), NUM_CLASSES) and len(test.window_probs) == len(test.clip_ids)
    assert np.allclose(test.scores("S2").max(axis=1), 1.0)
    assert run.predictions("audioset", "test").labels.shape[1] == NUM_CLASSES
    with pytest.raises(ex.MissingRunError, match="eval_datasets"):
        ex.load_run("resnet50_w1", "smoke").predictions("audioset", "val")


def _npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _good_arrays():
    return dict(clip_ids=np.array(["b-1", "a-1"]), labels=np.eye(NUM_CLASSES, dtype=np.uint8)[:2],
                probs=np.full((3, NUM_CLASSES), 0.5), clip_index=np.array([1, 0, 1]))


def test_read_predictions_sorts_clips_and_keeps_windows_together(tmp_path):
    arrays = _good_arrays()
    arrays["probs"][0] = 0.9  # the first window of clip a-1 (row 1 of clip_ids)
    arrays["probs"][2] = 0.1  # its second window
    _npz(tmp_path / "p.npz", **arrays)
    p = ex.read_predictions(tmp_path / "p.npz")
    assert list(p.clip_ids) == ["a-1", "b-1"] and list(p.groups) == ["a", "b"]  # songs: names minus -N
    assert [len(w) for w in p.window_probs] == [2, 1]
    assert p.window_probs[0][:, 0].tolist() == pytest.approx([0.9, 0.1])
    assert p.labels[0, 1] == 1 and p.labels[1, 0] == 1
    _npz(tmp_path / "g.npz", **arrays, groups=np.array(["x", "y"]))
    assert list(ex.read_predictions(tmp_path / "g.npz").groups) == ["y", "x"]
    assert list(ex.read_predictions(tmp_path / "p.npz", dataset="audioset").groups) == ["a-1", "b-1"]


def test_reader_agrees_with_the_training_engine(tmp_path):
    from harmonylib.train import load_predictions, save_predictions

    rng = np.random.default_rng(0)
    window = {"probs": rng.random((7, NUM_CLASSES)), "clip_index": np.array([2, 0, 1, 2, 0, 2, 1]),
              "targets": np.zeros((7, NUM_CLASSES))}
    window["targets"][:, 3] = 1
    save_predictions(tmp_path / "t.npz", window, ["s-3", "s-1", "s-2"])
    mine = ex.read_predictions(tmp_path / "t.npz")
    theirs = load_predictions(tmp_path / "t.npz")
    for k, clip in enumerate(theirs["clip_ids"]):
        j = list(mine.clip_ids).index(clip)
        assert np.allclose(mine.window_probs[j], theirs["window_probs"][k])
    assert set(mine.groups) == {"s"}


@pytest.mark.parametrize("change, message", [
    ({"clip_index": np.array([1, 1, 1])}, "clip_index"),
    ({"clip_index": np.array([0, 1])}, "clip_index"),
    ({"probs": np.full((3, NUM_CLASSES), 1.5)}, "probs"),
    ({"labels": np.full((2, NUM_CLASSES), 2)}, "multi-hot"),
    ({"groups": np.array(["a"])}, "groups"),
    ({"clip_ids": np.array(["a-1", "a-1"])}, "repeat"),
])
def test_read_predictions_names_the_file_and_the_problem(tmp_path, change, message):
    _npz(tmp_path / "bad.npz", **{**_good_arrays(), **change})
    with pytest.raises(HarmonyError, match=message) as error:
        ex.read_predictions(tmp_path / "bad.npz")
    assert "bad.npz" in str(error.value)


def test_read_predictions_missing_key_and_garbage(tmp_path):
    arrays = _good_arrays()
    del arrays["clip_index"]
    _npz(tmp_path / "nokey.npz", **arrays)
    with pytest.raises(HarmonyError, match="clip_index"):
        ex.read_predictions(tmp_path / "nokey.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip")
    with pytest.raises(HarmonyError, match="garbage.npz"):
        ex.read_predictions(tmp_path / "garbage.npz")


def test_collect_on_fake_runs(build):
    write_fake_runs("smoke")
    c = ex.collect("5.4", "smoke")
    assert set(c.systems) == {"SynthAudioSet -> SynthIRMAS", "SynthAudioSet -> SynthAudioSet",
                              "SynthIRMAS -> SynthAudioSet", "SynthIRMAS -> SynthIRMAS"} and not c.skipped
    assert c.comparison.title == "ResNet-50 trained and tested on SynthAudioSet / SynthIRMAS"
    irmas, audioset = c.systems["SynthIRMAS -> SynthIRMAS"], c.systems["SynthIRMAS -> SynthAudioSet"]
    assert irmas[0].shape[0] != audioset[0].shape[0]  # two different test sets
    assert np.array_equal(c.systems["SynthAudioSet -> SynthIRMAS"][0], irmas[0])
    table = ev.comparison_table(c.systems, c.pairs, c.groups, n_resamples=50)
    assert len(table) == 2 and table["p_value"].between(0, 1).all()
    tuned = ex.collect("5.1", "smoke", threshold="tuned")
    assert all(t.shape == (NUM_CLASSES,) for t in tuned.thresholds.values())
    fixed = ex.collect("5.1", "smoke", strategy="S1", threshold=0.3)
    assert all(np.allclose(t, 0.3) for t in fixed.thresholds.values())


def test_collect_drops_skipped_runs_and_their_pairs(build):
    profile = get_profile("smoke")
    profile = dataclasses.replace(profile, evaluate=dataclasses.replace(profile.evaluate,
                                                                        skip_experiments=("resnet50_w1_tds4",)))
    for e in ex.experiments_for(profile):
        write_fake_run(e.name, "smoke")
    c = ex.collect("5.3a", profile)
    assert c.skipped == ["TDS-4, window 1 s"]
    assert all("TDS-4, window 1 s" not in pair for pair in c.pairs) and len(c.pairs) == 6


def test_unfinished_run_is_reported_as_missing(build):
    folder = write_fake_run("raw_cnn_w1", "smoke")
    (folder / "run.json").write_text('{"status": "running"}')
    with pytest.raises(ex.MissingRunError, match="has not finished"):
        ex.load_run("raw_cnn_w1", "smoke")


def test_legacy_test_predictions_name_is_read(build):
    folder = write_fake_run("raw_cnn_w1", "smoke")
    (folder / "predictions_irmas_test.npz").rename(folder / "test_predictions.npz")
    assert len(ex.load_run("raw_cnn_w1", "smoke").predictions("irmas", "test").clip_ids) > 0


EVALUATION_NOTEBOOKS = sorted(p.name for p in (paths.REPO_ROOT / "notebooks").glob("5[0-7]_*.py"))


def _execute(notebook: str, out, **parameters):
    import nbformat
    import papermill

    from harmonylib.pipeline import NOTEBOOKS_DIR, to_ipynb

    source = out / f"{notebook}.ipynb"
    nbformat.write(to_ipynb(NOTEBOOKS_DIR / notebook), str(source))
    papermill.execute_notebook(str(source), str(out / f"{notebook}.out.ipynb"), parameters={"profile": "smoke", **parameters},
                               kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOKS_DIR))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", EVALUATION_NOTEBOOKS)
def test_evaluation_notebook_runs_on_fake_runs(notebook, build, tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path / "figures"))
    write_fake_runs("smoke")
    _execute(notebook, tmp_path, **({"register_final": False} if notebook.startswith("57") else {}))
    assert list((tmp_path / "figures").glob("fig5.*.png"))


@pytest.mark.slow
def test_evaluation_notebook_names_a_missing_run(build, tmp_path, monkeypatch):
    from papermill.exceptions import PapermillExecutionError

    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path / "figures"))
    with pytest.raises(PapermillExecutionError) as error:
        _execute("50_window_sizes.py", tmp_path)
    assert error.value.ename == "MissingRunError"
    assert "smoke-resnet50_w1" in error.value.evalue and "papermill" in error.value.evalue


def test_collect_refuses_runs_on_different_test_clips(build):
    write_fake_run("resnet50_w1", "smoke")
    write_fake_run("resnet50_w2", "smoke", n_songs=5)  # an older run made on other data
    write_fake_run("resnet50_w3", "smoke")
    with pytest.raises(HarmonyError, match="different irmas test clips"):
        ex.collect("5.1", "smoke")
