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
# # 31 · Training the MFCC 2-D CNN
#
# **Reproduces:** report 4.2 (the MFCC 2-D CNN, Figure 4.2's architecture), its column of Table 4.3
# and, through chapter 5, the MFCC bars of Figures 5.2 and 5.7.
# **Writes:** Table 4.3 (`tab4.3_cnn_hyperparameters`, shared with notebooks 30 and 32) and a run
# folder `build/runs/<run_name>/` (checkpoints, `metrics.csv`, `run.json`, and the validation/test
# window probabilities `predictions_<dataset>_<split>.npz` for chapter 5).
# **Differs from the report:** as notebook 30: checkpoints chosen by validation macro F1 (S2 at 0.5)
# instead of the degenerate BCE of S2 scores (`select="s2_bce"` restores it), seeded and resumable
# runs, nothing dropped at evaluation, the `default` profile's scale-downs (printed below), and
# SynthIRMAS data, whose numbers are **not** IRMAS results. The MFCCs are computed batched on the
# device (`harmonylib.inputs.MFCCInput`, tested against librosa) instead of per item with librosa.
#
# Forty MFCCs of a 1-s window (87 frames at hop 512) are resized to a 40 x 256 image (report 4.2:
# "to make it universal and capable of handling different input sizes"), and four blocks of 2-D
# convolution, batch norm, ReLU and 2x2 max pooling (kernels 4x4, then 2x10, wide in time) feed the
# same two-layer head as the raw-audio CNN.

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
eval_datasets = None  # test sets to predict; None: the training data set's
run_name = None  # None: "<profile>-mfcc_cnn_w<window>[_<sampling><max_sampled>]"

# %%
import sys

import torch
from harmonylib import paths
from harmonylib.augment import AudioAugment
from harmonylib.config import get_profile
from harmonylib.data import prepare
from harmonylib.distributed import init_distributed
from harmonylib.inputs import make_input
from harmonylib.io import Provenance, save_table
from harmonylib.models import build_model, count_parameters
from harmonylib.predict import save_model_input
from harmonylib.train import (MODEL_INPUTS, dataset_splits, evaluation_set, fit, hyperparameter_table, model_config,
                              paper_groups, predict_for_evaluation, settings_for, show_run, training_set)

MODEL = "mfcc_cnn"
NOTEBOOK = "31_train_mfcc_cnn"
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
# The MFCC image is computed on the device from the waveform batch. Training batches get the audio
# augmentations of report 3.4 (pitch shift, time shift, noise) before the MFCCs are computed; the
# spectrogram masks are left out because MFCCs are cepstral coefficients, not mel bands, so a
# "frequency" mask would hide decorrelated coefficients rather than a band of the spectrum.

# %%
model = build_model(MODEL, **model_config(MODEL, P, window))
model_input = make_input(MODEL_INPUTS[MODEL], P, splits["mean"], splits["std"])
audio_augment = AudioAugment(splits["mean"], splits["std"])


def train_input(wave, generator):
    return model_input(audio_augment(wave, generator))


settings = settings_for(MODEL, P, weight_decay, epochs, seed, select,
                        extra={"dataset": dataset, "window": window, "sampling": sampling, "max_sampled": max_sampled,
                               "eval_datasets": eval_datasets, "weight_decay": weight_decay,
                               "augmentation": [repr(audio_augment)]})
print(f"{count_parameters(model):,} parameters; weights: {model.harmony_weights}")
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
# ## Table 4.3
# The hyper-parameters of the three CNNs (shared by notebooks 30-32), the report's beside this
# profile's. Written only by a run with the report's hyper-parameters, so the table never shows
# a variant's value.

# %%
if settings.groups == paper_groups(MODEL):
    table = hyperparameter_table(["raw_cnn", "mfcc_cnn", "features_cnn"], P)
    save_table(table, "4.3", "cnn_hyperparameters",
               "Hyperparameters of the 1-D raw audio, 2-D MFCC and 1-D audio features CNN models",
               Provenance(splits["name"], P.name, "random init (trained from scratch, as in the paper)"),
               notebook=NOTEBOOK)
    print(table.to_string(index=False))

# %% [markdown]
# ## Exercises
# 1. The report never tried 13 coefficients (4.2). Change `P.features.n_mfcc` to 13 through
#    `dataclasses.replace` and retrain: how do the parameter count and the validation F1 change?
# 2. Resizing 87 frames to 256 columns interpolates. Replace the resize by zero padding to 256 frames
#    and compare the curves.
# 3. Which kernel of the model sees the widest span of time, in milliseconds of audio?
