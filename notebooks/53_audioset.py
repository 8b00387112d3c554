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
# # 53 · Evaluation IV: training on AudioSet, testing across data sets
#
# **Reproduces:** report section 5.5, Figure 5.4: ResNet-50 trained on AudioSet or IRMAS and tested on
# each, the four (train, test) combinations.
# **Writes:** Fig. 5.4 `audioset_irmas` (95 % bootstrap intervals); tables 5.4 `audioset_irmas`,
# `audioset_irmas_tests`, `audioset_irmas_variants`, `audioset_irmas_per_class_f1` (and
# `audioset_irmas_vs_original` on the real data).
# **Differs from the report:** under `smoke`/`default` the two data sets are **SynthIRMAS** and
# **SynthAudioSet**, rendered here from SoundFonts; the gap between them is a gap between two synthetic
# renderings, not between IRMAS and YouTube audio. Paired tests compare the two models *on the same test
# set* (the only comparisons a paired test can make); the AudioSet "songs" of the bootstrap are the clips
# themselves (one YouTube video each).

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from harmonylib import comparisons as cmp
from harmonylib import evaluate as ev
from harmonylib import plotting
from harmonylib.config import get_profile
from harmonylib.io import Provenance, save_figure, save_table

P = get_profile(profile)
NOTEBOOK = "53_audioset"
plotting.use_style()
pd.set_option("display.width", 160)
E = cmp.evaluate_comparison("5.4", P)
PROV = Provenance(dataset=f"{P.dataset_name} + {P.audioset_name}", profile=P.name,
                  weights=cmp.weights_label(E.collected.runs))
for label, (y_true, _) in E.collected.systems.items():
    print(f"{label:<24} {len(y_true):>5} test clips, {y_true.sum(1).mean():.2f} labels per clip")

# %% [markdown]
# ## Figure 5.4
#
# Labels are "train -> test". Within a test set the two bars differ only in the training data.

# %%
fig, ax = plt.subplots(figsize=(8.5, 4.2))
cmp.plot_evaluation(E, ax)
save_figure(fig, "5.4", "audioset_irmas",
            f"ResNet-50 trained on {P.audioset_name} or {P.dataset_name} and tested on each "
            "(S2 at 0.5; 95 % bootstrap CIs)", PROV, NOTEBOOK)
plt.show()

# %%
table = cmp.wide(E.metrics, ev.METRICS)
save_table(table, "5.4", "audioset_irmas",
           f"Train x test combinations of {P.audioset_name} and {P.dataset_name} ({E.main_variant}) with 95 % "
           "bootstrap CIs", PROV, NOTEBOOK)
table

# %% [markdown]
# ## Does the model trained on the other data set do worse? Paired tests

# %%
save_table(E.tests, "5.4", "audioset_irmas_tests",
           "Paired permutation tests on each test set: in-domain vs cross-domain training (A - B, 95 % CI, p, Holm p)",
           PROV, NOTEBOOK)
for line in cmp.describe_tests(E.tests):
    print(line)

# %% [markdown]
# ## Beside the report's setting, and per class
#
# Thresholds are tuned on the validation split of the data set each model was *trained* on, so the
# cross-domain rows do not peek at the target domain.

# %%
variants = E.variants[E.variants["metric"].isin(["hamming_score", "exact_match", "macro_f1"])]
variants_wide = variants.pivot_table(index=["system", "variant"], columns="metric", values="value", sort=False)
save_table(variants_wide.reset_index(), "5.4", "audioset_irmas_variants",
           "Train x test combinations under S2 at 0.5, S1 at 0.5 and S2 with thresholds tuned on the training "
           "data set's validation split", PROV, NOTEBOOK)
variants_wide.round(4)

# %%
save_table(E.per_class, "5.4", "audioset_irmas_per_class_f1",
           "Per-class F1 of the train x test combinations (S2 at 0.5); one block per test set", PROV, NOTEBOOK)
E.per_class.round(3)

# %%
if P.data.source == "real":
    beside = cmp.beside_paper(E)
    save_table(beside, "5.4", "audioset_irmas_vs_original",
               "Our AudioSet/IRMAS results beside the original study's (harmonylib.reference)", PROV, NOTEBOOK)
    display(beside.round(4))
else:
    display(Markdown(cmp.not_comparable(E)))

# %% [markdown]
# ## Exercises
# 1. Which classes transfer best from one data set to the other (per-class table)? Is it the classes
#    with the most training clips?
# 2. AudioSet clips are 10 s long and the model sees ten 1-s windows per clip. Predict how S1 and S2
#    differ on AudioSet compared with IRMAS, then check the variants table.
