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
# uses, one panel per optimiser group, for the report's 35 epochs (solid) and as this profile trains
# (dashed: its epochs, and for ResNet-50 and AST without their pretrained weights the from-scratch rates
# of `harmonylib.recipes.SCRATCH_GROUPS`, see notebooks 33 and 34); the curve's shape depends only on the
# fraction of training done, so the x axis is in epochs. AST's backbone and
# classifier each have their own optimiser and schedule: transformers' scheduler computes its end
# rate from the optimiser's default learning rate, so two groups in one optimiser could not both
# end at their own final rate.

# %%
curves = [("CNNs (Table 4.3)", "raw_cnn", 0), ("ResNet-50 (Table 4.4)", "resnet50", 0),
          ("AST backbone (Table 4.5)", "ast", 0), ("AST classifier (Table 4.5)", "ast", 1)]
fig, axes = plt.subplots(2, 2, figsize=(9, 5.5), sharex=True, sharey=True)
per_epoch = 200  # optimiser steps drawn per epoch: enough to resolve the warm-up
for ax, (label, model, index), letter in zip(axes.flat, curves, "abcd"):
    paper = lr_schedule(paper_groups(model)[index], PAPER_EPOCHS * per_epoch)
    ax.plot(np.arange(len(paper)) / per_epoch, paper, color="C0", label=f"report ({PAPER_EPOCHS} epochs)")
    from_scratch = model in ("resnet50", "ast") and find_pretrained(model) is None
    ours = settings_for(model, P, from_scratch=from_scratch)
    steps = ours.epochs * per_epoch
    profile_label = f"{P.name} profile ({ours.epochs} epoch{'s' * (ours.epochs != 1)}"
    profile_label += ", from-scratch rates)" if from_scratch else ")"
    ax.plot(np.arange(steps) / per_epoch, lr_schedule(ours.groups[index], steps), color="C1", linestyle="--",
            label=profile_label)
    ax.set(yscale="log", title=f"({letter}) {label}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower center")
for ax in axes[1]:
    ax.set_xlabel("epoch")
for ax in axes[:, 0]:
    ax.set_ylabel("learning rate")
fig.suptitle("Polynomial decay (power 0.7) after a 5 % linear warm-up, per optimiser group", fontsize=10)
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
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · Where the AST's parameters sit.** The report's AST has 85,349,387 parameters (1-s input), this
# profile's far fewer. Split both into embeddings, encoder layers and classifier (build them on the
# `meta` device, as Table 4.1 does), predict the ratio of their encoder sizes from the width h and the
# depth L alone (a layer holds four h x h attention projections and an MLP h -> 4h -> h, so about 12h²
# weights), and check it.
# *You should find:* the report's 12 encoder layers hold 85,054,464 parameters (99.7 % of the model),
# 7,087,872 each = 12 x 768² + 13 x 768; the default profile's 4 layers of width 192 hold 1,779,456 of
# 1,853,195 (96 %). Predicted ratio (768 / 192)² x 12 / 4 = 48; measured 47.8 for the encoder, 46.1 for
# the whole model.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** One encoder layer has the query, key, value and output projections of attention (4 x
# (h² + h)), an MLP that widens to 4h and back (4h² + 4h + 4h² + h) and two layer norms (4h): 12h² + 13h
# in all. Parameters therefore grow with the square of the width and linearly with the depth, and four
# times narrower with a third of the layers makes 16 x 3 = 48 times fewer encoder parameters. What the
# encoder does not hold grows only linearly with h: the patch projection (16 x 16 x h + h), the
# position embeddings (110h), the [CLS] and distillation tokens (2h), the final layer norm and the
# classifier (layer norm and h x 11 + 11). That is why the whole model shrinks a little less than its
# encoder (46 rather than 48 times), and why narrowing a transformer shrinks it faster than making it
# shallower: half the width is a quarter of the encoder, half the layers only half. The number of tokens
# (110 for a 1-s window) changes no parameter at all, only the compute: attention compares every token
# with every other.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
import re


def parts(model):
    """Parameters of an AST by part: embeddings, encoder layers, classifier, the rest (final layer norm)."""
    counts = {"embeddings": 0, "encoder layers": 0, "classifier": 0, "final layer norm": 0}
    for name, parameter in model.named_parameters():
        part = ("embeddings" if ".embeddings." in name else "classifier" if ".classifier." in name
                else "encoder layers" if re.search(r"\.\d+\.", name) else "final layer norm")
        counts[part] += parameter.numel()
    return {**counts, "total": sum(counts.values())}


with torch.device("meta"):
    asts = {"report": build_model("ast", pretrained=False),
            f"{P.name} profile": build_model("ast", pretrained=False, **model_config("ast", P))}
split = pd.DataFrame({name: parts(ast_model) for name, ast_model in asts.items()})
print(split.to_string())
for name, ast_model in asts.items():
    h, depth = ast_model.ast.config.hidden_size, ast_model.ast.config.num_hidden_layers
    encoder, total = split.loc["encoder layers", name], split.loc["total", name]
    print(f"{name}: width {h}, {depth} layer{'s' * (depth != 1)}; one layer {encoder // depth:,} = "
          f"12 x {h}² + 13 x {h} = {12 * h * h + 13 * h:,}; encoder {100 * encoder / total:.1f} % of the model")
(h1, l1), (h2, l2) = [(m.ast.config.hidden_size, m.ast.config.num_hidden_layers) for m in asts.values()]
print(f"predicted encoder ratio ({h1} / {h2})² x {l1} / {l2} = {(h1 / h2) ** 2 * l1 / l2:.1f}; measured: encoder "
      f"{split.loc['encoder layers'].iloc[0] / split.loc['encoder layers'].iloc[1]:.1f}, "
      f"whole model {split.loc['total'].iloc[0] / split.loc['total'].iloc[1]:.1f}")

# %% [markdown]
# **2 · A schedule without warm-up.** Call `lr_schedule` with `warmup=0` and `power=1`: which schedule is
# that? Draw it beside the report's for ResNet-50 (Table 4.4) and say in which epochs it would hurt a
# pretrained model the most.
# *You should find:* a linear decay from the initial rate to the final one, at the full rate from the
# first step. Against the report's schedule (2e-4 to 1e-6 over 35 epochs) it is 3.5 times higher half an
# epoch in, about equal where the report's warm-up ends (1.75 epochs), and lower afterwards (0.87 times
# at epoch 10, 0.55 times at epoch 30). The first one or two epochs are where it would hurt.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** Power 1 makes the polynomial decay a straight line; without warm-up it starts at the
# full rate. Fine-tuning begins with a classifier head of random weights: its errors are large and
# meaningless, and the gradients they send back into the pretrained backbone are large too. At the full
# rate from the first step those updates can overwrite the ImageNet or AudioSet features the model was
# chosen for before the head has learnt anything useful. The warm-up (5 % of the steps, 1.75 of 35
# epochs) lets the head settle while the backbone moves slowly, and also gives Adam time to estimate the
# gradients' scale before its steps grow. Power 0.7 instead of 1 keeps the rate higher through the middle
# of training and lowers it faster at the end; the straight line gives less of the training to rates
# near the initial one. A network trained from scratch has no features to lose: for it the warm-up
# mainly steadies Adam's first steps.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
group = paper_groups("resnet50")[0]
drawn = 200  # optimiser steps drawn per epoch
steps = PAPER_EPOCHS * drawn
schedules = {"report: 5 % warm-up, power 0.7": lr_schedule(group, steps),
             "warm-up 0, power 1": lr_schedule(group, steps, warmup=0, power=1)}
report_lr, linear_lr = schedules.values()
for epoch in (0.5, 1.75, 5, 10, 20, 30):
    i = int(epoch * drawn)
    print(f"epoch {epoch:>5}: report {report_lr[i]:.2e}, linear {linear_lr[i]:.2e}, "
          f"ratio {linear_lr[i] / report_lr[i]:.2f}")
fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
for label, rates in schedules.items():
    ax.plot(np.arange(steps) / drawn, rates, label=label)
ax.set(xlabel="epoch", ylabel="learning rate", title=f"ResNet-50, Table 4.4 rates, {PAPER_EPOCHS} epochs")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **3 · One input channel instead of three.** The mel image is one spectrogram repeated over three
# channels. timm's `in_chans=1` gives ResNet-50's first convolution one input channel instead of three.
# Compute the saving from that convolution's shape, check it with `count_parameters` (on the `meta`
# device), and find out what it costs: timm's `adapt_input_conv` turns pretrained RGB filters into
# one-channel ones by summing them over the channels. Compare the two convolutions' outputs on an image
# repeated over three channels.
# *You should find:* 64 x (3 - 1) x 7 x 7 = 6,272 parameters, 0.03 % of 23,530,571. With the summed
# filters the one-channel convolution gives the same output as the three-channel one on the repeated
# image, to float rounding (largest difference about 2e-6): it costs nothing, and saves two thirds of
# the first convolution's multiply-adds.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** A convolution sums over its input channels: with the same image x in all three,
# w_R * x + w_G * x + w_B * x = (w_R + w_G + w_B) * x. A one-channel filter equal to the sum of the three
# is therefore exactly the same function on our input, which is what timm's adaptation of pretrained
# weights does. The saving is small in parameters (the first layer is tiny beside the 2048-channel
# stages) but real in work, since the first convolution runs on the largest feature map. Three channels,
# as in the report, let the ImageNet checkpoint load unchanged; one channel with summed filters is the
# same network on our input. The equality would break only if the channels carried different images
# (three different spectrogram types, for example).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from timm.models import adapt_input_conv

with torch.device("meta"):
    rgb, grey = build_model("resnet50", pretrained=False), build_model("resnet50", pretrained=False, in_chans=1)
first = rgb.backbone.conv1
print(f"first convolution: {tuple(first.weight.shape)} -> {tuple(grey.backbone.conv1.weight.shape)}; "
      f"saved {count_parameters(rgb) - count_parameters(grey):,} of {count_parameters(rgb):,} parameters")
torch.manual_seed(0)  # stand-in RGB filters (the pretrained ones cannot be downloaded here)
conv_rgb = torch.nn.Conv2d(3, first.out_channels, first.kernel_size, first.stride, first.padding, bias=False)
conv_grey = torch.nn.Conv2d(1, first.out_channels, first.kernel_size, first.stride, first.padding, bias=False)
with torch.no_grad():
    conv_grey.weight.copy_(adapt_input_conv(1, conv_rgb.weight))  # the sum over the three channels
    image = torch.randn(1, 1, P.train.image_size, P.train.image_size, generator=torch.Generator().manual_seed(0))
    difference = (conv_rgb(image.expand(-1, 3, -1, -1)) - conv_grey(image)).abs().max().item()
print(f"largest difference between the two outputs on a {P.train.image_size} x {P.train.image_size} image "
      f"repeated over three channels: {difference:.1e}")
