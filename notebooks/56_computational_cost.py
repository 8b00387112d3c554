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
# batched on the device (notebook 20). The original's training hours are drawn beside ours, labelled as
# theirs.
#
# Two measures make the models comparable. **Time per second of audio**: the epochs of the profile are
# not equally long (the AST's hold more windows than the CNNs' at `default`), so time per epoch would
# compare different amounts of work; the time one second of training audio costs does not. Its bars
# span the fastest to the slowest epoch. **Memory of one training step**: what the model itself needs
# (its parameters, their gradients, Adam's two moment estimates per parameter, and the activations
# the forward pass keeps for the backward pass, counted by `harmonylib.train.training_step_memory`), the
# same on every device. The process's peak memory (recorded in each run's `run.json`) is about the
# same for every model on a CPU, because the libraries and the data dominate it, and says nothing
# about the model. Timings vary from run to run, so only the deterministic columns (parameters,
# memory) are written to the CSV table; the figure and the printout carry the timings.

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
from IPython.display import Markdown, display

from harmonylib import comparisons as cmp
from harmonylib import paths, plotting, reference
from harmonylib.config import get_profile
from harmonylib.io import save_figure, save_table
from harmonylib.models import DISPLAY_NAMES

P = get_profile(profile)
NOTEBOOK = "56_computational_cost"
plotting.use_style()
pd.set_option("display.width", 160)
runs, skipped = cmp.available_runs(cmp.COST_MODELS["5.7"], P)
PROV = cmp.provenance(P, runs)
cost = cmp.cost_table(runs)
print("left out at this profile:", ", ".join(skipped) or "none")
cost.drop(columns=["key", "run"]).round(2)

# %% [markdown]
# ## Figure 5.7

# %%
memory = cmp.step_memory_table(runs, P.train.batch_size)
colors = dict(zip(cost["model"], (cmp.run_colour(name) for name in runs)))  # as in the other chapter-5 figures
fig, axes = plt.subplots(2, 2, figsize=(11, 7))
ticks = {"rotation": 30, "ha": "right", "rotation_mode": "anchor", "fontsize": 7}


def model_bars(ax, values, ylabel, title, yerr=None):
    ax.bar(cost["model"], values, color=[colors[m] for m in cost["model"]], edgecolor="0.2", linewidth=0.5,
           yerr=yerr, capsize=3)
    ax.set(ylabel=ylabel, title=title)
    plt.setp(ax.get_xticklabels(), **ticks)
    ax.grid(axis="x", visible=False)


model_bars(axes[0, 0], cost["parameters"], "parameters (count, log scale)", "(a) model size")
axes[0, 0].set_yscale("log")
bottom = np.zeros(len(memory))
for part, shade in zip(["parameters", "gradients", "optimiser state", "activations"], ["0.25", "0.45", "0.65", "0.85"]):
    axes[0, 1].bar(memory["model"], memory[part], bottom=bottom, color=shade, edgecolor="0.2", linewidth=0.5,
                   label=part + (" (Adam: 2 per parameter)" if part == "optimiser state" else ""))
    bottom += memory[part].to_numpy()
axes[0, 1].set(ylabel="MiB", title=f"(b) memory of one training step (batch {P.train.batch_size})")
axes[0, 1].legend(fontsize=7, loc="upper left")
axes[0, 1].set_ylim(0, 1.35 * bottom.max())  # room for the legend above the bars
plt.setp(axes[0, 1].get_xticklabels(), **ticks)
axes[0, 1].grid(axis="x", visible=False)
per_second = cost["ms per second of audio"].to_numpy(dtype=float)
model_bars(axes[1, 0], per_second, "ms of training per second of audio", "(c) training time per second of audio",
           yerr=np.vstack([per_second - cost["ms/s min"], cost["ms/s max"] - per_second]))
model_bars(axes[1, 1], cost["original hours (35 epochs, RTX 2080 Ti)"], "training time (h)",
           "(d) the ORIGINAL study: 35 epochs, RTX 2080 Ti")
fig.suptitle(f"(a)-(c): the {P.name} profile's runs, trained on {', '.join(cost['device'].astype(str).unique())}; "
             "error bars in (c): fastest to slowest epoch", fontsize=9)
fig.tight_layout(rect=(0, 0.03, 1, 1))
save_figure(fig, "5.7", "computational_cost",
            "Parameters, memory of one training step and training time per second of audio of the five models "
            "(window 1 s), beside the original study's training hours", PROV, NOTEBOOK)
plt.show()
memory.round(1)

# %%
sizes = cost[["model", "parameters", "paper parameters", "epochs", "device"]].assign(
    **{"training step memory (MiB)": memory.drop(columns="model").sum(axis=1).round(1).to_numpy(),
       "batch": P.train.batch_size})
save_table(sizes, "5.7", "model_sizes",
           "Parameter counts of the five models as trained (window 1 s) beside the original code's, and the memory "
           "one training step holds for the model", PROV, NOTEBOOK)
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
# over those of the same model fed from memory (the *efficiency*; 1 means the input costs nothing),
# and how close a training step comes to the machine's limit: the FLOPs of a step per second over the
# rate this machine's matrix products reach (the *flop efficiency*; far below 1 where small layers,
# memory traffic and element-wise work, which the FLOP count leaves out, take the time).
# The cell runs it at this profile (about a minute at `default`; at `smoke` every part on a few
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
                if line.startswith(("input pipeline", "goal missed", "speedup", "efficiency", "flop efficiency",
                                    "  matrix products"))))
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
    original = bench[(bench["measure"] == measure) & (bench["recipe"] == "original")]
    if measure == "training":
        ax.scatter(original["name"], original["ratio"], marker="o", color="0.3", zorder=3, label="original's recipe")
    ax.set(ylabel=ylabel, xlabel="input type" if measure == "throughput" else "model")
    top = max(part["ratio"].max(), part["goal"].max(), original["ratio"].max() if measure == "training" else 0)
    ax.set_ylim(0, 1.12 * top)  # room for the bar labels
    ax.grid(axis="x", visible=False)
fig.legend(*axes[1].get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(0.5, 0.03), ncol=3, fontsize=8,
           frameon=False)
row = bench.iloc[0]
fig.suptitle(f"input pipeline on {row['device']} ({row['cpus']} CPUs, {row['torch_threads']} torch threads, load "
             f"{row['load_start']:.1f}-{row['load_end']:.1f}), batch {row['batch_size']}, {row['started']}", fontsize=9)
fig.tight_layout(rect=(0, 0.1, 1, 1))  # the legend below the panels, clear of the bars
save_figure(fig, "5.7", "input_pipeline",
            "Input pipeline: speedup of ours over the original's per-item librosa recipe, and training efficiency "
            "(timings of this run; benchmarks/input_pipeline.py)", PROV, NOTEBOOK)
plt.show()

# %% [markdown]
# ## Does the report's claim hold here?
#
# The report found the AST the fastest of the five models to train and the audio-features CNN the
# slowest (hours for 35 epochs on its GPU). Our runs differ in how many windows an epoch holds (the
# AST's epochs are longer at the default profile), so the verdicts compare the time per second of
# training audio, the same measure as Figure 5.7's third panel; timings, not paired tests, so they are
# descriptive and hold for this machine.

# %%
speed = cost.set_index("key")["ms per second of audio"]
evidence = ", ".join(f"{DISPLAY_NAMES[key]} {value:.1f}" for key, value in speed.sort_values().items())
evidence = f"ms of training per second of audio: {evidence}"
report = "hours for 35 epochs: " + ", ".join(f"{DISPLAY_NAMES[key]} {hours:g}" for key, hours in
                                            sorted(reference.ORIGINAL_HOURS.items(), key=lambda item: item[1]))
basis = ("mean training time per second of audio over the epochs of each run, on this machine's "
         f"{', '.join(cost['device'].unique())}")
claims = pd.concat([cmp.descriptive_verdict("ast-trains-fastest", speed.idxmin() == "ast", evidence, basis, report),
                    cmp.descriptive_verdict("features-cnn-trains-slowest", speed.idxmax() == "features_cnn", evidence,
                                            basis, report)], ignore_index=True)
save_table(claims, "5.7", "computational_cost_claims", "The report's claims on training time and their verdicts at "
           "this profile", PROV, NOTEBOOK)
cmp.record_claims(claims, P)
display(Markdown(cmp.claims_markdown(claims, P, runs)))

# %% [markdown]
# ## Exercises
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · A laptop without a GPU.** Which model would you train first on a laptop without a GPU? Rank the five by
# the training time their runs recorded per 1-s window (`1 / run.metrics["samples_per_second"]`, averaged over
# the epochs: the figure's time per second of audio) and work out how many hours 35 epochs over the full IRMAS
# training set (6,705 clips, three 1-s windows each, as `harmonylib.windows` cuts them) would take at that pace
# *for the models as this profile builds them* (a 64-pixel ResNet-50 image, a 4-layer AST at `default`). Does
# the ranking follow the number of parameters?
# *You should find:* on the default profile's CPU, the audio-features CNN first (about 4.3 ms per window, about
# 0.8 h), then the MFCC CNN (6.6 ms, 1.3 h), the scaled-down AST (10.3 ms, 2.0 h) and ResNet-50 (17.4 ms, 3.4 h;
# at the paper's 256-pixel image 16 times that, see notebook 00), and the raw-audio CNN last (23.1 ms, 4.5 h).
# The rank correlation with the parameter count is only +0.40: the raw-audio CNN, with a fifth of the MFCC
# CNN's parameters and under a hundredth of ResNet-50's, is the slowest of the five.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** What a step costs is arithmetic, not storage: a convolution's few weights are applied at every
# position of its input, so its cost grows with the input's size times the weights per position. The raw-audio
# CNN's first layers slide over 44,100 samples per window, the MFCC CNN's over a 40 x 256 image; the features
# CNN sees 40 x 87 numbers with 115 k parameters and is cheap; ResNet-50 has many weights, but at this profile
# few positions (a 64 x 64 image), and the raw-audio CNN, with few weights applied at very many positions,
# costs more per window.
# The AST at this profile is cut to 4 layers and a narrower width (1.9 M instead of 86 M parameters,
# `Profile.scale_downs`), so its place in the ranking says little about the full model's. Measured on
# SynthIRMAS at the default profile (throughputs recorded by the runs on this 2-core CPU; the slowest epoch of
# a run was up to 1.25 times slower than its fastest, on a shared machine), the hours come out as above: on a
# laptop, the audio-features and MFCC CNNs (then the scaled-down AST) are the models to start with. These are
# CPU numbers; on a GPU the ranking may well change, because a GPU computes the many positions of a
# convolution in parallel, and the original's GPU hours (report 5.7) were set by its input pipeline
# (exercise 2), not by the models.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from scipy.stats import spearmanr

from harmonylib import reference
from harmonylib.grid import BY_NAME
from harmonylib.models import DISPLAY_NAMES
from harmonylib.windows import SHORT_BY_TOLERANCE_S, window_count

# the full IRMAS training set: 6,705 clips one sample short of 3 s, cut into 1-s windows as training cuts them
SR = P.features.sample_rate
irmas_windows = sum(reference.IRMAS_TRAIN_COUNTS.values()) * window_count(
    reference.IRMAS_TRAIN_SAMPLES, SR, last="drop", tolerance=round(SHORT_BY_TOLERANCE_S * SR))
laptop = pd.DataFrame({DISPLAY_NAMES[BY_NAME[name].model]: {
    "device": run.summary.get("device"), "parameters": run.summary.get("parameters"),
    "ms per window": (1000 / run.metrics["samples_per_second"]).mean()} for name, run in runs.items()}).T
laptop = laptop.astype({"parameters": float, "ms per window": float}).sort_values("ms per window")
laptop["hours for 35 epochs of IRMAS"] = 35 * irmas_windows * laptop["ms per window"] / 1000 / 3600
print(f"{irmas_windows:,} training windows per epoch of IRMAS")
print(laptop.round(1).to_string())
if len(laptop) > 2:
    print(f"Spearman rho (parameters vs time per window): "
          f"{spearmanr(laptop['parameters'], laptop['ms per window']).statistic:+.2f}")

# %% [markdown]
# **2 · Where did the original's 18 hours go?** The original's audio-features CNN took 18 h for a model of
# 115 k parameters. Divide each model's original training hours by its parameter count (Table 4.1), then
# read this run's benchmark above: which stage of the original recipe (reading the window, pitch shift, time
# shift + noise, the model input) takes most of each input type's time?
# *You should find:* about 160 original hours per million parameters for the audio-features CNN, against 0.3 for
# ResNet-50 and 0.05 for the AST; in the benchmark, computing the features takes about 47 % of the original
# recipe's time per item for the general features and pitch shift about 36 %; for the raw, MFCC and mel inputs
# pitch shift takes the largest share (55-69 %), and for the AST's input pitch shift and reading the window
# (41 % each) share most of it. (The shares are timings of this run: they vary from run to run, most for
# the AST's input.)
# *Time:* under 1 s at the default profile (it reads the benchmark the notebook ran above).

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** The time was not in the model. The original computed every input for one item at a time, in
# every epoch, on one CPU core, inside the `DataLoader` with no workers: load the wav with librosa, pitch-shift
# it with librosa's phase vocoder, then compute the input. For the features CNN that input is ten general
# features (notebook 20), each a transform of the window (MFCCs, chroma, spectral centroid, bandwidth,
# contrast, roll-off, flatness, ...), the costliest input of all, while the model itself, 115 k weights on a
# 40 x 87 input, costs almost nothing on a GPU. So its hours per parameter are hundreds of times those of
# ResNet-50, whose GPU step is long enough to hide part of the input's cost. Measured at the default profile,
# the benchmark's original recipe spends 47 % of a features item's time on the features and 36 % on pitch shift
# (and this recipe shares one STFT among the features, which the original code may not have done, so the
# features' real share was likely larger still). The cure is the one this study uses: decode once, augment
# and compute the inputs in batches on the device (benchmarks/README.md).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from harmonylib import reference

original = pd.DataFrame({"original hours": pd.Series(reference.ORIGINAL_HOURS),
                         "parameters": pd.Series(reference.PAPER_PARAMETERS)})
original["hours per million parameters"] = original["original hours"] / (original["parameters"] / 1e6)
print("the original study (report 5.7; parameters of the original code):")
print(original.sort_values("hours per million parameters", ascending=False).round(2).to_string(), "\n")

stages = bench[(bench["measure"] == "breakdown") & (bench["recipe"] == "original")]
if stages.empty:
    print("this run's benchmark timed no stages of the original recipe")
else:
    shares = stages.pivot_table(index="name", columns="stage", values="seconds", sort=False)
    shares = 100 * shares.div(shares.sum(axis=1), axis=0)
    print("share of the original recipe's time per item by stage, % (this run's benchmark):")
    print(shares.round(0).astype(int).to_string())

# %% [markdown]
# **3 · What does a prediction cost?** Once trained, a model only predicts. Each run also timed its validation
# pass every epoch (`val_seconds` in `run.metrics`), over the windows of the validation clips (as many as its
# validation predictions hold: `run.predictions("irmas", "val").window_probs`). Compute the time per window of
# prediction and compare it with the time per window of training: how much cheaper is a window to predict
# than to train on, and for which model is the difference largest?
# *You should find:* training a window costs 2.3-6.3 times as much as predicting it: 2.3 for the MFCC CNN,
# 3.6 for the raw-audio CNN, 3.9 for the AST, 5.5 for ResNet-50 and 6.3 for the audio-features CNN.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** A training step does everything a prediction does (make the input, run the model forward) and
# more: the augmentations (pitch shift above all), the backward pass, which costs about twice the forward
# pass, and the optimiser's update. Where the model dominates, as for ResNet-50, the backward pass and the
# update make training cost several times a prediction. Measured on SynthIRMAS at the default profile (timings
# the runs recorded on a shared 2-core CPU, so take the ratios as rough), the ratio is 2.3 for the MFCC CNN,
# 5.5 for ResNet-50 and 6.3 for the audio-features CNN. That the tiny audio-features CNN comes highest says
# that its training time goes to what only training does, most likely the augmentations of its input, since
# its backward pass has little to compute: its ten features, computed both ways, cost little batched on the
# device. For `python -m harmonylib predict` a window costs every model a fraction of a training window, and
# the audio-features CNN least of all (about 0.7 ms).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from harmonylib.grid import BY_NAME
from harmonylib.models import DISPLAY_NAMES

rows = {}
for name, run in runs.items():
    val_windows = sum(len(w) for w in run.predictions("irmas", "val").window_probs)
    rows[DISPLAY_NAMES[BY_NAME[name].model]] = {
        "validation windows": val_windows, "train ms per window": (1000 / run.metrics["samples_per_second"]).mean(),
        "predict ms per window": 1000 * run.metrics["val_seconds"].mean() / val_windows}
speed = pd.DataFrame(rows).T
speed["training / prediction"] = speed["train ms per window"] / speed["predict ms per window"]
print(speed.sort_values("training / prediction").round(2).to_string())
