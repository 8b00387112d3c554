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
# before the convolution: the original code stacked them unscaled, so rows in Hz (centroid, rolloff,
# in the thousands) dwarfed rows in [0, 1]. The features are computed batched on the
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

# %% [markdown]
# ## Set-up and data
# `recipes.start_training` resolves the profile (printing how it scales the paper down), picks the
# device (joining torchrun's process group when there is one), seeds, and cuts the training and
# validation windows. Training windows inherit their clip's labels (report 4.6); validation and test
# clips are cut into windows whose outputs are aggregated per clip. Waveforms come from the decoded,
# cached store.

# %%
import numpy as np
import torch
from harmonylib import recipes
from harmonylib.augment import AudioAugment
from harmonylib.inputs import make_input
from harmonylib.models import build_model

MODEL = "features_cnn"
job = recipes.start_training(MODEL, "32_train_features_cnn", profile, data_dir, dataset=dataset, window=window,
                             sampling=sampling, max_sampled=max_sampled, eval_datasets=eval_datasets,
                             run_name=run_name)

# %% [markdown]
# ## Model, input and training
# The row statistics for the standardisation come from a seeded sample of (unaugmented) training
# windows. Training batches get the audio augmentations of report 3.4 ("if we were using raw audio
# or general audio features, then only augmentations on raw audio would be used") before the
# features are computed.

# %%
model = build_model(MODEL, **job.model_config())
model_input = make_input(recipes.MODEL_INPUTS[MODEL], job.profile, job.splits.mean, job.splits.std)
static_windows = recipes.training_set(job.splits.train, job.sample_rate, job.window)
order = np.random.default_rng(job.profile.seed).permutation(len(static_windows))
sample = order[:job.profile.train.features_fit_windows]
sample_loader = torch.utils.data.DataLoader(torch.utils.data.Subset(static_windows, sample.tolist()), batch_size=64)
model_input.fit(batch[0].to(job.device) for batch in sample_loader)
print(f"row statistics from {len(sample)} training windows")
audio_augment = AudioAugment(job.splits.mean, job.splits.std)
augmentations = [audio_augment]


def train_input(wave, generator):
    return model_input(audio_augment(wave, generator))


result = recipes.train_run(job, model, model_input, train_input, augmentations, weight_decay=weight_decay,
                           epochs=epochs, seed=seed, select=select)

# %% [markdown]
# ## Predictions for chapter 5
# The selected checkpoint scores every window of the validation and test clips; the window
# probabilities are saved so the evaluation chapter can aggregate them (S1, S2) and bootstrap them.
# Below, the test clips with S2 at 0.5 beside the *all-positive* baseline, which predicts every
# instrument for every clip (its recall is 1; a model must beat its macro F1 to be of use).

# %%
scores = recipes.predict_for_evaluation(job, result, model, model_input)
print(scores.to_string(index=False))

# %% [markdown]
# ## Table 4.3
# The hyper-parameters of the three CNNs (shared by notebooks 30-32), the report's beside this
# profile's. Written only by a run with the report's hyper-parameters, so the table never shows
# a variant's value.

# %%
table = recipes.save_hyperparameter_table(job, result, model)
print("Table 4.3 is written by the run with the report's weight decay" if table is None
      else table.to_string(index=False))

# %% [markdown]
# ## Exercises
# 1. Train with `GeneralFeatures(..., standardise=False)` (the original's unscaled rows) and compare
#    the validation curves. Which rows dominate the first layer's input?
# 2. Feed the 40 rows as one 2-D image (1 x 40 x 87) to the MFCC CNN of notebook 31: the "future
#    work" of report 4.3. What changes in what the first kernel can combine?
# 3. Which row groups would you drop first to save computing time, judging by notebook 13's ANOVA?
