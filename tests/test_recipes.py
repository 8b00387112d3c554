"""harmonylib.recipes: the hyper-parameters of Tables 4.3-4.5, from-scratch rates and the profiles' scale-downs."""
import dataclasses

import pytest

from harmonylib.config import get_profile
from harmonylib.errors import ConfigError
from harmonylib.recipes import PAPER_GROUPS, SCRATCH_GROUPS, hyperparameter_table, paper_groups, settings_for
from harmonylib.train import OptimGroup


def test_paper_hyperparameters_and_overrides():
    assert paper_groups("mfcc_cnn") == (OptimGroup("all", 1e-3, 1e-5, 5e-4),)
    assert paper_groups("resnet50") == (OptimGroup("all", 2e-4, 1e-6, 1e-5),)
    base, head = paper_groups("ast", {"base": 1e-3})
    assert (base.lr, base.lr_end, base.weight_decay) == (2e-5, 2e-6, 1e-3)
    assert (head.lr, head.lr_end, head.weight_decay) == (1e-3, 1e-4, 1e-3)
    with pytest.raises(ConfigError):
        paper_groups("ast", {"decoder": 1.0})


def test_random_init_resnet_and_ast_train_with_from_scratch_rates_and_the_tables_weight_decay():
    assert paper_groups("resnet50", from_scratch=True) == SCRATCH_GROUPS["resnet50"]
    assert paper_groups("mfcc_cnn", from_scratch=True) == paper_groups("mfcc_cnn")  # from scratch in the paper too
    base, head = paper_groups("ast", {"base": 1e-5}, from_scratch=True)
    assert (base.lr, base.weight_decay) == (SCRATCH_GROUPS["ast"][0].lr, 1e-5)
    assert head == SCRATCH_GROUPS["ast"][1]
    for model in ("resnet50", "ast"):
        for paper, scratch in zip(PAPER_GROUPS[model], SCRATCH_GROUPS[model]):
            assert scratch.lr >= paper.lr and scratch.weight_decay == paper.weight_decay
    profile = get_profile("default")
    assert settings_for("resnet50", profile, from_scratch=True).groups == SCRATCH_GROUPS["resnet50"]
    assert settings_for("resnet50", profile).groups == PAPER_GROUPS["resnet50"]
    table = hyperparameter_table(["ast"], profile, from_scratch=True).set_index("Hyperparameter")
    assert float(table.loc["Initial learning rate (base)", "report"]) == 2e-5
    assert float(table.loc["Initial learning rate (base)", "ast (default, from scratch)"]) == SCRATCH_GROUPS["ast"][0].lr


def test_profiles_scale_one_model_separately():
    profile = get_profile("default")
    ast, cnn = settings_for("ast", profile), settings_for("raw_cnn", profile)
    assert (ast.epochs, ast.samples_per_epoch) == (profile.train.scale("ast")[0], profile.train.windows_per_epoch("ast", 1))
    assert profile.train.scale("ast") != profile.train.scale("raw_cnn")
    assert (cnn.epochs, cnn.samples_per_epoch) == (profile.train.epochs, profile.train.windows_per_epoch("raw_cnn", 1))
    assert settings_for("ast", profile, epochs=2).epochs == 2  # a notebook's parameter still wins


def test_every_window_size_trains_on_the_same_seconds_of_audio_per_epoch():
    profile = get_profile("default")
    seconds = profile.train.max_train_seconds
    for window in (1, 2, 3):
        windows = settings_for("resnet50", profile, window=window).samples_per_epoch
        assert seconds - window < windows * window <= seconds, window


def test_hyperparameter_table_is_written_only_by_a_run_with_the_reports_recipe_on_irmas(tmp_path, monkeypatch):
    import types

    import pandas as pd

    from harmonylib.recipes import Splits, TrainingJob, save_hyperparameter_table
    from harmonylib.train import RunResult

    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path))
    profile = get_profile("smoke")
    empty = pd.DataFrame()
    job = TrainingJob("ast", "34_train_ast", profile, 0, 1, "cpu", None, "irmas",
                      Splits("SynthIRMAS", empty, empty, empty, 0.0, 1.0), 1, "static", None, ["irmas"], "x", [], [])
    model = types.SimpleNamespace(harmony_pretrained=False, harmony_weights="random init")

    def result(weight_decay):
        return RunResult(tmp_path, empty, {}, settings_for("ast", profile, weight_decay, from_scratch=True))

    assert save_hyperparameter_table(job, result({"base": 1e-5, "classifier": 1e-5}), model) is None
    on_audioset = dataclasses.replace(job, dataset="audioset",
                                      splits=dataclasses.replace(job.splits, name="SynthAudioSet"))
    assert save_hyperparameter_table(on_audioset, result(None), model) is None  # the report's tables are its IRMAS runs
    assert not (tmp_path / "tab4.5_ast_hyperparameters.csv").exists()
    table = save_hyperparameter_table(job, result(None), model)
    written = pd.read_csv(tmp_path / "tab4.5_ast_hyperparameters.csv", dtype=str, keep_default_na=False)
    assert written.equals(table) and "ast (smoke, from scratch)" in table.columns
    assert "data: SynthIRMAS" in (tmp_path / "tab4.5_ast_hyperparameters.md").read_text()


def test_a_run_records_its_data_so_that_new_data_retrain_it(tmp_path):
    import os
    import types

    import pandas as pd

    from harmonylib.recipes import run_parameters

    clips = []
    for name in ("train.wav", "val.wav"):
        (tmp_path / name).write_bytes(b"audio")
        clips.append(str(tmp_path / name))
    splits = types.SimpleNamespace(train=pd.DataFrame({"path": clips[:1]}), val=pd.DataFrame({"path": clips[1:]}))
    job = types.SimpleNamespace(dataset="irmas", window=1, sampling="static", max_sampled=None, eval_datasets=["irmas"],
                                profile=get_profile("default"), splits=splits)
    before = run_parameters(job, None, [])
    assert run_parameters(job, None, []) == before
    os.utime(clips[1], (1, 1))  # the validation clip rendered again
    assert run_parameters(job, None, [])["data"] != before["data"]
    job.profile = get_profile("smoke")
    assert run_parameters(job, None, [])["eval_seconds"] == get_profile("smoke").train.max_eval_seconds
