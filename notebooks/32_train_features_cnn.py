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
dataset = "irmas"  # training data: "irmas" (SynthIRMAS at synthetic profiles), "irmas_dr" (SynthIRMAS-DR) or "audioset"
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
model_input.fit(static_windows.batch(sample[first:first + 64], job.device)[0] for first in range(0, len(sample), 64))
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
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · Unscaled rows, counted in optimiser steps.** The original fed the 40 rows unscaled. From the row
# statistics fitted above (`model_input.row_mean`, `row_std`), which rows dominate the first layer's input?
# A standardised row is $(x - \mu)/\sigma$, so to give an *unscaled* row the same say, its first-layer
# weights must be about $1/\sigma$ times those a standardised row gets. They start on the scale
# $w_0 = 1/\sqrt{40 \cdot 8}$ (PyTorch's initialisation for 40 rows and a kernel of 8), and Adam moves a
# weight by at most about its learning rate per step: how many steps would each row's weights need to go
# from $w_0$ to $w_0/\sigma$, against the steps of this run and of the paper's 35 epochs?
# *You should find:* rolloff, bandwidth and centroid (standard deviations of about 1900, 960 and 830 Hz)
# dominate; the rows with $\sigma > 1$ only have to shrink their weights, which takes at most
# $w_0/\mathrm{lr}$ = 56 steps; 16 rows must grow them, 9 by more than the default run's 132 steps: six of
# the 12 chroma rows (up to about 140 steps), ZCR (about 2,000), flatness (about 17,000) and the polynomial
# slope (about 97,000, more than even the paper's 44,030).
# *Time:* under a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** Rows measured in Hz vary by hundreds to thousands, flatness and the polynomial slope by
# thousandths. A convolution weighs its input rows with weights that start on the same small scale for every
# row ($w_0 \approx 0.056$ here), so the rows in Hz decide the first layer's output from the start (notebook
# 20 measures 99.8 % of its variance). To change that, training would have to shrink the Hz rows' weights
# and grow the small rows' by their inverse scale. Adam normalises each weight's update, so a weight moves
# by at most about the learning rate (10⁻³, decaying) per step, whatever the size of its gradient: going
# from $w_0$ to $w_0/\sigma$ takes at least $w_0\,|1/\sigma - 1| / 10^{-3}$ steps. Shrinking is quick: a
# weight can fall by at most $w_0$, 56 steps. Growing is not: measured on SynthIRMAS at the
# default profile (row statistics of 512 training windows), 9 of the 16 rows with $\sigma < 1$ need more
# than the run's 132 steps: six of the twelve chroma rows (up to about 140), ZCR, flatness and the
# polynomial slope, which needs more than the paper's 44,030. Weight decay pulls large weights back towards
# zero on top of that. Unscaled, the rows of tiny spread are as good as absent;
# standardised, each of them starts with the same say as every other. (Validation curves with and without
# the standardisation would need two trainings; the step count shows why the unscaled rows would hardly
# take part.)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
import math  # noqa: E402

import pandas as pd  # noqa: E402

from harmonylib import reference  # noqa: E402
from harmonylib.features import GENERAL_FEATURE_NAMES  # noqa: E402
from harmonylib.train import steps_per_epoch  # noqa: E402

rows = pd.DataFrame({"mean": model_input.row_mean.cpu().numpy(), "std": model_input.row_std.cpu().numpy()},
                    index=GENERAL_FEATURE_NAMES).sort_values("std", ascending=False)
lr = result.settings.groups[0].lr
first = model.features[0]  # Conv1d: 40 rows -> 32 channels, kernel 8
w0 = 1 / math.sqrt(first.in_channels * first.kernel_size[0])  # the scale of PyTorch's initial weights
rows["Adam steps from w0 to w0/std"] = w0 * (1 / rows["std"] - 1).abs() / lr
run_steps = result.settings.epochs * steps_per_epoch(result.settings, len(job.train_set))[1]
paper_steps = reference.PAPER_EPOCHS * math.ceil(3 * sum(reference.IRMAS_TRAIN_COUNTS.values())
                                                  / reference.PAPER_BATCH_SIZE)  # three 1-s windows per clip
grow = rows[rows["std"] < 1]
print(f"row statistics of {len(sample)} training windows (the largest five and the smallest four); "
      f"w0 = {w0:.3f}, lr = {lr:g}:")
print(rows.iloc[[0, 1, 2, 3, 4, -4, -3, -2, -1]].to_string(float_format="%.3g"))
print(f"{len(rows) - len(grow)} rows must shrink their weights (at most {w0 / lr:.0f} steps); {len(grow)} must grow "
      f"them, {(grow['Adam steps from w0 to w0/std'] > run_steps).sum()} of these by more than this run's "
      f"{run_steps} steps and {(grow['Adam steps from w0 to w0/std'] > paper_steps).sum()} by more than the paper's "
      f"{paper_steps}")
print("rows that need more than this run's steps:",
      ", ".join(grow.index[grow["Adam steps from w0 to w0/std"] > run_steps]) or "none")

# %% [markdown]
# **2 · The 40 rows as one image.** Report 4.3's "future work" feeds the 40 rows as one 2-D image
# (1 × 40 × 87) to the MFCC CNN of notebook 31. Trace the image's width through that model's four blocks
# (a convolution takes away its kernel's width minus one, a pooling halves), count how many positions of its
# first 4-row kernel mix rows of different features, and compare the first layers' parameter counts
# (`layer_shapes`). What changes in what the first kernel can combine?
# *You should find:* 87 frames are too few (the width reaches 3 before the fourth block's 10-wide kernel; at
# least 145 columns are needed, so the rows must be resized, to 256 like the MFCCs); 14 of the 37 positions
# of the 4-row kernel straddle two feature groups; the first layer has 544 parameters instead of 10,272.
# *Time:* under a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** Widths: 87 → 84 → 42 → 33 → 16 → 7 → 3, and the fourth block's kernel, 10 columns wide,
# no longer fits; backwards from one column at the end, the image needs 145 columns, which is why the MFCC
# CNN resizes its 87 frames to 256. The deeper difference is what the first kernel sees. The features CNN's
# first kernel reads *all* 40 rows over 8 frames, 40 × 8 × 32 weights + 32 biases = 10,272 parameters, and
# may combine any rows, say the centroid with the third chroma bin. A 2-D kernel reads 4 neighbouring rows
# over 4 frames and slides *along the rows* with the same 4 × 4 × 32 weights + 32 biases (544): it assumes
# that neighbouring rows are related and that a pattern means the same wherever it appears, true of the
# frequency axis of a spectrogram or of MFCCs, not of a list of unrelated features. Here 14 of its 37
# positions straddle a boundary between features (MFCC 12 with the first chroma bins, ZCR with the centroid
# and RMS, ...), and the same weights must serve chroma rows and contrast bands alike. Rows far apart only
# meet after three poolings. The 2-D version therefore mixes *fewer* features early and shares weights
# where sharing has no meaning; it could pay only if the rows were ordered so that related ones sit together.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from harmonylib.models import count_parameters, layer_shapes  # noqa: E402

mfcc_cnn = build_model("mfcc_cnn")


def width_trace(columns: int) -> tuple[list[int], bool]:
    """The image's width after each convolution and pooling of the MFCC CNN, and whether it fits to the end."""
    widths = [columns]
    for layer in mfcc_cnn.features:
        if isinstance(layer, torch.nn.Conv2d):
            widths.append(widths[-1] - layer.kernel_size[1] + 1)
        elif isinstance(layer, torch.nn.MaxPool2d):
            widths.append(widths[-1] // layer.kernel_size)
        if widths[-1] < 1:
            return widths, False
    return widths, True


fewest = next(columns for columns in range(1, 1000) if width_trace(columns)[1])
print(f"widths from 87 frames: {width_trace(87)[0]} (does not fit); from 256 columns: {width_trace(256)[0]}; "
      f"the fewest columns that fit: {fewest}")
groups = [name.split("_")[0] for name in GENERAL_FEATURE_NAMES]
kernel_rows = mfcc_cnn.features[0].kernel_size[0]
starts = range(len(groups) - kernel_rows + 1)
mixed = [r for r in starts if len(set(groups[r:r + kernel_rows])) > 1]
print(f"{len(mixed)} of the {len(starts)} positions of the {kernel_rows}-row kernel mix feature groups, e.g. "
      + "; ".join(", ".join(GENERAL_FEATURE_NAMES[r:r + kernel_rows]) for r in mixed[:2]))
first_2d = layer_shapes(mfcc_cnn, torch.zeros(1, 1, 40, 256))[0]
first_1d = layer_shapes(model, torch.zeros(1, 40, 87, device=job.device))[0]
print(f"first layer: 1-D {first_1d['kernel']} over 40 channels, {first_1d['parameters']:,} parameters; 2-D "
      f"{first_2d['kernel']} over one channel, {first_2d['parameters']:,} parameters")
print(f"whole model: features CNN {count_parameters(model):,}, MFCC CNN {count_parameters(mfcc_cnn):,} parameters")

# %% [markdown]
# **3 · Which rows would you drop?** To save computing time, which row groups would you drop first, judging
# by notebook 13's ANOVA? Read its Table 2.5 (`tab2.5_anova.csv` in the figures folder, written by notebook
# 13 at the same profile), keep the 40 dimensions this model uses, and rank the row groups by their effect
# size $\eta^2$ (the share of a row's variance the instrument explains).
# *You should find:* RMS first (η² ≈ 0.03, the only row not significant), then flatness (0.12), the 12
# chroma rows (median 0.16), the largest group after the MFCCs and the one with the most work of its own,
# and the two polynomial coefficients (0.16).
# *Time:* under a second at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** Measured on SynthIRMAS at the default profile (Table 2.5 of notebook 13): RMS explains 3 %
# of its variance by the instrument and is the only one of the 40 rows that is not significant after Holm's
# correction; loudness says more about the recording than about the instrument. Next come flatness (12 %),
# the polynomial coefficients (16 %) and the chroma rows (median 16 %, at most 20 %), against 46 % for the
# best contrast band and 59 % for the best MFCC. Chroma is also the group with the most work of its own:
# each clip needs its own tuning estimate (a peak search over every frame) and its own filter bank
# (`GeneralFeatures.chroma_filters`), and it supplies 12 of the 40 channels. So RMS and chroma are the
# first candidates, and chroma the one that saves time. Two cautions before dropping anything. The ANOVA
# looks at one row at a time and at its mean over a clip, while the CNN sees combinations and the changes
# in time; a weak row can still help in combination. And notebook 13 shows that clips cut from one piece
# inflate F. The decisive test is a retraining without the group, compared with bootstrap intervals
# (notebook 51).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from harmonylib import paths  # noqa: E402

table_path = paths.figures_dir() / "tab2.5_anova.csv"
if not table_path.exists():
    print(f"{table_path} does not exist: run notebook 13 at this profile first")
else:
    anova = pd.read_csv(table_path, dtype={"dimension": str})
    anova["row"] = [f"{f}_{int(d):02d}" if f == "mfcc" else (f if d == "value" else f"{f}_{d}")
                    for f, d in zip(anova["feature"], anova["dimension"])]
    ours = anova[anova["row"].isin(GENERAL_FEATURE_NAMES)]
    print(f"{len(ours)} of the model's {len(GENERAL_FEATURE_NAMES)} rows found in Table 2.5; by row group:")
    print(ours.groupby("feature").agg(rows=("row", "size"), median_eta2=("eta2", "median"), max_eta2=("eta2", "max"),
                                      significant=("significant", "sum"))
          .sort_values("median_eta2").to_string(float_format="%.3f"))
