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
# # 32 · Training the audio-features 1-D CNN
#
# **Reproduces:** report 4.3 (the audio-features 1-D CNN, Figure 4.3's architecture), its column of
# Table 4.3 and, through chapter 5, the audio-features bars of Figures 5.2 and 5.7.
# **Writes:** Table 4.3 (`tab4.3_cnn_hyperparameters`, shared with notebooks 30 and 31) and a run
# folder `build/runs/<run_name>/` (checkpoints, `metrics.csv`, `run.json`, and the validation/test
# window probabilities for chapter 5).
# **Differs from the report:** each of the 40 feature rows is standardised with training statistics
# before the convolution: the original stacked them unscaled, so rows in Hz (centroid, rolloff, in
# the thousands) dwarfed rows in [0, 1] (REFERENCE.md §3). The features are computed batched on the
# device (`harmonylib.inputs.GeneralFeatures`, tested against librosa). Otherwise as notebook 30:
# checkpoint selection by validation macro F1 (`select="s2_bce"` restores the original), seeded and
# resumable, nothing dropped, the profile's scale-downs, and SynthIRMAS numbers that are **not**
# IRMAS results.
#
# The 40 rows (13 MFCCs, 12 chroma bins, zero-crossing rate, centroid, RMS, 7 contrast bands,
# bandwidth, rolloff, flatness and 2 polynomial coefficients; tonnetz left out after the ANOVA of
# notebook 13) of a 1-s window have 87 frames; each row is one input *channel* of a 1-D convolution
# over time (report 4.3), so rows interact only through the learned channel mixing.

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
run_name = None  # None: "<profile>-features_cnn_w<window>[_<sampling><max_sampled>]"

# %%
import sys

import numpy as np
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

MODEL = "features_cnn"
NOTEBOOK = "32_train_features_cnn"
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
# The row statistics for the standardisation come from a seeded sample of (unaugmented) training
# windows. Training batches get the audio augmentations of report 3.4 ("if we were using raw audio
# or general audio features, then only augmentations on raw audio would be used") before the
# features are computed.

# %%
model = build_model(MODEL, **model_config(MODEL, P, window))
model_input = make_input(MODEL_INPUTS[MODEL], P, splits["mean"], splits["std"])
static_windows = training_set(splits["train"], sr, window)
sample = np.random.default_rng(P.seed).permutation(len(static_windows))[:P.train.features_fit_windows]
sample_loader = torch.utils.data.DataLoader(torch.utils.data.Subset(static_windows, sample.tolist()), batch_size=64)
model_input.fit(batch[0].to(device) for batch in sample_loader)
print(f"row statistics from {len(sample)} training windows")
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
# 1. Train with `GeneralFeatures(..., standardise=False)` (the original's unscaled rows) and compare
#    the validation curves. Which rows dominate the first layer's input?
# 2. Feed the 40 rows as one 2-D image (1 x 40 x 87) to the MFCC CNN of notebook 31: the "future
#    work" of report 4.3. What changes in what the first kernel can combine?
# 3. Which row groups would you drop first to save computing time, judging by notebook 13's ANOVA?
