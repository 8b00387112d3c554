"""harmonylib.plotting draws classes in the fixed order and colours, with labelled axes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from harmonylib import plotting
from harmonylib.labels import CLASS_COLORS, CLASSES
from harmonylib.stats import label_cooccurrence


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_class_bars_use_class_order_and_colours(ax):
    counts = pd.Series({"voi": 5, "cel": 2})  # unordered, incomplete
    plotting.class_bars(ax, counts, title="t")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    heights = [p.get_height() for p in ax.patches]
    assert heights[0] == 2 and heights[-1] == 5 and sum(heights) == 7
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == [CLASS_COLORS[c] for c in CLASSES]
    assert ax.get_xlabel() == "class" and ax.get_ylabel() == "clips"


def test_cooccurrence_heatmap_shows_rates_with_missing_cells_blank(ax):
    rates = pd.DataFrame(0.25, index=list(CLASSES), columns=list(CLASSES))
    rates.loc["cel", "gel"] = np.nan
    plotting.cooccurrence_heatmap(ax, rates, fmt=".2f", vmin=0, vmax=1, mask_diagonal=False)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(CLASSES) ** 2 - 1 and set(texts) == {"0.25"}


def test_cooccurrence_heatmap_orders_classes(ax):
    plotting.cooccurrence_heatmap(ax, label_cooccurrence([("voi", "gel")]))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASSES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASSES)


def test_spectrogram_and_waveform_panels_label_units(ax):
    sr = 22050
    y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    plotting.waveform_panel(ax, y, sr, title="sine")
    assert ax.get_xlabel() == "time (s)" and "amplitude" in ax.get_ylabel()
    fig, ax2 = plt.subplots()
    plotting.spectrogram_panel(ax2, np.zeros((1025, 44)), sr, 512, y_axis="log")
    assert ax2.get_ylabel() == "frequency (Hz)" and ax2.get_xlabel() == "time (s)"
    assert fig.axes[-1].get_ylabel() == "power (dB re max)"
    plt.close(fig)


def test_class_distributions_keep_class_order(ax):
    frame = pd.DataFrame({"class": ["voi", "cel", "voi", "cel", "gel"], "duration": [5, 20, 20, 10, 7.5]})
    plotting.class_distributions(ax, frame, "duration", ylabel="duration (s)")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cel\nn = 2", "gel\nn = 1", "voi\nn = 2"]
    assert ax.get_ylabel() == "duration (s)"


def test_subplots_reserve_a_footer_for_the_provenance_line():
    bottoms = []
    for make in (lambda: plt.subplots(figsize=(4, 2), layout="constrained"),
                 lambda: plotting.subplots(figsize=(4, 2))):
        fig, ax = make()
        ax.set_xlabel("time (s)")
        fig.canvas.draw()
        bottoms.append(ax.get_position().y0)
        plt.close(fig)
    assert bottoms[1] - bottoms[0] == pytest.approx(0.16 / 2, abs=0.02)  # 0.16 in of a 2-in-high figure


@pytest.mark.parametrize("row_names", [None, [f"r{i}" for i in range(12)]])
def test_feature_panel_labels_sit_on_the_centres_of_their_rows(ax, row_names):
    image = plotting.feature_panel(ax, np.random.default_rng(0).random((12, 20)), 22050, 512, ylabel="y",
                                   cbar_label="c", row_names=row_names, first_row=1 if row_names is None else 0)
    edges = image.get_coordinates()[:, 0, 1]
    centres = (edges[:-1] + edges[1:]) / 2
    ticks = ax.get_yticks()
    assert np.allclose(ticks, centres[np.round(ticks).astype(int)])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == (["1", "2"] if row_names is None else ["r0", "r1"])
