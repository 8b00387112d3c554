"""harmonylib.comparisons: opening the grid's runs, collecting and evaluating the comparisons of chapter 5."""
import dataclasses

import numpy as np
import pytest

from harmonylib import comparisons as cmp
from harmonylib import evaluate as ev
from harmonylib import runs
from harmonylib.config import get_profile
from harmonylib.errors import HarmonyError
from harmonylib.grid import experiments_for
from harmonylib.labels import NUM_CLASSES
from harmonylib.runs import MissingRunError

from fake_runs import write_fake_run, write_fake_runs

SMOKE = get_profile("smoke")


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path))
    return tmp_path


def test_missing_run_names_the_run_and_the_command(build):
    with pytest.raises(MissingRunError) as error:
        cmp.experiment_run("resnet50_w2", SMOKE)
    message = str(error.value)
    assert "smoke-resnet50_w2" in message and "papermill" in message and "33_train_resnet50.py" in message
    assert '"window": 2' in message
    with pytest.raises(HarmonyError, match="unknown experiment"):
        cmp.experiment_run("resnet51", SMOKE)


def test_fake_run_round_trip(build):
    write_fake_run("resnet50_w1", "smoke")
    run = cmp.experiment_run("resnet50_w1", SMOKE)
    assert run.parameters["window"] == 1 and run.train_dataset == "irmas"
    assert run.summary["status"] == "finished"
    assert list(run.metrics.columns[:3]) == ["epoch", "train_loss", "val_loss"]
    test = run.predictions("irmas", "test")
    assert list(test.clip_ids) == sorted(test.clip_ids)
    assert test.labels.shape == (len(test.clip_ids), NUM_CLASSES) and len(test.window_probs) == len(test.clip_ids)
    assert np.allclose(test.scores("S2").max(axis=1), 1.0)
    assert run.predictions("audioset", "test").labels.shape[1] == NUM_CLASSES
    with pytest.raises(MissingRunError, match="eval_datasets"):
        cmp.experiment_run("resnet50_w1", SMOKE).predictions("audioset", "val")


def test_collect_on_fake_runs(build):
    write_fake_runs("smoke")
    c = cmp.collect("5.4", SMOKE)
    assert set(c.systems) == {"SynthAudioSet -> SynthIRMAS", "SynthAudioSet -> SynthAudioSet",
                              "SynthIRMAS -> SynthAudioSet", "SynthIRMAS -> SynthIRMAS"} and not c.skipped
    assert c.comparison.title == "ResNet-50 trained and tested on SynthAudioSet / SynthIRMAS"
    irmas, audioset = c.systems["SynthIRMAS -> SynthIRMAS"], c.systems["SynthIRMAS -> SynthAudioSet"]
    assert irmas[0].shape[0] != audioset[0].shape[0]  # two different test sets
    assert np.array_equal(c.systems["SynthAudioSet -> SynthIRMAS"][0], irmas[0])
    table = ev.comparison_table(c.systems, c.pairs, c.groups, n_resamples=50)
    assert len(table) == 2 and table["p_value"].between(0, 1).all()
    tuned = cmp.collect("5.1", SMOKE, threshold="tuned")
    assert all(t.shape == (NUM_CLASSES,) for t in tuned.thresholds.values())
    on_test_differs = False
    for system in tuned.comparison.systems:  # tuned on each run's validation clips, never on its test clips
        run = tuned.runs[system.run]
        val, test = run.predictions("irmas", "val"), run.predictions("irmas", "test")
        assert np.array_equal(tuned.thresholds[system.label], ev.tune_thresholds(val.scores(), val.labels))
        on_test_differs |= not np.array_equal(tuned.thresholds[system.label], ev.tune_thresholds(test.scores(), test.labels))
    assert on_test_differs  # the fake runs can tell the two apart
    fixed = cmp.collect("5.1", SMOKE, strategy="S1", threshold=0.3)
    assert all(np.allclose(t, 0.3) for t in fixed.thresholds.values())


def test_collect_drops_skipped_runs_and_their_pairs(build):
    profile = get_profile("smoke")
    profile = dataclasses.replace(profile, evaluate=dataclasses.replace(profile.evaluate,
                                                                        skip_experiments=("resnet50_w1_tds4",)))
    for e in experiments_for(profile):
        write_fake_run(e.name, "smoke")
    c = cmp.collect("5.3a", profile)
    assert c.skipped == ["TDS-4, window 1 s"]
    assert all("TDS-4, window 1 s" not in pair for pair in c.pairs) and len(c.pairs) == 6


def test_unfinished_run_is_reported_as_missing(build):
    folder = write_fake_run("raw_cnn_w1", "smoke")
    (folder / "run.json").write_text('{"status": "running"}')
    with pytest.raises(MissingRunError, match="has not finished"):
        cmp.experiment_run("raw_cnn_w1", SMOKE)


def test_a_run_without_the_predictions_file_names_it(build):
    folder = write_fake_run("raw_cnn_w1", "smoke")
    (folder / "predictions_irmas_test.npz").rename(folder / "test_predictions.npz")  # an unknown, older name
    with pytest.raises(MissingRunError, match="no irmas test predictions") as error:
        cmp.experiment_run("raw_cnn_w1", SMOKE).predictions("irmas", "test")
    assert "predictions_irmas_test.npz" in str(error.value)


def _execute(notebook: str, out, **parameters):
    import nbformat
    import papermill

    from harmonylib.pipeline import NOTEBOOKS_DIR, to_ipynb

    source = out / f"{notebook}.ipynb"
    nbformat.write(to_ipynb(NOTEBOOKS_DIR / notebook), str(source))
    papermill.execute_notebook(str(source), str(out / f"{notebook}.out.ipynb"), parameters={"profile": "smoke", **parameters},
                               kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOKS_DIR))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", ["51_cnn_models.py", "57_final_model.py"])
def test_evaluation_notebook_runs_on_fake_runs_with_clear_winners(notebook, build, tmp_path, monkeypatch):
    # the smoke run's models are near chance; these runs reach the branches that name a winner
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
        cmp.collect("5.1", SMOKE)


def test_not_comparable_quotes_the_reports_numbers_of_the_figures_systems(build):
    write_fake_runs("smoke")
    text = cmp.not_comparable(cmp.evaluate_comparison("5.4", SMOKE, variants=False))
    assert "SynthIRMAS and SynthAudioSet" in text and "not comparable" in text
    assert "AudioSet -> IRMAS 0.4728" in text and "IRMAS -> AudioSet 0.4832" in text and "Synth" not in text.split("(")[1]


def test_final_model_is_chosen_on_validation_not_test(build):
    write_fake_runs("smoke")
    perfect_on_validation = cmp.experiment_run("ast_w1_l2high", SMOKE)
    for split, probs_of in (("val", lambda labels: labels), ("test", lambda labels: 1 - labels)):
        p = perfect_on_validation.predictions("irmas", split)
        window = {"probs": probs_of(p.labels.astype(float)), "targets": p.labels, "clip_index": np.arange(len(p.labels))}
        runs.save_predictions(perfect_on_validation.path, "irmas", split, window, p.clip_ids, p.groups)
    evaluation = cmp.evaluate_comparison("5.8", SMOKE, variants=False)
    choice, label, run = cmp.choose_final_model(evaluation, evaluation.metrics)
    assert label == "AST higher L2, w1" and run.name == "smoke-ast_w1_l2high"
    assert choice["validation macro F1"].idxmax() == label and choice["test macro F1"].idxmin() == label


def test_winners_in_words_and_cost_table(build):
    write_fake_runs("smoke")
    evaluation = cmp.evaluate_comparison("5.1", SMOKE, variants=False)
    verdict = cmp.winners(evaluation.metrics, evaluation.tests)
    text = cmp.winners_markdown(verdict)
    assert text.count("\n- ") + text.startswith("- ") == len(verdict) and "On the report's three metrics" in text
    opened, _ = cmp.available_runs(cmp.COST_MODELS["5.7"], SMOKE)
    cost = cmp.cost_table(opened)
    assert list(cost["key"]) == ["raw_cnn", "mfcc_cnn", "features_cnn", "resnet50", "ast"]
    assert (cost["paper parameters"] == [180_427, 879_275, 114_859, 23_530_571, 86_197_259]).all()
    assert (cost["s/epoch min"] <= cost["seconds per epoch"]).all()
    windows = [float(r.parameters.get("window", 1)) for r in opened.values()]  # ms per second of audio, slowest epoch
    slowest = [1000 / (r.metrics["samples_per_second"].min() * w) for r, w in zip(opened.values(), windows)]
    assert np.allclose(cost["ms/s max"], slowest)
    assert (cost["ms/s min"] <= cost["ms per second of audio"]).all()


def test_every_experiment_has_one_colour_and_no_two_bars_of_a_figure_look_alike():
    from matplotlib.colors import to_hex

    from harmonylib.grid import BY_NAME

    assert len({to_hex(cmp.run_colour(name)) for name in BY_NAME}) == len(BY_NAME)
    for key, comparison in cmp.COMPARISONS.items():
        palette, hatches = cmp.system_style(comparison.systems)
        looks = {(to_hex(palette[s.label]), hatches.get(s.label)) for s in comparison.systems}
        assert len(looks) == len(comparison.systems), key


def test_a_chapter_5_footer_says_how_long_the_runs_trained_and_which_test_clips_scored_them(build):
    write_fake_runs("smoke", n_songs=7)
    collected = cmp.collect("5.1", SMOKE)  # ResNet-50 with 1-, 2- and 3-s windows, tested on SynthIRMAS only
    label = cmp.provenance(SMOKE, collected).label()
    assert "| training: 120 optimiser steps per run, training audio per epoch: 16 s (resnet50 w3: 15 s) |" in label
    clips = len(next(iter(collected.systems.values()))[0])
    assert label.endswith(f"| evaluated on: SynthIRMAS test, 7 songs ({clips} clips)")
    opened = {name: cmp.experiment_run(name, SMOKE) for name in ("resnet50_w1", "raw_cnn_w1", "ast_w1_l2high")}
    assert cmp.training_label(opened) == "120 optimiser steps per run (ast w1: 600), training audio per epoch: 16 s"
    assert "evaluated on" not in cmp.provenance(SMOKE, opened).label()  # runs alone: no test set to name