"""Small plotting helpers shared by the notebooks: every axis labelled with its unit, classes always
in :data:`~harmonylib.labels.CLASSES` order and drawn in their :data:`~harmonylib.labels.CLASS_COLORS`.

Each helper draws on a given Matplotlib ``ax`` and returns it (or the image it drew), so figures are
composed in the notebooks. First used by notebooks 11-13.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import librosa.display
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .labels import CLASS_COLORS, CLASSES


def use_style() -> None:
    """The study's Matplotlib/seaborn style (call once per notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "axes.titleweight": "bold", "savefig.bbox": "tight"})


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs):
    """``plt.subplots`` with constrained layout and a strip left free at the bottom for the provenance line
    that :func:`harmonylib.io.save_figure` prints, so it never overlaps an axis label."""
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    reserve_footer(fig)
    return fig, axes


def figure(*, figsize: tuple[float, float]):
    """An empty constrained-layout figure with the provenance strip reserved (for gridspec layouts)."""
    fig = plt.figure(figsize=figsize, layout="constrained")
    reserve_footer(fig)
    return fig


def reserve_footer(fig, inches: float = 0.16) -> None:
    """Keep the bottom ``inches`` of a constrained-layout figure free of axes."""
    share = inches / fig.get_figheight()
    fig.get_layout_engine().set(rect=(0, share, 1, 1 - share))


def class_palette(classes: Sequence[str] = CLASSES) -> list[str]:
    """The fixed colours of ``classes``, in their order."""
    return [CLASS_COLORS[code] for code in classes]


def class_bars(ax, counts: Mapping[str, float] | pd.Series, *, ylabel: str = "clips", title: str | None = None,
               annotate: bool = True, fmt: str = "{:.0f}"):
    """Bars of one value per class, in CLASSES order with class colours (missing classes: 0)."""
    values = pd.Series(counts, dtype=float).reindex(CLASSES, fill_value=0.0)
    bars = ax.bar(CLASSES, values.to_numpy(), color=class_palette(), edgecolor="0.2", linewidth=0.5)
    if annotate:
        ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=7, padding=1)
    ax.set(xlabel="class", ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="x", visible=False)
    return ax


def count_bars(ax, counts: pd.Series, *, xlabel: str, ylabel: str = "clips", title: str | None = None,
               color: str = "0.45"):
    """Bars of a count per value of a discrete quantity (e.g. labels per clip), annotated."""
    bars = ax.bar([str(i) for i in counts.index], counts.to_numpy(), color=color, edgecolor="0.2", linewidth=0.5)
    ax.bar_label(bars, fontsize=7, padding=1)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="x", visible=False)
    return ax


def cooccurrence_heatmap(ax, matrix: pd.DataFrame, *, title: str | None = None, cbar_label: str = "clips",
                         fmt: str = "d", vmin: float | None = None, vmax: float | None = None,
                         mask_diagonal: bool = True):
    """A class-by-class matrix in CLASSES order, annotated: co-occurrence counts (the defaults, diagonal left
    blank; notebook 12) or rates such as notebook 57's false positives given another class (NaN cells blank)."""
    matrix = matrix.reindex(index=CLASSES, columns=CLASSES, fill_value=0)
    mask = np.eye(len(CLASSES), dtype=bool) if mask_diagonal else None
    sns.heatmap(matrix, ax=ax, mask=mask, annot=True, fmt=fmt, cmap="rocket_r", vmin=vmin, vmax=vmax,
                square=True, linewidths=0.3, annot_kws={"fontsize": 7}, cbar_kws={"label": cbar_label, "shrink": 0.8})
    ax.set(xlabel="class", ylabel="class")
    ax.tick_params(axis="y", labelrotation=0)
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def class_distributions(ax, frame: pd.DataFrame, value: str, *, ylabel: str, title: str | None = None):
    """Violin + strip plot of ``frame[value]`` per class (column ``class``), CLASSES order and colours.

    Violin widths follow the clip counts (a class of 4 clips gets no broad, smooth density it cannot
    support) and every clip is a visible point; the tick labels give each class's count.
    """
    order = [c for c in CLASSES if c in set(frame["class"])]
    sns.violinplot(data=frame, x="class", y=value, hue="class", order=order, hue_order=order,
                   palette=class_palette(order), cut=0, inner=None, linewidth=0.6, legend=False, ax=ax,
                   density_norm="count")
    sns.stripplot(data=frame, x="class", y=value, order=order, color="0.15", size=2.5, alpha=0.6, ax=ax)
    counts = frame["class"].value_counts()
    ax.set_xticks(range(len(order)), [f"{c}\nn = {counts[c]}" for c in order])
    ax.set(xlabel="class", ylabel=ylabel)
    if title:
        ax.set_title(title)
    return ax


def waveform_panel(ax, y: np.ndarray, sr: int, *, title: str | None = None, color: str = "0.3"):
    """The waveform against time in seconds, amplitude in digital full scale."""
    librosa.display.waveshow(y, sr=sr, ax=ax, color=color, linewidth=0.4)
    ax.set(xlabel="time (s)", ylabel="amplitude (full scale)")
    if title:
        ax.set_title(title)
    return ax


def spectrogram_panel(ax, S_db: np.ndarray, sr: int, hop_length: int, *, y_axis: str = "log",
                      title: str | None = None, colorbar: bool = True, cbar_label: str = "power (dB re max)",
                      **specshow_kwargs):
    """A dB spectrogram with time in seconds and frequency in Hz (``y_axis``: 'log', 'linear', 'mel')."""
    image = librosa.display.specshow(S_db, sr=sr, hop_length=hop_length, x_axis="time", y_axis=y_axis, ax=ax,
                                     cmap="magma", **specshow_kwargs)
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, format="%+.0f", label=cbar_label)
    if title:
        ax.set_title(title)
    return image


def feature_panel(ax, F: np.ndarray, sr: int, hop_length: int, *, ylabel: str, cbar_label: str,
                  row_names: Sequence[str] | None = None, title: str | None = None, cmap: str = "coolwarm",
                  first_row: int = 0, cbar_extend: str = "neither", **specshow_kwargs):
    """A (dimensions x frames) feature matrix against time in seconds; rows named, or numbered from
    ``first_row`` (e.g. 1 for MFCCs shown without coefficient 0)."""
    image = librosa.display.specshow(F, sr=sr, hop_length=hop_length, x_axis="time", ax=ax, cmap=cmap,
                                     **specshow_kwargs)
    if row_names is None:
        ticks = np.arange(0, F.shape[0], max(1, F.shape[0] // 8))
        ax.set_yticks(ticks, labels=[str(i + first_row) for i in ticks], fontsize=7)  # specshow centres row i on i
    else:
        ax.set_yticks(np.arange(len(row_names)), labels=row_names, fontsize=7)
    ax.set(xlabel="time (s)", ylabel=ylabel)
    ax.figure.colorbar(image, ax=ax, label=cbar_label, extend=cbar_extend)
    if title:
        ax.set_title(title)
    return image
