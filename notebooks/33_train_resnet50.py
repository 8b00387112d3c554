# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 33 · Training ResNet-50 on mel spectrograms
#
# **Reproduces:** report 4.4 (ResNet-50, Table 4.4) and, through chapter 5, every ResNet-50 bar of
# Figures 5.1, 5.3, 5.4, 5.5a, 5.7 and 5.8: the experiment grid runs this notebook with different
# windows, sampling modes and training data.
# **Writes:** Table 4.4 (`tab4.4_resnet50_hyperparameters`) and a run folder
# `build/runs/<run_name>/` (checkpoints, `metrics.csv`, `run.json`, validation/test window
# probabilities for chapter 5).
# **Differs from the report:** the report fine-tuned ImageNet-1k weights. They cannot be downloaded
# here (no internet), so unless they are already in the local timm/Hugging Face cache the network
# starts from **random initialisation**, and every figure says so (`weights:` in its footer). Place
# the checkpoint in the cache, or pass `weights=PATH` to `build_model`, to train as the report did.
# A randomly initialised network then trains with a from-scratch learning rate, 1e-3 instead of
# Table 4.4's fine-tuning rate 2e-4 (`harmonylib.train.SCRATCH_GROUPS`, chosen on SynthIRMAS's
# validation split): with the fine-tuning rate it barely left the all-positive baseline in the
# `default` profile's six short epochs. Pretrained weights get Table 4.4's rates unchanged.
# Checkpoints are chosen by validation macro F1 (S2 at 0.5) instead of the degenerate BCE of S2
# scores (`select="s2_bce"` restores it); runs are seeded and resumable; nothing is dropped at
# evaluation; the `default` profile's scale-downs (smaller mel image, fewer epochs) are printed below
# and on the figures; SynthIRMAS numbers are **not** IRMAS results.
#
# The input is the mel spectrogram in dB, resized to a square image and repeated over three channels
# (report 3.1.2), augmented during training by pitch shift, time shift and noise on the waveform and
# by frequency and time masks on the spectrogram (report 3.4), all computed batched on the device.
# timm's ResNet-50 loses its ImageNet head; dropout 0.2 and a linear layer 2048 -> 11 replace it.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None
dataset = "irmas"  # training data: "irmas" (SynthIRMAS at synthetic profiles) or "audioset"
window = 1  # seconds
sampling = "static"  # "static" | "tds" (true dynamic sampling) | "bspds" (base-sample persistent)
max_sampled = None  # dynamic sampling: at most this many windows mixed into one example
weight_decay = None  # None: Table 4.3's 5e-4
epochs = None  # None: the profile's
seed = None  # None: the profile's
select = "macro_f1"  # checkpoint selection: "macro_f1" | "clip_bce" | "s2_bce" (the original's)
eval_datasets = ["irmas", "audioset"]  # test sets to predict (the static 1-s run is also a row of Figure 5.4)
weights = None  # a local ImageNet checkpoint (file or directory); None: the local cache, else random init
run_name = None  # None: "<profile>-resnet50_w<window>[_<sampling><max_sampled>]"

# %%
import sys

import torch
from harmonylib import paths
from harmonylib.augment import AudioAugment, SpecAugment
from harmonylib.config import get_profile
from harmonylib.data import prepare
from harmonylib.distributed import init_distributed
from harmonylib.inputs import make_input
from harmonylib.io import Provenance, save_table
from harmonylib.models import build_model, count_parameters
from harmonylib.predict import save_model_input
from harmonylib.train import (MODEL_INPUTS, dataset_splits, evaluation_set, fit, hyperparameter_table, model_config,
                              paper_groups, predict_for_evaluation, settings_for, show_run, training_set)

MODEL = "resnet50"
NOTEBOOK = "33_train_resnet50"
P = get_profile(profile)
rank, world, device = init_distributed(P.torch_device())
torch.manual_seed(P.seed)
eval_datasets = list(eval_datasets or [dataset])
run_name = run_name or f"{P.name}-{MODEL}_w{window}" + ("" if sampling == "static" else f"_{sampling}{max_sampled}")
print(f"profile {P.name}, device {device}, {world} process(es), run {run_name}")
for item in P.scale_downs:
    print("scale-down:", item)

# %% [markdown]
# ## Data
# Training windows inherit their clip's labels (report 4.6); validation and test clips are cut into
# windows whose outputs are aggregated per clip. Waveforms come from the decoded, cached store.

# %%
data = prepare(P, data_dir)
splits = dataset_splits(data, dataset)
sr = P.features.sample_rate
train_set = training_set(splits["train"], sr, window, sampling, max_sampled, P.seed)
val_set = evaluation_set(splits["val"], sr, window, P.train.max_eval_windows)
print(f"{splits['name']}: {len(splits['train'])} training clips -> {len(train_set)} training examples "
      f"({sampling}); {len(splits['val'])} validation clips -> {len(val_set)} windows")

# %% [markdown]
# ## Model, input and training
# Training batches are augmented (report 3.4): pitch shift, time shift and noise on the waveform,
# then two frequency and two time masks on the mel spectrogram. Each augmentation draws its random
# numbers from a generator the engine seeds per epoch, so a resumed run repeats them. The learning
# rates are Table 4.4's when pretrained weights were loaded and the from-scratch ones otherwise
# (`from_scratch`, printed with the settings below and in Table 4.4).

# %%
model = build_model(MODEL, weights=weights, **model_config(MODEL, P, window))
model_input = make_input(MODEL_INPUTS[MODEL], P, splits["mean"], splits["std"])
audio_augment = AudioAugment(splits["mean"], splits["std"])
spec_augment = SpecAugment()


def train_input(wave, generator):
    return model_input(audio_augment(wave, generator), spec_augment, generator)


from_scratch = not model.harmony_pretrained
settings = settings_for(MODEL, P, weight_decay, epochs, seed, select,
                        extra={"dataset": dataset, "window": window, "sampling": sampling, "max_sampled": max_sampled,
                               "eval_datasets": eval_datasets, "weight_decay": weight_decay,
                               "augmentation": [repr(audio_augment), repr(spec_augment)]},
                        from_scratch=from_scratch)
print(f"input {tuple(model_input(torch.zeros(1, int(window * sr), device=device)).shape[1:])}; "
      f"{count_parameters(model):,} parameters; weights: {model.harmony_weights}")
print("optimiser:", ", ".join(f"{g.name}: lr {g.lr:g} -> {g.lr_end:g}, L2 {g.weight_decay:g}" for g in settings.groups),
      "(from-scratch rates)" if from_scratch else "(Table 4.4)")
result = fit(model, train_set, val_set, settings, paths.runs_dir() / run_name, model_input, train_input,
             device=device)
if rank:  # under torchrun the other processes are done
    sys.exit(0)
save_model_input(result.run_dir, model_input, P, splits["mean"], splits["std"], window)  # for `harmonylib predict`
provenance = Provenance(splits["name"], P.name, model.harmony_weights)

# %%
show_run(result, f"{run_name}: {splits['name']}, window {window} s, sampling {sampling}\n{provenance.label()}")

# %% [markdown]
# ## Predictions for chapter 5
# The selected checkpoint scores every window of the validation and test clips; the window
# probabilities are saved so the evaluation chapter can aggregate them (S1, S2) and bootstrap them.
# Below, the test clips with S2 at 0.5 beside the *all-positive* baseline, which predicts every
# instrument for every clip (its recall is 1; a model must beat its macro F1 to be of use).

# %%
scores = predict_for_evaluation(model, model_input, data, dataset, eval_datasets, result.run_dir, P, window, device,
                                settings.eval_batch_size)
print(scores.to_string(index=False))

# %% [markdown]
# ## Table 4.4
# ResNet-50's hyper-parameters, the report's beside this profile's (with the from-scratch learning
# rates when the network starts from random initialisation). Written only by a run with the report's
# weight decay, so the table never shows a variant's value.

# %%
if settings.groups == paper_groups(MODEL, from_scratch=from_scratch):
    table = hyperparameter_table([MODEL], P, from_scratch)
    save_table(table, "4.4", "resnet50_hyperparameters", "Standard hyperparameters of our ResNet-50 model",
               provenance, notebook=NOTEBOOK)
    print(table.to_string(index=False))

# %% [markdown]
# ## Exercises
# 1. Compare the validation curves with and without augmentation (`train_input=None` in `fit`). On
#    which metric does augmentation matter most after a few epochs?
# 2. The mel image is one spectrogram repeated over three channels. Build the model with
#    `in_chans=1` (timm sums the pretrained first-layer weights over RGB): how many parameters does
#    that save, and what does it cost?
# 3. Run with `sampling="bspds", max_sampled=5` (papermill `-p sampling bspds -p max_sampled 5`) and
#    compare the training loss curve with the static run's. Why is it higher?
