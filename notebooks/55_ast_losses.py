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
# # 55 · Evaluation VI: overfitting, seen in the loss curves
#
# **Reproduces:** report section 5.6, Figure 5.6: training and validation loss of the two ASTs that
# differ only in their L2 regularisation.
# **Writes:** Fig. 5.6 `ast_l2_losses`; table 5.6 `ast_l2_losses` (loss per epoch and the selected epoch).
# **Differs from the report:** the report smoothed its curves (per-step TensorBoard logs); these are
# the per-epoch values the training engine records, unsmoothed: the training loss is the mean over
# the epoch, the validation loss the window-level binary cross-entropy on the validation songs.
# The selected checkpoint is marked: it is chosen by validation macro F1 (notebook 30), not by the
# loss. Under `smoke`/`default` the data are **SynthIRMAS** and the epochs few (`Profile.scale_downs`).

# %% tags=["parameters"]
import os

profile = os.environ.get("HARMONY_PROFILE", "default")
data_dir = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from harmonylib import comparisons as cmp
from harmonylib import plotting
from harmonylib.config import get_profile
from harmonylib.io import Provenance, save_figure, save_table
from harmonylib.runs import MissingRunError

P = get_profile(profile)
NOTEBOOK = "55_ast_losses"
plotting.use_style()
runs, skipped = cmp.available_runs(cmp.LOSS_CURVES["5.6"], P)
if skipped:
    raise MissingRunError(f"Figure 5.6 needs both AST runs; the profile skips {skipped}")
PROV = Provenance(dataset=P.dataset_name, profile=P.name, weights=cmp.weights_label(runs))
LABELS = {"ast_w1_l2low": "lower L2 (1e-5 / 1e-5)", "ast_w1_l2high": "higher L2 (1e-4 / 1e-3)"}
curves = pd.concat([run.metrics[["epoch", "train_loss", "val_loss"]].assign(
    model=LABELS[name], epoch=run.metrics["epoch"] + 1, selected=run.metrics["epoch"] == run.summary.get("best_epoch"))
    for name, run in runs.items()], ignore_index=True)

# %% [markdown]
# ## Figure 5.6

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
colors = dict(zip(LABELS.values(), ("#4c72b0", "#dd8452")))
for ax, column, title in zip(axes, ("train_loss", "val_loss"), ("training loss", "validation loss")):
    for model, part in curves.groupby("model", sort=False):
        ax.plot(part["epoch"], part[column], marker="o", color=colors[model], label=model)
        best = part[part["selected"]]
        ax.scatter(best["epoch"], best[column], s=140, facecolors="none", edgecolors=colors[model], linewidths=1.5)
    ax.set(xlabel="epoch", ylabel="binary cross-entropy (nats)", title=f"AST {title}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
axes[0].scatter([], [], s=140, facecolors="none", edgecolors="0.3", label="selected checkpoint (val. macro F1)")
axes[0].legend(fontsize=8, title="weight decay (backbone / classifier)", title_fontsize=8)
fig.tight_layout(rect=(0, 0.04, 1, 1))
save_figure(fig, "5.6", "ast_l2_losses",
            "Training and validation loss of the AST with lower and higher L2 regularisation (per epoch, unsmoothed)",
            PROV, NOTEBOOK)
plt.show()

# %%
table = curves.pivot_table(index="epoch", columns="model", values=["train_loss", "val_loss"])
table.columns = [f"{loss} {model}" for loss, model in table.columns]
table = table.reset_index()
save_table(table, "5.6", "ast_l2_losses", "AST training and validation loss per epoch, lower vs higher L2",
           PROV, NOTEBOOK)
for name, run in runs.items():
    print(f"{LABELS[name]}: selected epoch {run.summary.get('best_epoch', 0) + 1}, lowest validation loss at epoch "
          f"{int(run.metrics.loc[run.metrics['val_loss'].idxmin(), 'epoch']) + 1}")
table.round(4)

# %% [markdown]
# Overfitting shows as a training loss that keeps falling while the validation loss turns upwards.
# Stronger weight decay pulls the weights towards zero, so the training loss falls more slowly; the
# question the figure answers is whether the validation loss is lower and turns later. Under Adam the
# pull is coupled L2 (notebook 34): it is divided by each weight's running gradient scale, so the two
# settings differ by much less than their factor of 10 and 100 suggests, and where the validation loss
# is still falling at the last epoch (no overfitting yet) the two curves can hardly differ.
#
# ## Exercises
# 1. Before looking at the table: at which epoch would you stop each run if you selected by validation
#    loss? Does it match the checkpoint selected by macro F1, and should it?
# 2. The report smoothed its curves. Compute a running mean over 2 epochs: which conclusions change?
