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
# # 50 · Evaluation I: metrics, aggregation and the window size
#
# **Reproduces:** report sections 4.7 (aggregation S1/S2), 5.1 (metrics) and 5.2 (window sizes,
# Figure 5.1: ResNet-50 trained and evaluated with 1-, 2- and 3-s windows).
# **Writes:** Fig. 5.1 `resnet_window_sizes` (with 95 % bootstrap intervals); tables 5.1
# `resnet_window_sizes` (metrics with intervals), `resnet_window_sizes_tests` (paired tests),
# `resnet_window_sizes_variants` (S1, tuned thresholds), `resnet_window_sizes_per_class_f1`, and,
# on the real IRMAS only, `resnet_window_sizes_vs_original`.
# **Differs from the report:** this notebook trains nothing: it reads the run folders the experiment
# grid (`harmonylib/grid.py`, executed by `./run_all.sh`) wrote. The report compared bars by
# eye; here every bar has a 95 % confidence interval from a bootstrap over **songs**, and every
# comparison the text draws is a paired permutation test. Under the `smoke` and `default` profiles
# the data are **SynthIRMAS**, so no number here is an IRMAS result.

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from harmonylib import comparisons as cmp
from harmonylib import evaluate as ev
from harmonylib import plotting
from harmonylib.config import get_profile
from harmonylib.io import Provenance, save_figure, save_table
from harmonylib.labels import NUM_CLASSES

P = get_profile(profile)
NOTEBOOK = "50_window_sizes"
plotting.use_style()
pd.set_option("display.width", 160)
E = cmp.evaluate_comparison("5.1", P)
PROV = Provenance(dataset=P.dataset_name, profile=P.name, weights=cmp.weights_label(E.collected.runs))
print(f"profile {P.name}: {len(E.collected.systems)} systems, "
      f"{len(next(iter(E.collected.systems.values()))[0])} {P.dataset_name} test clips from "
      f"{len(set(next(iter(E.collected.groups.values()))))} songs")

# %% [markdown]
# ## From windows to a clip: S1 and S2 (report 4.7)
#
# A model trained on 1-s windows sees a 20-s test excerpt as twenty windows and gives each an
# independent sigmoid output per class. Two ways of turning them into one answer per clip come from
# Han et al. (2017):
#
# * **S1**: the class-wise mean, thresholded as it is. If no class is loud enough on average, S1
#   predicts *nothing*.
# * **S2**: the class-wise *sum*, divided by the largest class sum. The strongest class always scores
#   exactly 1 and is always predicted; the others count when they reach half of its strength
#   (threshold 0.5). "Predominant" is relative.
#
# A toy clip of three windows shows the difference (rows: windows; columns: the first four classes):

# %%
# NBVAL_CHECK_OUTPUT
toy = np.zeros((3, NUM_CLASSES))
toy[:, :4] = [[0.30, 0.20, 0.05, 0.0], [0.40, 0.25, 0.10, 0.0], [0.35, 0.15, 0.00, 0.0]]
print("S1:", ev.aggregate(toy, "S1")[:4].round(3), "->", ev.binarize(ev.aggregate(toy, "S1"))[:4])
print("S2:", ev.aggregate(toy, "S2")[:4].round(3), "->", ev.binarize(ev.aggregate(toy, "S2"))[:4])

# %% [markdown]
# S1 predicts nothing (no mean reaches 0.5); S2 names class 0 and class 1, which has 57 % of class
# 0's strength. That is why checkpoint selection by BCE on S2 scores is degenerate (the top class is
# 1 by construction): our training engine selects by validation macro F1 instead (notebooks 30-34).
#
# ## The metrics (report 5.1)
#
# * **Hamming score** = 1 − Hamming loss: the share of (clip, class) decisions that are right. With 11
#   classes and ~1.7 labels per clip, predicting nothing already scores about 0.85.
# * **exact match**: the share of clips whose whole label set is right.
# * **macro F1 / precision / recall**: the mean over the 11 classes, so rare classes count as much as
#   the voice. A class never predicted has precision 0; a class absent from the clips scored has F1 0
#   (scikit-learn's `zero_division=0`, passed explicitly in `harmonylib/evaluate.py`).
#
# ## Window sizes: Figure 5.1

# %%
fig, ax = plt.subplots(figsize=(7.5, 4))
cmp.plot_evaluation(E, ax)
save_figure(fig, "5.1", "resnet_window_sizes",
            "ResNet-50 trained and tested with 1-, 2- and 3-s windows (S2 at 0.5; 95 % bootstrap CIs over songs)",
            PROV, NOTEBOOK)
plt.show()

# %%
table = cmp.wide(E.metrics, ev.METRICS)
save_table(table, "5.1", "resnet_window_sizes",
           f"ResNet-50 by window size: metrics ({E.main_variant}) with 95 % bootstrap CIs over songs", PROV, NOTEBOOK)
table

# %% [markdown]
# ## Is the 1-s window better? Paired tests
#
# The bars overlap, so the question is whether the differences are larger than chance. For each pair
# of models we test, on the same test clips, whether they differ: a **permutation test** that swaps the
# two models' predictions song by song (under "no difference" either labelling is equally likely), and
# a paired bootstrap over songs for the interval of the difference. The p-values are Holm-adjusted
# over the whole table, because we test several pairs and metrics at once.

# %%
save_table(E.tests, "5.1", "resnet_window_sizes_tests",
           "Paired permutation tests between window sizes (difference A - B, 95 % paired-bootstrap CI, "
           "p and Holm-adjusted p)", PROV, NOTEBOOK)
for line in cmp.describe_tests(E.tests):
    print(line)

# %% [markdown]
# ## Beside the report's setting: S1, and thresholds tuned on validation
#
# S2 at 0.5 is the report's choice. The table puts S1 at 0.5 and S2 with one threshold per class,
# tuned on the **validation** songs (never the test songs), beside it.

# %%
variants = E.variants[E.variants["metric"].isin(["hamming_score", "exact_match", "macro_f1"])]
variants_wide = variants.pivot_table(index=["system", "variant"], columns="metric", values="value", sort=False)
save_table(variants_wide.reset_index(), "5.1", "resnet_window_sizes_variants",
           "ResNet-50 by window size under S2 at 0.5, S1 at 0.5 and S2 with per-class thresholds tuned on validation",
           PROV, NOTEBOOK)
variants_wide.round(4)

# %% [markdown]
# ## Which classes? Per-class F1

# %%
save_table(E.per_class, "5.1", "resnet_window_sizes_per_class_f1",
           "Per-class F1 of the ResNet-50 window-size models (S2 at 0.5); support = test clips with the class",
           PROV, NOTEBOOK)
E.per_class.round(3)

# %% [markdown]
# ## The original study's numbers

# %%
if P.data.source == "real":
    beside = cmp.beside_paper(E)
    save_table(beside, "5.1", "resnet_window_sizes_vs_original",
               "Our ResNet-50 window-size results beside the original study's (harmonylib.reference)", PROV, NOTEBOOK)
    display(beside.round(4))
else:
    display(Markdown(cmp.not_comparable(E)))

# %% [markdown]
# ## Exercises
# 1. Before looking: does S1 or S2 give the higher *exact match* for long (20-s) excerpts, and why?
#    Check with the variants table, then split the test clips by duration.
# 2. Change `EvalConfig.bootstrap_resamples` to 100 and to 5000: how much do the interval ends move?
#    How many resamples would you report?
# 3. Resample clips instead of songs (`groups=np.arange(n)` in `harmonylib.evaluate.bootstrap_ci`):
#    are the intervals narrower? Which one is honest, and why?
