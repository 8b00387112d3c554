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
# # 00 · Overview: the study, the environment, the profile
#
# **Reproduces:** the set-up of *Harmony Is All You Need* (Ferković & Smoljan, 2023), chapter 1.
# **Writes:** nothing to `figures/`; it records the environment every later notebook runs in.
# **Differs from the report:** the original ran on a Windows conda environment with no seeds; here
# every dependency is pinned (`pyproject.toml`), every run is seeded, and one parameter, the
# *profile*, chooses the scale of the whole study:
#
# | profile | data | scale | purpose |
# |---|---|---|---|
# | `smoke` | tiny SynthIRMAS | 1 epoch, tiny inputs | CI: seconds per notebook |
# | `default` | SynthIRMAS + SynthAudioSet | scaled down, listed below | the study on a 2-core CPU |
# | `full` | real IRMAS + AudioSet | the paper's | a GPU and the real data |
#
# Any profile also has a *fast dev run* (`./run_all.sh --profile full --data-dir DIR --fast-dev-run`,
# named `full-fast-dev-run`): the same data, models and settings, but one optimiser step per
# training run and 2 evaluation clips per split, written to a build folder of its own. It proves in
# minutes that every notebook and experiment runs before hours are spent on a GPU; its numbers
# mean nothing.
#
# The task: *predominant instrument recognition*. A model hears an excerpt of music and names
# every instrument that clearly plays in it, out of eleven: cello, clarinet, flute, acoustic and
# electric guitar, organ, piano, saxophone, trumpet, violin and the human voice.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import platform

import harmonylib
import numpy
import torch
from harmonylib import paths
from harmonylib.config import get_profile
from harmonylib.labels import CLASS_NAMES, CLASSES

P = get_profile(profile)
device = P.torch_device()
print(f"profile: {P.name}  (seed {P.seed}, data source: {P.data.source})")
print(f"device:  {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
print(f"python {platform.python_version()}, torch {torch.__version__}, numpy {numpy.__version__}, "
      f"harmonylib {harmonylib.__version__}, {os.cpu_count()} CPU cores")
print(f"data:    {paths.data_root()}\nbuild:   {paths.build_dir()}\nfigures: {paths.figures_dir()}")

# %% [markdown]
# What this profile scales down relative to the paper (printed on every figure it produces):

# %%
for item in P.scale_downs or ("nothing: the paper's configuration",):
    print("-", item)

# %% [markdown]
# The eleven classes, in the fixed order and with the abbreviations used throughout:

# %%
# NBVAL_CHECK_OUTPUT
for code in CLASSES:
    print(code, CLASS_NAMES[code])

# %% [markdown]
# ## Exercises
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · What the default profile saves on ResNet-50.** The paper trained ResNet-50 (notebook 33) for 35 epochs
# over every 1-s window of IRMAS's 6705 training clips, on 3×256×256 mel images; `default` trains it for 6
# epochs of 352 windows on 3×64×64 images. From the profiles of `harmonylib.config`, count for each profile
# the optimiser steps, the hours of audio the model hears, and the floating-point operations (FLOP) of
# training (count one forward pass with `torch.utils.flop_counter.FlopCounterMode`; a training step costs
# about three). Which of the three scale-downs (epochs, windows per epoch, image size) saves the most, and
# how long would the paper's run take on the CPU this study runs on?
# *You should find:* 132 optimiser steps and 35 minutes of audio at `default` against 44,030 steps and
# about 196 hours at `full`; the image size makes each window 16 times dearer, and there are 57 times the
# windows per epoch and 5.8 times the epochs: about 5,300 times the default's compute in all, some 44 hours
# (2 days) on the study's 2-core CPU, against the 7.6 hours the report's GPU took.
# *Time:* under 1 s at the default profile. (The conversion to hours needs a finished ResNet-50 run of the
# profile, which `./run_all.sh` trains after this notebook: run this notebook again afterwards.)

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** The number of optimiser steps is the number of epochs times the batches per epoch,
# $\lceil \text{windows} / 16 \rceil$. Every IRMAS training clip is one sample short of 3 s and gives three
# 1-s windows (`harmonylib.windows` keeps the last one), so a full epoch is $6705 \times 3 = 20\,115$ windows:
# 1258 steps, 44,030 over 35 epochs. The default profile's 6 epochs of 352 windows are 2112 windows in all,
# fewer than the 3300 windows its own 1100 clips hold: the default ResNet-50 never completes one pass over
# its training data, which is the first thing to remember when reading its scores in chapter 5.
#
# The cost of a window depends on the image, not on the parameters: a convolution applies the same
# weights at every position of its input, so ResNet-50 keeps its 23.5 million parameters at any image size,
# but its work grows with the number of positions, $(256 / 64)^2 = 16$ times (the cell counts 0.67 and
# 10.7 GFLOP per window). The backward pass costs about twice the forward, hence the factor 3. Multiplying
# the three factors gives the paper's run about 5,300 times the default's compute, and the largest single
# saving is the number of windows per epoch (about 57 times), then the image (16), then the epochs (5.8).
# Restoring the paper's scale need not be all or nothing: letting the default run hear each of its 3300
# windows once (550 windows per epoch instead of 352) costs only 1.6 times its compute, while the 256-pixel
# image alone costs 16 times; so more windows per epoch come first on a budget, a larger image last.
#
# Measured on SynthIRMAS at the default profile, the finished `default-resnet50_w1` run took 5 s per epoch
# of 352 windows (0.014 s per window) on 2 CPU cores. Scaled by FLOP, the paper's run would take about
# 157,000 seconds there, some 44 hours or 2 days; the report's RTX 2080 Ti took 7.6 hours (Fig. 5.7),
# about 6 times faster. Time is only roughly proportional to FLOP (small images use a CPU less
# efficiently), so take the estimate as an order of magnitude. The cell converts it only when a finished
# ResNet-50 run of this profile exists (notebook 33 makes it); at `smoke`, where fixed costs dominate a run
# of two steps, the conversion overestimates by far.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
import pandas as pd
from torch.utils.flop_counter import FlopCounterMode

from harmonylib import reference
from harmonylib.config import PROFILE_NAMES
from harmonylib.models import build_model
from harmonylib.recipes import model_config, settings_for
from harmonylib.runs import finished_summary
from harmonylib.train import steps_per_epoch
from harmonylib.windows import SHORT_BY_TOLERANCE_S, window_count


def forward_gflop(model, example) -> float:
    """Floating-point operations of one forward pass (a multiply-add counts 2), in units of 10^9."""
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(example)
    return counter.get_total_flops() / 1e9


SR = P.features.sample_rate
windows_per_clip = window_count(reference.IRMAS_TRAIN_SAMPLES, SR, last="drop",
                                tolerance=round(SHORT_BY_TOLERANCE_S * SR))
resnet = build_model("resnet50", pretrained=False, **model_config("resnet50", P))  # random weights suffice
budget = {}
for name in dict.fromkeys((*PROFILE_NAMES, P.name)):
    Q = get_profile(name)
    clips = Q.data.synth_train_clips if Q.data.source == "synth" else sum(reference.IRMAS_TRAIN_COUNTS.values())
    settings = settings_for("resnet50", Q)
    available = clips * windows_per_clip
    windows = available if settings.samples_per_epoch is None else min(settings.samples_per_epoch, available)
    side = Q.train.image_size
    gflop = forward_gflop(resnet, torch.zeros(1, Q.train.resnet_in_chans, side, side))
    budget[name] = {"epochs": settings.epochs, "windows/epoch": windows, "windows available": available,
                    "optimiser steps": settings.epochs * steps_per_epoch(settings, windows)[1],
                    "audio heard (h)": settings.epochs * windows / 3600, "image": f"{side}x{side}",
                    "GFLOP/window": gflop, "training PFLOP": 3 * gflop * settings.epochs * windows / 1e6}
budget = pd.DataFrame(budget).T
print(budget.to_string(float_format=lambda v: f"{v:.3g}"))

default, full = budget.loc["default"], budget.loc["full"]
factors = {"epochs": full["epochs"] / default["epochs"],
           "windows per epoch": full["windows/epoch"] / default["windows/epoch"],
           "image size (FLOP per window)": full["GFLOP/window"] / default["GFLOP/window"]}
print("\nfull / default, per scale-down: " + ", ".join(f"{k} x{v:.1f}" for k, v in factors.items())
      + f"; together x{full['training PFLOP'] / default['training PFLOP']:,.0f}")
print(f"the default run hears {default['epochs'] * default['windows/epoch']:.0f} windows in all, "
      f"{default['windows available']:.0f} are available")

run = finished_summary(paths.runs_dir() / f"{P.name}-resnet50_w1")
if run and budget.loc[P.name, "training PFLOP"] > 0:
    per_pflop = run["seconds_per_epoch"] * budget.loc[P.name, "epochs"] / budget.loc[P.name, "training PFLOP"]
    hours = per_pflop * full["training PFLOP"] / 3600
    print(f"measured here: {run['seconds_per_epoch']:.0f} s per epoch on {run['device']}; the paper's run, scaled "
          f"by FLOP: about {hours:,.0f} h ({hours / 24:.0f} days); the report's GPU: "
          f"{reference.ORIGINAL_HOURS['resnet50']} h")
else:
    print(f"no finished ResNet-50 run of the {P.name} profile yet (notebook 33 makes it): compare FLOP only")

# %% [markdown]
# **2 · Shrinking the transformer.** `default` keeps the AST's 1-s input (100 frames of 128 mel bands) but
# gives it 4 of its 12 layers and a width of 192 instead of 768 (`ast_layers`, `ast_hidden`). Build both
# with `harmonylib.models.build_model(..., **harmonylib.recipes.model_config("ast", profile))`, and count their
# parameters and the FLOP of one forward pass. By what factor does each shrink, why are the two factors
# nearly equal, and what does the small model lose besides compute?
# *You should find:* 1.85 million parameters against 85.3 million (the paper's AST with a 1-s input), and 0.40
# against 18.7 GFLOP per window: both shrink about 46-fold, close to $3 \times 4^2 = 48$. The small model can
# no longer start from the AudioSet checkpoint.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** Almost all of a transformer's parameters sit in its layers, and each layer holds about
# $12 h^2$ of them for a width $h$: $4 h^2$ in the attention's query, key, value and output projections and
# $8 h^2$ in the feed-forward block, which widens to $4h$ and back. A quarter of the width is a sixteenth of
# the parameters per layer, and a third of the layers a third again: $3 \times 16 = 48$. The patch embedding
# and the classifier grow only linearly with $h$, which is why the measured factor is a little lower.
# The compute follows the parameters, because every token of the input (110 here: 108 patches of 16×16
# plus two summary tokens) is multiplied once by every weight matrix, about $2 \times$ parameters FLOP per
# token; attention's token-by-token part grows with the square of the tokens but is small for 110 of them.
# (A convolutional network is the opposite case, see exercise 1: its work depends on the image, its
# parameters do not.)
#
# What compute does not show: the paper fine-tuned an AST pretrained on AudioSet (report 4.5). A 4-layer,
# 192-wide model has no such checkpoint, so at `default` it is trained from random initialisation
# (`harmony_weights` says so), and its results in chapter 5.6 are those of a small transformer learned
# from 1100 clips, not of a pretrained one fine-tuned.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from harmonylib.models import count_parameters

ast_sizes = {}
for name in dict.fromkeys(("default", "full", P.name)):
    config = model_config("ast", get_profile(name))
    ast = build_model("ast", pretrained=False, **config)  # random weights: only the shapes matter here
    ast_sizes[name] = {"layers": config["num_hidden_layers"], "width": config["hidden_size"],
                       "parameters (millions)": count_parameters(ast) / 1e6,
                       "GFLOP/window": forward_gflop(ast, torch.zeros(1, config["max_length"], 128))}
    del ast
ast_sizes = pd.DataFrame(ast_sizes).T
print(ast_sizes.to_string(float_format=lambda v: f"{v:.3g}"))
ratio = ast_sizes.loc["full"] / ast_sizes.loc["default"]
print(f"\nfull / default: parameters x{ratio['parameters (millions)']:.1f}, FLOP x{ratio['GFLOP/window']:.1f} "
      f"(12 h^2 per layer predicts x{(12 / 4) * (768 / 192) ** 2:.0f})")
