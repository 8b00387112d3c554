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
# # 56 · Evaluation VII: what each model costs
#
# **Reproduces:** report section 5.7, Figure 5.7: the computational demands and training times of the
# five models with 1-s windows on IRMAS.
# **Writes:** Fig. 5.7 `computational_cost`; table 5.7 `model_sizes` (parameters measured and in the
# original code, device, epochs); Fig. 5.7 `input_pipeline` (`benchmarks/input_pipeline.py`, run here).
# **Differs from the report:** the report timed 35 epochs on one RTX 2080 Ti, with a CPU feature pipeline
# that left the GPU 28-60 % busy. These runs were timed on whatever device the profile ran on (printed
# below), on the profile's data and input sizes (`Profile.scale_downs`), with the features computed
# batched on the device (notebook 20). The bars of time and throughput span the fastest to the slowest
# epoch of the run; parameters and peak memory are single measurements. Timings vary from run to run,
# so only the deterministic columns are written to the CSV table; the figure and the printout carry
# the timings. The original's training hours are drawn beside ours, labelled as theirs.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from harmonylib import comparisons as cmp
from harmonylib import paths, plotting
from harmonylib.config import get_profile
from harmonylib.io import Provenance, save_figure, save_table

P = get_profile(profile)
NOTEBOOK = "56_computational_cost"
plotting.use_style()
pd.set_option("display.width", 160)
runs, skipped = cmp.available_runs(cmp.COST_MODELS["5.7"], P)
PROV = Provenance(dataset=P.dataset_name, profile=P.name, weights=cmp.weights_label(runs))
cost = cmp.cost_table(runs)
print("left out at this profile:", ", ".join(skipped) or "none")
cost.drop(columns=["key", "run"]).round(2)

# %% [markdown]
# ## Figure 5.7

# %%
colors = dict(zip(cost["model"], sns.color_palette("colorblind", len(cost))))
fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
panels = [
    ("parameters", None, "parameters (count, log scale)", "model size"),
    ("seconds per epoch", ("s/epoch min", "s/epoch max"), "seconds per training epoch (s)", "time per epoch"),
    ("windows per second", ("win/s min", "win/s max"), "training windows per second (1/s)", "throughput"),
    ("peak memory (MiB)", None, "peak memory (MiB)", f"peak memory ({cost['memory measure'].iloc[0]})"),
    ("original hours (35 epochs, RTX 2080 Ti)", None, "training time (h)", "the ORIGINAL study: 35 epochs, RTX 2080 Ti"),
]
for ax, (column, spread, ylabel, title) in zip(axes.flat, panels):
    values = cost[column].to_numpy(dtype=float)
    yerr = None
    if spread is not None:
        yerr = np.vstack([values - cost[spread[0]], cost[spread[1]] - values])
    ax.bar(cost["model"], values, color=[colors[m] for m in cost["model"]], edgecolor="0.2", linewidth=0.5,
           yerr=yerr, capsize=3)
    ax.set(ylabel=ylabel, title=title, xlabel="model")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor", fontsize=7)
    ax.grid(axis="x", visible=False)
axes.flat[0].set_yscale("log")
axes.flat[-1].axis("off")
axes.flat[-1].text(0, 0.5, f"device: {', '.join(cost['device'].astype(str).unique())}\nerror bars: fastest to "
                   "slowest epoch\n(parameters, memory: one measurement)", fontsize=9, va="center")
fig.tight_layout(rect=(0, 0.03, 1, 1))
save_figure(fig, "5.7", "computational_cost",
            "Parameters, time per epoch, throughput and peak memory of the five models (window 1 s), "
            "beside the original study's training hours", PROV, NOTEBOOK)
plt.show()

# %%
sizes = cost[["model", "parameters", "paper parameters", "epochs", "device", "memory measure"]]
save_table(sizes, "5.7", "model_sizes",
           "Parameter counts of the five models as trained (window 1 s) beside the original code's", PROV, NOTEBOOK)
sizes

# %% [markdown]
# The parameter counts differ from the original's where the profile scales a model down (the AST's
# depth, the ResNet-50's input) — listed in `Profile.scale_downs`; the `full` profile builds every model
# at the paper's configuration (notebook 30 compares the counts with Table 4.1).
#
# ## The input pipeline: why the original's GPU idled
# The original computed every model input, pitch shift included, with librosa for one item at a time
# in every epoch, with no loader workers: its GPU ran at 28-40 % power (report 5.7). Here the
# clips are decoded once into a memory-mapped store, and the augmentations and inputs run batched on
# the model's device. `benchmarks/input_pipeline.py` measures both recipes side by side on this
# machine (method and the measured run in `benchmarks/README.md`): ready inputs per second for each
# input type (ours over the original's: the *speedup*), and end-to-end training samples per second
# over those of the same model fed from memory (the *efficiency*; 1 means the input costs nothing).
# The cell runs it at this profile (about two minutes at `default`; at `smoke` every part on a few
# items, and in a fast dev run a tiny part of it, whose numbers mean nothing).
# Timings vary from run to run, so they go to the figure, not to a CSV table.

# %%
BENCHMARK = paths.REPO_ROOT / "benchmarks" / "input_pipeline.py"
RESULTS = paths.build_dir() / "benchmarks" / f"input_pipeline_{P.name}_notebook56.csv"
few = ["--items", "8", "--steps", "1", "--repeats", "1"]
# smoke: every part on a few items (tests/test_benchmarks.py checks what this run wrote);
# fast dev run: two inputs and one model, a few items, at the profile's sizes
sizes = (few if P.name == "smoke" else [*few, "--inputs", "raw", "mel", "--models", "raw_cnn"] if P.is_fast_dev_run
         else [])
done = subprocess.run([sys.executable, str(BENCHMARK), "--profile", P.name, "--output", str(RESULTS), *sizes,
                       *(["--data-dir", str(data_dir)] if data_dir else [])], capture_output=True, text=True)
if done.returncode:
    raise RuntimeError(f"{BENCHMARK.name} failed:\n{done.stderr[-3000:]}")
bench = pd.read_csv(RESULTS)
print("\n".join(line for line in done.stdout.splitlines()
                if line.startswith(("input pipeline", "goal missed", "speedup", "efficiency"))))
ours = bench[(bench["recipe"] == "ours") & (bench["measure"] != "breakdown")].copy()
ours["ratio"] = ours["ratio"].round(2)
ours[["measure", "name", "input_shape", "per_second", "ratio", "goal"]]

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [5, 3]})
for ax, measure, ylabel in ((axes[0], "throughput", "speedup: ours / original (inputs per second)"),
                            (axes[1], "training", "efficiency: end to end / model only")):
    part = ours[ours["measure"] == measure]
    bars = ax.bar(part["name"], part["ratio"], color="C0", edgecolor="0.2", linewidth=0.5, label="ours")
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.scatter(part["name"], part["goal"], marker="_", s=900, color="C3", zorder=3, label="goal")
    if measure == "training":
        original = bench[(bench["measure"] == measure) & (bench["recipe"] == "original")]
        ax.scatter(original["name"], original["ratio"], marker="o", color="0.3", zorder=3, label="original's recipe")
    ax.set(ylabel=ylabel, xlabel="input type" if measure == "throughput" else "model")
    ax.legend(fontsize=8)
    ax.grid(axis="x", visible=False)
axes[1].set_ylim(0, 1.05)
row = bench.iloc[0]
fig.suptitle(f"input pipeline on {row['device']} ({row['cpus']} CPUs, {row['torch_threads']} torch threads, load "
             f"{row['load_start']:.1f}-{row['load_end']:.1f}), batch {row['batch_size']}, {row['started']}", fontsize=9)
fig.tight_layout()
save_figure(fig, "5.7", "input_pipeline",
            "Input pipeline: speedup of ours over the original's per-item librosa recipe, and training efficiency "
            "(timings of this run; benchmarks/input_pipeline.py)", PROV, NOTEBOOK)
plt.show()

# %% [markdown]
# ## Exercises
# 1. Which model would you train first on a laptop without a GPU, and which on a cloud GPU by the hour?
#    Use throughput, not parameters.
# 2. The original's audio-features CNN took 18 h for a model of 115 k parameters. Where did the time go?
#    (Hint: notebook 20, and how the original computed every input.)
# 3. Run the benchmark with `--threads 1` while another notebook trains: which recipe loses more, and
#    why (benchmarks/README.md, "Threads on a shared 2-core machine")?
