"""Atomic writes and the figure/table index."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from harmonylib import io


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_FIGURES_DIR", str(tmp_path / "figures"))
    return tmp_path / "figures"


PROV = io.Provenance(dataset="SynthIRMAS", profile="smoke", weights="random init")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with io.atomic_write(target) as handle:
            handle.write("new, half written")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "sub" / "x.json"
    io.write_json(target, {"b": 1, "a": 2})
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}


def test_write_csv_is_byte_identical_for_identical_data(tmp_path):
    frame = pd.DataFrame({"x": [0.1 + 0.2, 1 / 3], "y": ["a", "b"]})
    io.write_csv(tmp_path / "a.csv", frame)
    io.write_csv(tmp_path / "b.csv", frame.copy())
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_save_figure_names_by_report_number_and_indexes(figures):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = io.save_figure(fig, "2.8", "irmas_class_distribution", "Class distribution", PROV, "12_data")
    plt.close(fig)
    assert path == figures / "fig2.8_irmas_class_distribution.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = (figures / "INDEX.md").read_text()
    assert "fig2.8_irmas_class_distribution.png" in index and "SynthIRMAS" in index and "random init" in index
    trained = io.Provenance("SynthIRMAS", "default", "random init", "120 optimiser steps per run")
    assert trained.label().endswith("| training: 120 optimiser steps per run") and "training" not in PROV.label()
    fig, _ = plt.subplots()
    io.save_figure(fig, "5.1", "windows", "Windows", trained, "50_windows")
    plt.close(fig)
    assert "| random init | 120 optimiser steps per run |" in (figures / "INDEX.md").read_text()


def test_a_long_provenance_line_wraps_instead_of_widening_the_figure(figures):
    from PIL import Image

    widths = {}
    for weights in ("random init", "; ".join(f"model {i}: random init (weights not available offline)" for i in range(5))):
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [1, 0])
        path = io.save_figure(fig, "2.9", "provenance", "c", io.Provenance("SynthIRMAS", "smoke", weights), "nb")
        plt.close(fig)
        widths[weights == "random init"] = Image.open(path).size[0]
    assert widths[False] <= widths[True] + 20  # pixels: the long line is as wide as the figure, not wider


def test_same_figure_twice_gives_identical_png(figures):
    outputs = []
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.bar(["cel", "cla"], [3, 4])
        outputs.append(io.save_figure(fig, "2.9", "labels", "c", PROV, "nb").read_bytes())
        plt.close(fig)
    assert outputs[0] == outputs[1]


def test_save_table_writes_csv_and_markdown_and_index_in_report_order(figures):
    frame = pd.DataFrame({"minSampled": [1], "maxSampled": [2], "N": [30875]})
    io.save_table(frame, "3.3", "dynamic_epoch_size", "Eq. 3.1", PROV, "22_sampling")
    io.save_table(frame, "2.5", "anova", "ANOVA", PROV, "13_anova")
    io.save_table(frame, "2.10", "later", "after 2.5 and 2.9", PROV, "x")
    assert (figures / "tab3.3_dynamic_epoch_size.csv").read_text().splitlines()[1] == "1,2,30875"
    assert "Table 3.3" in (figures / "tab3.3_dynamic_epoch_size.md").read_text()
    rows = [line for line in (figures / "INDEX.md").read_text().splitlines() if line.startswith("| Tab.")]
    assert [r.split("|")[1].strip() for r in rows] == ["Tab. 2.5", "Tab. 2.10", "Tab. 3.3"]


@pytest.mark.parametrize("number,slug", [("2", "x"), ("2.8", "Bad Slug"), ("../2.8", "x")])
def test_bad_names_are_refused(figures, number, slug):
    with pytest.raises(ValueError):
        io.save_table(pd.DataFrame({"a": [1]}), number, slug, "c", PROV, "nb")


def test_files_digest_changes_with_a_file_its_order_or_the_header(tmp_path):
    from harmonylib.io import files_digest

    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"1")
    b.write_bytes(b"22")
    key = files_digest([a, b], "sr=44100")
    assert key == files_digest([str(a), str(b)], "sr=44100") and len(key) == 20
    assert files_digest([b, a], "sr=44100") != key
    assert files_digest([a, b], "sr=16000") != key
    b.write_bytes(b"333")
    assert files_digest([a, b], "sr=44100") != key
