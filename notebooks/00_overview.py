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
# 1. Run `./run_all.sh --profile smoke --only 00` and compare the printed device with this page.
# 2. Open `harmonylib/config.py`: which settings would you change first to make `default` closer to
#    the paper, and what would each cost in CPU time?
