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
counts, _, bars = ax.hist(durations, bins=np.arange(4.5, 21.5, 1.0), color="0.45", edgecolor="0.2", linewidth=0.5)
ax.bar_label(bars, labels=[f"{int(c)}" if c else "" for c in counts], fontsize=7)  # the short bars' counts too
ax.set(xlabel="duration (s)", ylabel="test clips (log scale)", yscale="log", ylim=(0.8, 3 * max(counts.max(), 1)),
       title=f"{IRMAS} test split: durations")
save_figure(fig, "2.11", "test_durations", f"{IRMAS} test split: distribution of excerpt durations (1-s bins, "
            "counts on a log scale).", PROV, NOTEBOOK)
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
# Each exercise says what you should find at the default profile and how long it takes; its worked
# solution follows, folded: click the bar left of a folded cell (or its "…") to unfold it.
#
# **1 · The validation split.** The validation split is not plotted above. Draw its Fig. 2.8(b) beside the
# test split's, compare the class shares, and count for each class the songs it occurs in on each side. Does
# splitting by song keep the shares close, and which classes are hardest to keep balanced?
# *You should find:* every class on both sides, the rarest (`cla`) in 12 validation and 50 test songs, and
# every share within about 2.3 points of its counterpart: the largest gaps are `gel`'s (about 18 % of the
# validation labels against 16 % in test) and `pia`'s (13 % against 16 %), the largest relative one `flu`'s
# (about 7 % against 5 %).
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 1.** A split by song moves whole songs, and a song brings all of its instruments with it: a
# class can only land on both sides if it occurs in at least two songs, and its share on each side depends
# on which songs, with how many excerpts, fell where. Stratifying by each excerpt's rarest label spreads
# songs of rare classes where it can, but it cannot split one song. Measured on SynthIRMAS at the default
# profile, the 1100 testing songs give 220 to validation (333 excerpts) and 880 to test (1326). The units
# moved are small (one or two excerpts) and many (every class is labelled in at least 62 songs), so the
# two sides stay alike: every class is on both, `cla`, the rarest, in 12 validation and 50 test songs, and
# no share differs by more than 2.3 points (`gel`, 17.8 % of the validation labels against 15.5 % of the
# test labels, and `pia` the other way, 13.4 % against 15.6 %; relative to its size, `flu` differs most,
# 7.0 % against 5.3 %). The rare classes still rest on far less than the frequent ones: the test split
# holds 72 `cla` labels from 50 songs and 104 `cel` labels from 71 (against 424 `voi` labels from 323),
# and a checkpoint or threshold chosen on validation sees `cla` in 18 excerpts (exercise 3 turns such
# counts into intervals). With few songs of many excerpts each, as in IRMAS (208 songs of 1-47 excerpts),
# one song can move a class's share by several points, and a class heard in only one or two songs can miss
# a side altogether: a split by song trades some balance for an honest estimate (notebook 10, exercise 2),
# and the fewer the songs per class, the more visible the trade.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
val_counts = stats.class_counts(data.val["labels"])
sides = pd.concat([data.val.assign(side="val"), data.test.assign(side="test")]).explode("labels")
songs_per_side = sides.groupby(["labels", "side"])["song"].nunique().unstack(fill_value=0)
shares = pd.DataFrame({"val labels": val_counts, "test labels": test_counts,
                       "val %": 100 * val_counts / max(val_counts.sum(), 1),
                       "test %": 100 * test_counts / max(test_counts.sum(), 1)})
shares = shares.join(songs_per_side.reindex(index=list(CLASSES), columns=["val", "test"], fill_value=0)
                     .add_suffix(" songs"))
print(shares.round(1).T.to_string())
print(f"{data.val['song'].nunique()} songs ({len(data.val)} clips) in validation, {data.test['song'].nunique()} "
      f"({len(data.test)}) in test; classes missing from validation: "
      f"{', '.join(c for c in CLASSES if val_counts[c] == 0) or 'none'}")
fig, axes = plotting.subplots(1, 2, figsize=(11, 3.6), sharey=True)
plotting.class_bars(axes[0], shares["val %"], ylabel="share of labels (%)", title=f"{IRMAS} validation split")
plotting.class_bars(axes[1], shares["test %"], ylabel="share of labels (%)", title=f"{IRMAS} test split")
plt.show()

# %% [markdown]
# **2 · Co-occurrence without the frequent classes.** Fig. 2.10 counts clips, so frequent classes
# dominate it, as the report notes. Normalise it: first by the row class, the conditional share
# $P(b \mid a)$ = clips with both / clips with $a$; then by both classes, the *lift*, observed / expected
# if the two were independent ($n_a n_b / n$). Which pairs stand out now, and how many clips and songs
# are they based on?
# *You should find:* $P(b \mid a)$ still dominated by the frequent columns (`voi`, `gel`, `pia`); by lift, no pair
# seen in at least 3 clips reaches chance: the highest, `gac`-`org` (32 clips from 30 songs), is at 0.95 times the
# expected number, then `gac`-`voi` (0.90, 70 clips from 64 songs), while `cla`-`gac` (3 clips), `gac`-`vio` (6 clips
# from 5 songs) and `cel`-`org` (4 clips from 3 songs) fall to about a quarter; every one of these pairs is spread over
# about as many songs as clips.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 2.** $P(b \mid a)$ removes the frequency of $a$ but not of $b$: whatever $a$ is, `voi`, `gel` and `pia`
# are likely partners because they are in so many clips. The lift divides by both frequencies, so 1 means "as often as
# chance" and values far from 1 mean the music joins or separates the two. Measured on the SynthIRMAS test split at
# the default profile, every pair seen in at least 3 clips sits below 1: the highest is `gac`-`org`, 0.95 (32 clips
# from 30 songs, against 33.5 expected), the lowest `cla`-`gac` (3 against 13.2), `gac`-`vio` (6 against 23.1) and
# `cel`-`org` (4 against 14.4), 0.23-0.28. That no lift reaches 1 says more about the baseline than about the music:
# independent classes would let the labels of a clip pile up, while the number of labels per excerpt follows IRMAS's
# distribution (1.73 on average, four or five in 27 of the 1326 clips). The clips of Fig. 2.9 hold 1201 pairs of
# labels (601 clips with two, 142 with three, 24 with four, 3 with five), where independent classes of the same
# frequencies would give about 1750: over all pairs, 0.69 times the expected number, and a pair at 0.95 is among the
# most favoured. `gel`-`voi`, one of the report's pairs worth mentioning on IRMAS and the second most frequent pair of
# Fig. 2.10 (86 clips, after `pia`-`voi` with 97), is frequent because both classes are: the class counts (356 `gel`,
# 424 `voi` in 1326 clips) expect about 114 if the two were independent, so it sits at 0.76, near the overall 0.69.
# Excerpts of one song are not independent, so a pair's evidence is its number of songs, not of clips; with songs of
# one or two excerpts the two nearly coincide here. What the extreme lifts lack is size: 3 clips where 13.2 are
# expected, or 4 where 14.4 are, rest on 3 songs each, too few to tell a musical reason from the luck of the draw
# among 55 possible pairs. A lift needs enough clips, enough songs and a baseline that respects how many labels a clip
# carries before it says anything about music; here only pairs of the frequent classes have the clips and songs, such
# as `gac`-`voi` (70 clips from 64 songs, 0.90 of the 77.7 expected).

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
n_clips = len(data.test)
conditional = cooccurrence.div(test_counts.replace(0, np.nan), axis=0)
expected = pd.DataFrame(np.outer(test_counts, test_counts) / max(n_clips, 1), index=cooccurrence.index,
                        columns=cooccurrence.columns)
upper = np.triu(np.ones(cooccurrence.shape, dtype=bool), k=1)
pairs = pd.DataFrame({"clips": cooccurrence.where(upper).stack(), "expected": expected.where(upper).stack()})
pairs = pairs[pairs["clips"] > 0]
pairs["lift"] = pairs["clips"] / pairs["expected"]
pairs["songs"] = [data.test.loc[data.test["labels"].map(lambda labels: a in labels and b in labels), "song"].nunique()
                  for a, b in pairs.index]
print("P(b | a), the three largest per row:")
for a, row in conditional.dropna(how="all").iterrows():
    top = row.drop(a).nlargest(3)
    print(f"  {a} (n={test_counts[a]}): " + ", ".join(f"{b} {v:.2f}" for b, v in top.items() if v > 0))
supported = pairs[pairs["clips"] >= 3].sort_values("lift", ascending=False)
print("\nlift of pairs seen in at least 3 clips, highest and lowest:")
shown = supported if len(supported) <= 7 else pd.concat([supported.head(4), supported.tail(3)])
print(shown.round(2).to_string() if len(shown) else "no pair is seen in 3 clips at this profile")

# %% [markdown]
# **3 · How sure is a recall of 0.5?** Suppose a model recognises half of the test split's `cla` clips.
# How wide is the 95 % confidence interval of that recall? Use Clopper-Pearson's exact binomial interval,
# `scipy.stats.binomtest(k, n).proportion_ci()`, and compare with the same recall on 43 clips (IRMAS's 62
# `cla` testing labels, 70 % of which fall in a test split) and on 400. How many clips would a
# ±0.05 interval need?
# *You should find:* with the default profile's 72 `cla` test clips the interval runs from about 0.38 to
# 0.62 (±0.12); with 43 clips about 0.35-0.67; a ±0.05 interval needs about 400 clips.
# *Time:* under 1 s at the default profile.

# %% [markdown] jupyter={"source_hidden": true}
# **Solution 3.** A recall on $n$ clips is a count of successes out of $n$ trials; Clopper-Pearson's interval
# inverts the binomial distribution exactly, so it holds even for tiny $n$, where the normal approximation
# $\hat p \pm 1.96 \sqrt{\hat p (1 - \hat p) / n}$ fails. Its half-width shrinks only like $1 / \sqrt n$:
# at $p = 0.5$ a half-width of 0.05 needs $n \approx 1.96^2 \cdot 0.25 / 0.05^2 \approx 384$ clips, far more
# than any IRMAS test split has of its rarer classes. Measured on SynthIRMAS at the default profile, the test
# split has 72 `cla` clips, and a recall of 36 of 72 is compatible with anything from 0.38 to 0.62. This is the
# report's remark on Fig. 2.8(b) made quantitative: per-class and macro-averaged metrics of rare classes are
# noisy. And the interval is still too optimistic, because it assumes independent clips, while the 72 `cla`
# clips come from 50 songs (exercise 1), and two excerpts of one song are not two independent trials; chapter 5's
# bootstrap resamples whole songs for that reason.

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["solution"]
from scipy.stats import binomtest

n_cla = int(test_counts.get("cla", 0))
irmas_cla = round(0.7 * IRMAS_TEST_LABEL_COUNTS["cla"])
for n, what in ((n_cla, f"{IRMAS} test split"), (irmas_cla, "IRMAS, a 70 % test split"), (400, "400 clips")):
    if n == 0:
        print(f"{what}: no cla clips, so no recall to estimate")
        continue
    k = round(n / 2)
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95)
    print(f"{what}: recall {k}/{n} = {k / n:.2f}, 95 % Clopper-Pearson interval "
          f"{interval.low:.2f}-{interval.high:.2f} (half-width {(interval.high - interval.low) / 2:.2f})")
print(f"clips for a half-width of 0.05 at p = 0.5 (normal approximation): {1.96 ** 2 * 0.25 / 0.05 ** 2:.0f}")
