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
# # 35 · The five models and their learning-rate schedule
#
# **Reproduces:** report chapter 4's overview: Table 4.1 (the models and their sizes), Table 4.2
# (the raw-audio CNN layer by layer), the architectures of Figures 4.2 and 4.3 (as layer tables) and
# Figure 4.1 (the learning-rate schedule).
# **Writes:** `tab4.1_models_overview`, `tab4.2_raw_cnn_architecture`, `fig4.1_learning_rate_schedule`.
# **Differs from the report:** nothing is typed in. Parameter counts are *measured* on the models
# `harmonylib.models.build_model` builds, at the report's configuration and at this profile's
# (scaled-down) one; the shapes of Table 4.2 come from running a tensor through the model with forward
# hooks; Figure 4.1 is drawn by the very scheduler the training engine steps. The table also says
# where each model's initial weights come from here: ImageNet / AudioSet checkpoints cannot be
# downloaded on this machine, so without a local copy ResNet-50 and AST start from random
# initialisation, unlike the report's.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import transformers  # noqa: F401  (imported first so its import-time warnings stay out of checked cells)
from harmonylib.config import get_profile
from harmonylib.io import Provenance, save_figure, save_table
from harmonylib.models import DISPLAY_NAMES, MODEL_NAMES, build_model, count_parameters, find_pretrained, layer_shapes
from harmonylib.recipes import model_config, paper_groups, settings_for
from harmonylib.reference import IRMAS_TRAIN_COUNTS, PAPER_BATCH_SIZE, PAPER_EPOCHS, PAPER_PARAMETERS
from harmonylib.train import lr_schedule, steps_per_epoch

P = get_profile(profile)
NOTEBOOK = "35_models_overview"

# %% [markdown]
# ## Table 4.1: the models
# "Report config" is the paper's: ResNet-50 on 3 x 256 x 256 images, AST-base with 12 layers of width
# 768 and the 10-s input (1214 position embeddings; with 1-s inputs it has 85,349,387). Models are
# built on PyTorch's `meta` device to count them: shapes only, no memory. The last columns are this
# profile's models and where their initial weights come from.

# %%
# NBVAL_CHECK_OUTPUT
ARCHITECTURE = {"raw_cnn": "CNN", "mfcc_cnn": "CNN", "features_cnn": "CNN", "resnet50": "CNN", "ast": "Transformer"}
PAPER_CONFIG = {"ast": {"max_length": 1024}}
rows = []
for name in MODEL_NAMES:
    with torch.device("meta"):
        paper_model = build_model(name, pretrained=False, **PAPER_CONFIG.get(name, {}))
        profile_model = build_model(name, pretrained=False, **model_config(name, P))
    pretrained = name in ("resnet50", "ast")
    if not pretrained:
        weights = "random init (trained from scratch, as in the paper)"
    elif find_pretrained(name) is not None:
        weights = "pretrained checkpoint found in the local cache"
    else:
        weights = f"random init ({'ImageNet-1k' if name == 'resnet50' else 'AudioSet'} weights not available offline)"
    measured = count_parameters(paper_model)
    rows.append({"Model": DISPLAY_NAMES[name], "Architecture": ARCHITECTURE[name],
                 "Pre-trained (report)": "Yes" if pretrained else "No",
                 "Num. params (report)": PAPER_PARAMETERS[name], "Num. params (measured, report config)": measured,
                 "Difference (%)": round(100 * (measured - PAPER_PARAMETERS[name]) / PAPER_PARAMETERS[name], 3),
                 f"Num. params ({P.name} profile)": count_parameters(profile_model),
                 f"Initial weights ({P.name} profile)": weights})
table41 = pd.DataFrame(rows)
print(table41.drop(columns=f"Initial weights ({P.name} profile)").to_string(index=False))
_ = save_table(table41, "4.1", "models_overview", "Overview of the models used (parameter counts measured)",
               Provenance("n/a (architectures only)", P.name, "see the column 'Initial weights'"), notebook=NOTEBOOK)

# %%
for row in rows:
    print(f"{row['Model']}: {row[f'Initial weights ({P.name} profile)']}")

# %% [markdown]
# ## Table 4.2: the raw-audio 1-D CNN, layer by layer
# A 1-s window at 44.1 kHz, `(B, 1, 44100)`, is run through the model with a forward hook on every
# layer. The report's table lists each layer's input shape and omits ReLU and batch norm; so does
# this one (their shapes equal the convolution's output). The first convolution (kernel 440, stride 2)
# leaves (44100 - 440) / 2 + 1 = 21,831 steps; each 4x max pool divides by four, rounding down.

# %%
# NBVAL_CHECK_OUTPUT
def shape(t):
    return "(B, " + ", ".join(str(s) for s in t[1:]) + ")"


def kernel(row):
    if row["type"].startswith("Conv"):
        return f"{row['kernel']}, stride = {row['stride'][0]}"
    if row["type"].startswith("MaxPool"):
        return f"{row['kernel']}, stride = {row['stride']}"
    return "-"


raw_layers = layer_shapes(build_model("raw_cnn"), torch.zeros(1, 1, 44100))
table42 = pd.DataFrame([{"Layer": r["layer"], "Type": r["type"], "Shape in": shape(r["shape_in"]),
                         "Shape out": shape(r["shape_out"]), "Kernel": kernel(r), "Parameters": r["parameters"]}
                        for r in raw_layers if r["type"] not in ("ReLU", "Dropout")])
print(table42.to_string(index=False))
print("total parameters:", sum(r["parameters"] for r in raw_layers))
_ = save_table(table42, "4.2", "raw_cnn_architecture",
               "Architecture of a 1-D CNN on raw audio (shapes measured with forward hooks; BatchNorm rows shown)",
               Provenance("n/a (architecture only)", P.name, "random init"), notebook=NOTEBOOK)

# %% [markdown]
# ## Figures 4.2 and 4.3 as tables: the MFCC and audio-features CNNs
# The report draws these two architectures; here are the same layers with the shapes a 1-s window
# produces (MFCC image 1 x 40 x 256; 40 feature rows x 87 frames).

# %%
# NBVAL_CHECK_OUTPUT
for name, example in (("mfcc_cnn", torch.zeros(1, 1, 40, 256)), ("features_cnn", torch.zeros(1, 40, 87))):
    layers = layer_shapes(build_model(name), example)
    print(f"{DISPLAY_NAMES[name]} ({sum(r['parameters'] for r in layers):,} parameters)")
    print(pd.DataFrame([{"Type": r["type"], "Shape in": shape(r["shape_in"]), "Shape out": shape(r["shape_out"]),
                         "Kernel": kernel(r), "Parameters": r["parameters"]}
                        for r in layers if r["type"] not in ("ReLU", "Dropout")]).to_string(index=False))
    print()

# %% [markdown]
# ResNet-50 and AST are library models (timm, transformers); their shape in one line each. The AST
# input of a 1-s window has 100 frames of 128 bins; 16 x 16 patches with stride 10 give
# 12 x 9 = 108 tokens, plus [CLS] and distillation tokens: 110 position embeddings (report 4.5).

# %%
# NBVAL_CHECK_OUTPUT
with torch.device("meta"):
    ast = build_model("ast", pretrained=False, max_length=100)
embeddings = ast.ast.audio_spectrogram_transformer.embeddings
print("AST 1-s: position embeddings", tuple(embeddings.position_embeddings.shape),
      "| patches (freq x time):", embeddings.get_shape(ast.ast.config))
print("ResNet-50: (B, 3, 256, 256) -> 2048 pooled features -> dropout 0.2 -> linear 2048 -> 11")

# %% [markdown]
# ## Figure 4.1: the learning-rate schedule
# Linear warm-up over the first 5 % of the optimiser steps, then polynomial decay with power 0.7 to
# the final rate (report chapter 4), stepped after every batch. Drawn from
# `transformers.get_polynomial_decay_schedule_with_warmup`, the scheduler `harmonylib.train.fit`
# uses, for the report's 35 epochs (solid) and as this profile trains (dashed: its epochs, and for
# ResNet-50 and AST without their pretrained weights the from-scratch rates of
# `harmonylib.recipes.SCRATCH_GROUPS`, see notebooks 33 and 34); the curve's shape depends only on the
# fraction of training done, so the x axis is in epochs. AST's backbone and
# classifier each have their own optimiser and schedule: transformers' scheduler computes its end
# rate from the optimiser's default learning rate, so two groups in one optimiser could not both
# end at their own final rate.

# %%
curves = [("CNNs (Table 4.3)", "raw_cnn", 0), ("ResNet-50 (Table 4.4)", "resnet50", 0),
          ("AST backbone (Table 4.5)", "ast", 0), ("AST classifier (Table 4.5)", "ast", 1)]
colors = plt.get_cmap("tab10").colors
fig, ax = plt.subplots(figsize=(8, 4))
per_epoch = 200  # optimiser steps drawn per epoch: enough to resolve the warm-up
for (label, model, index), color in zip(curves, colors):
    paper = lr_schedule(paper_groups(model)[index], PAPER_EPOCHS * per_epoch)
    ax.plot(np.arange(len(paper)) / per_epoch, paper, color=color, label=label)
    from_scratch = model in ("resnet50", "ast") and find_pretrained(model) is None
    ours = settings_for(model, P, from_scratch=from_scratch)
    steps = ours.epochs * per_epoch
    ax.plot(np.arange(steps) / per_epoch, lr_schedule(ours.groups[index], steps), color=color, linestyle="--",
            linewidth=1)
ax.set(yscale="log", xlabel="epoch", ylabel="learning rate",
       title=f"Polynomial decay (power 0.7) after a 5 % linear warm-up; dashed: as the {P.name} profile trains")
ax.title.set_fontsize(9)
ax.legend(fontsize=8)
windows = 3 * sum(IRMAS_TRAIN_COUNTS.values())  # three 1-s windows per 3-s training clip
batches = int(np.ceil(windows / PAPER_BATCH_SIZE))
print(f"report: {PAPER_EPOCHS * batches:,} optimiser steps for {PAPER_EPOCHS} epochs of IRMAS's {windows:,} 1-s "
      f"training windows, batch {PAPER_BATCH_SIZE}; warm-up {int(np.ceil(0.05 * PAPER_EPOCHS * batches)):,} steps")
ours = settings_for("resnet50", P)
print(f"{P.name} profile: {ours.epochs} epochs x {steps_per_epoch(ours, windows)[1]} steps at most")
_ = save_figure(fig, "4.1", "learning_rate_schedule", "Learning rate behaviour throughout the training",
                Provenance("n/a (schedule only)", P.name, "n/a"), notebook=NOTEBOOK)
plt.show()

# %% [markdown]
# ## Exercises
# 1. The AST with 10-s input has 86.2 M parameters, with 1-s input 85.3 M. Which tensor makes the
#    difference, and how many of its values did the report discard?
# 2. Change the warm-up to 0 and the power to 1 in `lr_schedule`: which schedule is that, and in
#    which epochs would it hurt a pretrained model the most?
# 3. timm's `in_chans=1` removes 2/3 of ResNet-50's first convolution. Compute the saving from
#    Table 4.1's numbers and check it with `count_parameters`.
