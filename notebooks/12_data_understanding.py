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
# # 12 · Data understanding: what the training and test sets look like
#
# **Reproduces:** report sections 2.3-2.4 (the IRMAS and AudioSet data sets and their visualisations).
# **Writes:** Fig. 2.8 (class distribution, training and test), 2.9 (labels per test clip), 2.10 (label
# co-occurrence), 2.11 (test durations), 2.12 (durations per class and per number of labels), 2.13
# (AudioSet class distribution) and 2.14 (AudioSet co-occurrence and labels per clip).
# **Differs from the report:** under the `smoke` and `default` profiles the data are **SynthIRMAS** and
# **SynthAudioSet**, rendered from SoundFonts to mimic IRMAS's layout and its class and label-count
# frequencies (notebook 10). They are *not* IRMAS or AudioSet: every count below describes the synthetic
# stand-in, and a table compares it with IRMAS's published numbers. Only the `full` profile plots the real
# data. The report split IRMAS's testing data at random per file; this study splits it by *song*
# (excerpts of one song never straddle validation and test), so its test split is the one plotted here.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, display

from harmonylib import plotting, stats
from harmonylib.audio import load
from harmonylib.config import get_profile
from harmonylib.data import prepare
from harmonylib.reference import IRMAS_LABELS_PER_CLIP, IRMAS_TEST_LABEL_COUNTS, IRMAS_TRAIN_COUNTS
from harmonylib.io import Provenance, save_figure
from harmonylib.labels import CLASSES

P = get_profile(profile)
data = prepare(P, data_dir)
IRMAS, AUDIOSET = data.irmas_name, data.audioset_name
PROV = Provenance(dataset=IRMAS, profile=P.name)
PROV_AS = Provenance(dataset=AUDIOSET, profile=P.name)
NOTEBOOK = "12_data_understanding"
plotting.use_style()
pd.set_option("display.width", 120)

train_counts = stats.class_counts(data.train["labels"])
test_counts = stats.class_counts(data.test["labels"])

# %% [markdown]
# ## 2.3 The IRMAS-like data set
#
# Training clips are 3 s long and carry exactly one label, the predominant instrument, which plays
# throughout; other instruments may be audible but are not labelled. Testing excerpts are 5-20 s long and
# carry every instrument that plays in them, at any time, for any duration. Here is one of each:

# %%
example_train = data.train.sort_values("path").iloc[0]
example_test = data.test.sort_values("path").iloc[0]
for title, row in (("training clip", example_train), ("test excerpt", example_test)):
    y, sr = load(row["path"], mono=True)
    print(f"{IRMAS} {title} {os.path.basename(row['path'])}: labels {', '.join(row['labels'])}, "
          f"{row['duration']:.1f} s")
    display(Audio(y, rate=sr))

# %% [markdown]
# ### Class distribution (Fig. 2.8)
#
# The report found IRMAS's training set mildly unbalanced (`voi` about twice `cel`) and its test set
# strongly so (a factor of about 15 between the most and least frequent class), which makes per-class and
# macro-averaged test metrics of rare classes such as `cla` noisy.

# %%
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.6))
plotting.class_bars(axes[0], train_counts, ylabel="training clips", title=f"(a) {IRMAS} training set")
plotting.class_bars(axes[1], test_counts, ylabel="test clips with the label", title=f"(b) {IRMAS} test split")
save_figure(fig, "2.8", "class_distribution",
            f"{IRMAS} distribution of classes: (a) training clips per class, (b) test-split clips per label.",
            PROV, NOTEBOOK)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print(pd.DataFrame({"training clips": train_counts, "test labels": test_counts}).T.to_string())
for name, counts in (("training", train_counts), ("test", test_counts)):
    present = counts[counts > 0]
    print(f"{name}: most / least frequent class = {present.idxmax()} / {present.idxmin()}, "
          f"ratio {present.max() / present.min():.1f}")

# %% [markdown]
# ### Labels per test clip and label co-occurrence (Figs. 2.9, 2.10)
#
# Most IRMAS test excerpts carry one or two labels; four or five are rare. Which instruments sound
# together follows the music: voice with guitars and piano, piano with saxophone in jazz.

# %%
per_clip = stats.labels_per_clip(data.test["labels"])
cooccurrence = stats.label_cooccurrence(data.test["labels"])
fig, ax = plotting.subplots(figsize=(5, 3.4))
plotting.count_bars(ax, per_clip, xlabel="labels per clip", ylabel="test clips",
                    title=f"{IRMAS} test split: number of labels")
save_figure(fig, "2.9", "labels_per_test_clip", f"{IRMAS} test split: distribution of the number of labels.",
            PROV, NOTEBOOK)
plt.show()
fig, ax = plotting.subplots(figsize=(6.5, 5.5))
plotting.cooccurrence_heatmap(ax, cooccurrence, title=f"{IRMAS} test split: label co-occurrence")
save_figure(fig, "2.10", "label_cooccurrence",
            f"{IRMAS} test split: label co-occurrence matrix (clips carrying both labels; diagonal blank).",
            PROV, NOTEBOOK)
plt.show()


def top_pairs(matrix: pd.DataFrame, n: int = 5) -> pd.Series:
    """The ``n`` most frequent unordered class pairs of a co-occurrence matrix."""
    upper = matrix.where(np.triu(np.ones(matrix.shape, dtype=bool), k=1)).stack()
    upper.index = [f"{a}-{b}" for a, b in upper.index]
    return upper[upper > 0].astype(int).sort_values(ascending=False, kind="stable").head(n)


# %%
# NBVAL_CHECK_OUTPUT
print(per_clip.to_frame().T.to_string())
print("most frequent pairs:", ", ".join(f"{pair} ({count})" for pair, count in top_pairs(cooccurrence).items()))

# %% [markdown]
# ### Durations (Figs. 2.11, 2.12)
#
# IRMAS test excerpts run from 5 to 20 s and most are exactly 20 s long, while every training clip is
# 3 s: a model trained on 3-s clips must be applied to longer excerpts, which chapter 4 handles by
# cutting them into windows and aggregating the window predictions.

# %%
durations = data.test["duration"]
fig, ax = plotting.subplots(figsize=(6, 3.4))
ax.hist(durations, bins=np.arange(4.5, 21.5, 1.0), color="0.45", edgecolor="0.2", linewidth=0.5)
ax.set(xlabel="duration (s)", ylabel="test clips", title=f"{IRMAS} test split: durations")
save_figure(fig, "2.11", "test_durations", f"{IRMAS} test split: distribution of excerpt durations (1-s bins).",
            PROV, NOTEBOOK)
plt.show()

per_label = data.test.assign(**{"class": data.test["labels"]}).explode("class")[["class", "duration"]]
per_label["duration"] = per_label["duration"].astype(float)
by_count = data.test.assign(n_labels=data.test["labels"].map(len))
fig, axes = plotting.subplots(1, 2, figsize=(12, 3.8), width_ratios=[2, 1])
np.random.seed(P.seed)  # seaborn's strip-plot jitter draws from NumPy's global generator
plotting.class_distributions(axes[0], per_label, "duration", ylabel="duration (s)", title="(a) per class")
axes[1].set_title("(b) per number of labels")
for n, group in by_count.groupby("n_labels"):
    axes[1].scatter(np.full(len(group), n) + np.linspace(-0.2, 0.2, len(group)), group["duration"], s=6,
                    color="0.3", alpha=0.6)
axes[1].boxplot([g["duration"] for _, g in by_count.groupby("n_labels")],
                positions=sorted(by_count["n_labels"].unique()), widths=0.6, showfliers=False)
axes[1].set(xlabel="labels per clip", ylabel="duration (s)")
save_figure(fig, "2.12", "durations_per_class_and_labels",
            f"{IRMAS} test split: excerpt duration (a) per class (a clip counts once for each of its labels) "
            "and (b) per number of labels.", PROV, NOTEBOOK)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(durations)} test clips, {durations.min():.1f}-{durations.max():.1f} s, "
      f"{(durations >= 19.99).mean():.0%} are 20 s long")

# %% [markdown]
# ### How close is the stand-in to IRMAS?
#
# IRMAS's numbers (`harmonylib.reference`, counted on the release) against this profile's data. The
# testing-data columns count validation and test splits together, as IRMAS publishes its 2874 testing
# excerpts as one set. Shares
# rather than counts are compared, since the synthetic set is smaller. **SynthIRMAS is not IRMAS**: a
# close match of these marginal frequencies says nothing about how the music sounds, and no result on
# SynthIRMAS is an IRMAS result.

# %%
# NBVAL_CHECK_OUTPUT
testing = pd.concat([data.val, data.test])
testing_counts = stats.class_counts(testing["labels"])
irmas_train, irmas_test = pd.Series(IRMAS_TRAIN_COUNTS)[list(CLASSES)], pd.Series(IRMAS_TEST_LABEL_COUNTS)[list(CLASSES)]
comparison = pd.DataFrame({
    "IRMAS train": irmas_train,
    f"{IRMAS} train": train_counts,
    "IRMAS train %": 100 * irmas_train / irmas_train.sum(),
    f"{IRMAS} train %": 100 * train_counts / train_counts.sum(),
    "IRMAS test labels": irmas_test,
    f"{IRMAS} test labels": testing_counts,
    "IRMAS test %": 100 * irmas_test / irmas_test.sum(),
    f"{IRMAS} test %": 100 * testing_counts / testing_counts.sum(),
})
print(comparison.round(1).to_string())
ours_per_clip = stats.labels_per_clip(testing["labels"])
irmas_per_clip = pd.Series(IRMAS_LABELS_PER_CLIP)
per_clip_table = pd.DataFrame({"IRMAS %": 100 * irmas_per_clip / irmas_per_clip.sum(),
                               f"{IRMAS} %": 100 * ours_per_clip / ours_per_clip.sum()}).fillna(0.0)
per_clip_table.index.name = "labels per clip"
print()
print(per_clip_table.round(1).to_string())
irmas_mean = sum(k * v for k, v in IRMAS_LABELS_PER_CLIP.items()) / sum(IRMAS_LABELS_PER_CLIP.values())
print(f"labels per testing clip: IRMAS {irmas_mean:.2f}, {IRMAS} {testing['labels'].map(len).mean():.2f} "
      f"({len(testing)} clips)")

# %% [markdown]
# ## 2.4 The AudioSet-like data set (Figs. 2.13, 2.14)
#
# The study adds AudioSet clips for more, and more varied, training data: 10-s YouTube excerpts that may
# carry several labels and in which an instrument need not play throughout. The report found its
# AudioSet subset more balanced than IRMAS and mostly single-labelled.

# %%
as_train = data.audioset_train
as_counts = stats.class_counts(as_train["labels"])
fig, ax = plotting.subplots(figsize=(6, 3.6))
plotting.class_bars(ax, as_counts, ylabel="training clips with the label", title=f"{AUDIOSET} training split")
save_figure(fig, "2.13", "audioset_class_distribution", f"{AUDIOSET} training split: distribution of classes.",
            PROV_AS, NOTEBOOK)
plt.show()

as_cooccurrence = stats.label_cooccurrence(as_train["labels"])
as_per_clip = stats.labels_per_clip(as_train["labels"])
fig, axes = plotting.subplots(1, 2, figsize=(11, 4.6), width_ratios=[1.4, 1])
plotting.cooccurrence_heatmap(axes[0], as_cooccurrence, title="(a) label co-occurrence")
plotting.count_bars(axes[1], as_per_clip, xlabel="labels per clip", ylabel="training clips",
                    title="(b) number of labels")
save_figure(fig, "2.14", "audioset_cooccurrence_labels_per_clip",
            f"{AUDIOSET} training split: (a) label co-occurrence matrix, (b) distribution of the number of labels.",
            PROV_AS, NOTEBOOK)
plt.show()
example = as_train.sort_values("path").iloc[0]
y, sr = load(example["path"], mono=True)
print(f"{AUDIOSET} clip {example['ytid']}: labels {', '.join(example['labels'])}")
display(Audio(y, rate=sr))

# %%
# NBVAL_CHECK_OUTPUT
print(f"{AUDIOSET}: {len(as_train)} training clips")
print(as_counts.to_frame("training clips").T.to_string())
print(as_per_clip.to_frame().T.to_string())
print("most frequent pairs:", ", ".join(f"{pair} ({count})" for pair, count in top_pairs(as_cooccurrence).items()))
present = as_counts[as_counts > 0]
print(f"most / least frequent class ratio: {present.max() / present.min():.1f} (IRMAS-like test: "
      f"{test_counts[test_counts > 0].max() / test_counts[test_counts > 0].min():.1f})")

# %% [markdown]
# ## Exercises
# 1. The validation split is not plotted. Plot its Fig. 2.8(b) and compare: does splitting by song keep
#    the class shares close, and which class is hardest to keep balanced?
# 2. Compute the co-occurrence matrix normalised by class frequency (e.g. the conditional share
#    $P(b \mid a)$). Which pairs stand out once frequent classes no longer dominate, as the report
#    notices for Fig. 2.10?
# 3. With only a handful of `cla` test clips, how wide is a 95 % confidence interval for a recall of
#    0.5? (Hint: `scipy.stats.binomtest(...).proportion_ci()`.)
