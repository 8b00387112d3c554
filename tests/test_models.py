"""The five models (harmonylib.models): paper parameter counts, shapes, weight provenance and loading."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import save_file

from harmonylib.errors import ConfigError, HarmonyError
from harmonylib.models import build_model, count_parameters, layer_shapes, load_weights, parameter_groups
from harmonylib.reference import PAPER_PARAMETERS

from conftest import write_pickle_payload


@pytest.fixture(autouse=True)
def empty_caches(tmp_path, monkeypatch):
    """No pretrained checkpoint anywhere: the offline situation of this machine, whatever is cached."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("name, config, expected", [
    ("raw_cnn", {}, PAPER_PARAMETERS["raw_cnn"]),
    ("mfcc_cnn", {}, PAPER_PARAMETERS["mfcc_cnn"]),
    ("features_cnn", {}, PAPER_PARAMETERS["features_cnn"]),
    ("resnet50", {}, PAPER_PARAMETERS["resnet50"]),
    ("ast", {"max_length": 1024}, PAPER_PARAMETERS["ast"]),
    ("ast", {"max_length": 100}, 85_349_387),
])
def test_parameter_counts_match_the_paper(name, config, expected):
    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        model = build_model(name, **config)
    assert abs(count_parameters(model) - expected) <= 0.01 * expected


@pytest.mark.parametrize("name, shape, config", [
    ("raw_cnn", (2, 1, 44100), {}),
    ("raw_cnn", (2, 22050), {}),  # (B, N) is accepted, other window lengths too
    ("mfcc_cnn", (2, 1, 40, 256), {}),
    ("features_cnn", (2, 40, 87), {}),
    ("resnet50", (2, 1, 32, 32), {"in_chans": 1}),
    ("ast", (2, 100, 128), {"num_hidden_layers": 1, "hidden_size": 64}),
])
def test_models_map_inputs_to_eleven_logits(name, shape, config):
    model = build_model(name, **config).eval()
    with torch.no_grad():
        out = model(torch.randn(*shape))
    assert out.shape == (2, 11) and torch.isfinite(out).all()


def test_raw_cnn_layer_shapes_reproduce_table_4_2():
    rows = layer_shapes(build_model("raw_cnn"), torch.zeros(1, 1, 44100))
    convs = [r for r in rows if r["type"] == "Conv1d"]
    pools = [r for r in rows if r["type"] == "MaxPool1d"]
    assert [r["shape_in"][2] for r in convs] == [44100, 5457, 1363, 340, 84, 20]
    assert [r["shape_in"][2] for r in pools] == [21831, 5452, 1361, 338, 82, 18]
    assert convs[0]["kernel"] == (440,) and convs[0]["stride"] == (2,)
    assert rows[-1]["shape_out"] == (1, 11)
    assert sum(r["parameters"] for r in rows) == PAPER_PARAMETERS["raw_cnn"]


def test_the_mfcc_cnn_names_the_fewest_rows_it_can_take():
    model = build_model("mfcc_cnn").eval()
    assert model(torch.zeros(1, 1, model.min_rows, 256)).shape == (1, 11)
    with pytest.raises(ConfigError, match=f"at least {model.min_rows} rows, got 13"):
        model(torch.zeros(1, 1, 13, 256))
    with torch.no_grad(), pytest.raises(RuntimeError, match="Output size is too small"):
        model.features(torch.zeros(1, 1, model.min_rows - 1, 256))  # one row fewer: the last pooling fails


def test_provenance_says_random_init_when_no_weights_are_available():
    assert build_model("resnet50").harmony_weights == "random init (ImageNet-1k weights not available offline)"
    small_ast = build_model("ast", num_hidden_layers=1, hidden_size=64)
    assert small_ast.harmony_weights == "random init (AudioSet weights not available offline)"
    assert "pretrained" not in build_model("raw_cnn").harmony_weights
    assert build_model("resnet50", pretrained=False).harmony_weights == "random init"
    assert not build_model("resnet50").harmony_pretrained and not small_ast.harmony_pretrained
    with pytest.raises(ConfigError):
        build_model("mfcc_cnn", pretrained=True)
    with pytest.raises(ConfigError):
        build_model("vgg16")
    with pytest.raises(ConfigError):
        build_model("raw_cnn", heads=3)


def test_resnet_loads_a_timm_checkpoint_adapting_the_first_convolution(tmp_path):
    import timm

    source = timm.create_model("resnet50", pretrained=False, num_classes=1000)  # a timm file: ImageNet head
    path = tmp_path / "resnet50.safetensors"
    save_file(source.state_dict(), str(path))
    model = build_model("resnet50", in_chans=1, weights=path)
    loaded = model.state_dict()
    torch.testing.assert_close(loaded["backbone.conv1.weight"], source.conv1.weight.sum(dim=1, keepdim=True))
    torch.testing.assert_close(loaded["backbone.layer4.2.conv3.weight"], source.layer4[2].conv3.weight)
    assert "conv1.weight adapted to 1 channel(s)" in model.harmony_weights
    assert "fc.weight" in model.harmony_weights  # the new 11-class head stays freshly initialised
    assert model.harmony_pretrained


def _legacy_name(key: str) -> str:
    """The key as the published MIT/ast-finetuned-audioset checkpoint (transformers 4) names it."""
    for new, old in ((".layers.", ".encoder.layer."), ("attention.q_proj", "attention.attention.query"),
                     ("attention.k_proj", "attention.attention.key"), ("attention.v_proj", "attention.attention.value"),
                     ("attention.o_proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
                     ("mlp.fc2", "output.dense")):
        key = key.replace(new, old)
    return key


def test_ast_checkpoint_of_10_s_loads_into_a_1_s_model_with_fresh_position_embeddings(tmp_path, monkeypatch):
    from transformers import ASTConfig, ASTForAudioClassification

    import huggingface_hub.constants

    small = {"hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 256}
    source = ASTForAudioClassification(ASTConfig(max_length=1024, num_labels=527, **small))  # AudioSet head
    # placed where the Hugging Face cache keeps MIT/ast-finetuned-audioset-10-10-0.4593
    repo = tmp_path / "hf" / "models--MIT--ast-finetuned-audioset-10-10-0.4593"
    (repo / "snapshots" / "abc").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")
    legacy = {_legacy_name(k): v for k, v in source.state_dict().items()}  # names of the published file
    assert "audio_spectrogram_transformer.encoder.layer.0.attention.attention.query.weight" in legacy
    save_file(legacy, str(repo / "snapshots" / "abc" / "model.safetensors"))
    model = build_model("ast", max_length=100, num_hidden_layers=1, hidden_size=64)
    assert model.harmony_weights.startswith("AudioSet pretrained: ")
    assert model.harmony_pretrained
    assert "position_embeddings" in model.harmony_weights
    ours = model.state_dict()
    theirs = source.state_dict()
    prefix = "ast.audio_spectrogram_transformer."
    assert ours[prefix + "embeddings.position_embeddings"].shape == (1, 110, 64)
    assert theirs["audio_spectrogram_transformer.embeddings.position_embeddings"].shape == (1, 1214, 64)
    torch.testing.assert_close(ours[prefix + "layers.0.attention.q_proj.weight"],
                               theirs["audio_spectrogram_transformer.layers.0.attention.q_proj.weight"])
    torch.testing.assert_close(ours[prefix + "layers.0.mlp.fc2.weight"],
                               theirs["audio_spectrogram_transformer.layers.0.mlp.fc2.weight"])
    torch.testing.assert_close(ours[prefix + "embeddings.cls_token"],
                               theirs["audio_spectrogram_transformer.embeddings.cls_token"])
    assert ours["ast.classifier.dense.weight"].shape == (11, 64)
    assert set(model.harmony_fresh) == {prefix + "embeddings.position_embeddings", "ast.classifier.dense.weight",
                                        "ast.classifier.dense.bias"}
    groups = parameter_groups(model)
    assert [p.shape for p in groups["classifier"]] == [(64,), (64,), (11, 64), (11,)]


def test_weights_round_trip_through_a_directory(tmp_path):
    first = build_model("mfcc_cnn")
    (tmp_path / "run").mkdir()
    save_file(first.state_dict(), str(tmp_path / "run" / "model.safetensors"))
    second = build_model("mfcc_cnn", weights=tmp_path / "run")
    for key, value in first.state_dict().items():
        torch.testing.assert_close(second.state_dict()[key], value)
    count = len(first.state_dict())
    assert second.harmony_weights == f"given checkpoint: {count}/{count} tensors from {tmp_path / 'run' / 'model.safetensors'}"


def test_the_fixture_checkpoints_load_as_the_real_ones_do(tmp_path):
    """make-fixture --weights: random weights in the formats of timm/resnet50.tv_in1k and of a Hugging Face
    folder of MIT/ast-finetuned-audioset-10-10-0.4593 (config.json + model.safetensors)."""
    from harmonylib.data.fixture import make_weights

    files = make_weights(tmp_path)
    assert files["resnet50"].name == "model.safetensors"
    assert {p.name for p in files["ast"].iterdir()} == {"config.json", "model.safetensors"}
    resnet = build_model("resnet50", weights=files["resnet50"])
    assert resnet.harmony_pretrained and set(resnet.harmony_fresh) == {"fc.weight", "fc.bias"}
    assert resnet.harmony_weights.startswith(f"given checkpoint: 318/320 tensors from {files['resnet50']}")
    ast = build_model("ast", weights=files["ast"], max_length=100)  # the paper's 1-s input
    prefix = "ast.audio_spectrogram_transformer."
    assert set(ast.harmony_fresh) == {prefix + "embeddings.position_embeddings", "ast.classifier.dense.weight",
                                      "ast.classifier.dense.bias"}
    assert str(files["ast"] / "model.safetensors") in ast.harmony_weights
    full = build_model("ast", weights=files["ast"], max_length=1024)  # 10-s input: the published embeddings fit
    assert set(full.harmony_fresh) == {"ast.classifier.dense.weight", "ast.classifier.dense.bias"}


def test_weights_that_are_not_plain_tensors_are_refused(tmp_path):
    path = write_pickle_payload(tmp_path / "evil.pt", tmp_path / "pickle-ran")
    with pytest.raises(HarmonyError, match="evil.pt"):
        build_model("raw_cnn", weights=path)
    assert not (tmp_path / "pickle-ran").exists()  # refused before any of the pickle's code ran
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(HarmonyError, match="broken.safetensors"):
        build_model("raw_cnn", weights=tmp_path / "broken.safetensors")
    save_file({"unrelated": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(HarmonyError, match="no tensor"):
        load_weights(build_model("raw_cnn"), tmp_path / "other.safetensors")
    with pytest.raises(HarmonyError, match="does not exist"):
        build_model("raw_cnn", weights=tmp_path / "missing.safetensors")


class _Images(torch.utils.data.Dataset):
    """Four random 3 x 32 x 32 'mel images' with labels (training items; evaluation items add a clip index)."""

    def __init__(self, clips: bool):
        generator = torch.Generator().manual_seed(1)
        self.x, self.y, self.clips = torch.randn(4, 3, 32, 32, generator=generator), torch.eye(11)[:4], clips

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return (self.x[i], self.y[i], i) if self.clips else (self.x[i], self.y[i])


def test_a_cached_timm_checkpoint_trains_with_table_4_4_and_the_run_records_it(tmp_path):
    import timm

    from harmonylib import runs
    from harmonylib.config import get_profile
    from harmonylib.recipes import PAPER_GROUPS, settings_for
    from harmonylib.train import fit

    # timm/resnet50.tv_in1k where the Hugging Face cache keeps it: the path the real weights take
    snapshot = tmp_path / "hf" / "models--timm--resnet50.tv_in1k" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc")
    save_file(timm.create_model("resnet50", pretrained=False, num_classes=1000).state_dict(),
              str(snapshot / "model.safetensors"))
    model = build_model("resnet50")
    assert model.harmony_pretrained and model.harmony_weights.startswith("ImageNet-1k pretrained: ")
    settings = settings_for("resnet50", get_profile("smoke"), epochs=1, from_scratch=not model.harmony_pretrained)
    assert settings.groups == PAPER_GROUPS["resnet50"]  # Table 4.4's fine-tuning rates, not the from-scratch ones
    settings = dataclasses.replace(settings, batch_size=2)  # two optimiser steps
    fit(model, _Images(False), _Images(True), settings, tmp_path / "run", lambda x: x, log=lambda m: None)
    run = runs.open_run(tmp_path / "run")
    assert run.config["weights"] == run.summary["weights"] == model.harmony_weights
