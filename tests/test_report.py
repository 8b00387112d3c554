"""The HTML report (harmonylib.report): built from tiny executed notebooks, then opened in headless chromium.

Every page must load (no missing file, no script error), every figure <img> must be displayed
(naturalWidth > 0), every code cell must be folded, and the figures page must list each figure of
the profile with its number, caption and provenance. A second test opens the real build/report
when ./run_all.sh has made one.
"""
from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

from harmonylib import comparisons, paths, report  # noqa: E402
from harmonylib.config import get_profile  # noqa: E402
from harmonylib.io import Provenance, save_figure, save_table  # noqa: E402

from browser import Browser, chromium  # noqa: E402  (tests/browser.py)

SMOKE = Provenance("SynthIRMAS", "smoke", "random init")


def _browser():
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/bootstrap.sh installs it ([tool.harmony] debian)")
        pytest.skip("chromium is not installed (run scripts/bootstrap.sh)")
    return Browser()


def _png(color: str) -> tuple[plt.Figure, str]:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 0], color=color)
    ax.set(xlabel="time (s)", ylabel="amplitude")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return fig, base64.b64encode(buffer.getvalue()).decode()


def _executed(title: str, figure_png: str | None = None, caption: str = "") -> nbformat.NotebookNode:
    """A small notebook as papermill leaves it: outputs in place, a parameters cell, an image output."""
    cells = [new_markdown_cell(f"# {title}\n\nWhy this notebook exists, at $\\alpha = 0.001$."),
             new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}),
             new_code_cell("print('hello')", outputs=[new_output("stream", name="stdout", text="hello\n")])]
    if figure_png is not None:
        cells.append(new_code_cell("save_figure(fig, ...)", outputs=[
            new_output("display_data", data={"image/png": figure_png, "text/plain": "<Figure>"}),
            new_output("display_data", data={"text/markdown": caption, "text/plain": caption})]))
    cells += [new_markdown_cell("## Exercises\n\n1. Change the window to 3 s."),
              new_markdown_cell("**Solution 1.** The windows get longer.", metadata={"jupyter": {"source_hidden": True}}),
              new_code_cell("print(3)", metadata={"jupyter": {"source_hidden": True}, "tags": ["solution"]},
                            outputs=[new_output("stream", name="stdout", text="solution output 3\n")])]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A smoke report from three notebooks, one training run, two figures and a table of this profile
    and one figure of another profile; returns (index.html, build folder)."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARMONY_BUILD_DIR", str(root / "build"))
        mp.setenv("HARMONY_FIGURES_DIR", str(root / "figures"))
        fig_a, png_a = _png("#1f77b4")
        save_figure(fig_a, "2.8", "class_distribution", "Distribution of classes.", SMOKE, "12_data_understanding")
        fig_b, png_b = _png("#d62728")
        save_figure(fig_b, "5.1", "window_sizes", "Window sizes.", SMOKE, "experiments/resnet50_w1")
        fig_c, _ = _png("#2ca02c")
        save_figure(fig_c, "2.9", "other_profile", "Made by another profile.",
                    Provenance("SynthIRMAS", "default"), "12_data_understanding")
        save_table(pd.DataFrame({"N": [1, 2], "epoch size": [10, 20]}), "3.3", "dynamic_epoch_size",
                   "Epoch size against N.", SMOKE, "22_sampling")
        claims = comparisons.record_claims(comparisons.descriptive_verdict(
            "features-cnn-trains-slowest", True, "audio-features CNN 9 ms per second of audio", "ms per second of audio"),
            get_profile("smoke"))
        other = pd.read_csv(claims).assign(claim="ast-trains-fastest", here="raw-audio CNN fastest here",
                                           profile="default")
        pd.concat([pd.read_csv(claims), other]).to_csv(claims, index=False)  # a row of another profile
        out = paths.build_dir() / "notebooks" / "smoke"
        notebooks = {
            "00_overview": _executed("00 · Overview"),
            "12_data_understanding": _executed("12 · Data understanding", png_a,
                                               "**Figure 2.8.** Distribution of classes."),
            "22_sampling": _executed("22 · Dynamic sampling"),
            "experiments/resnet50_w1": _executed("33 · Training ResNet-50", png_b, "**Figure 5.1.** Window sizes."),
            "12_data_understanding.failed": _executed("a failed copy that must not appear"),
            "src/00_overview": _executed("the unexecuted source that must not appear"),
        }
        for name, nb in notebooks.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out / f"{name}.ipynb")
        index = report.build_report(get_profile("smoke"))
        yield index, paths.build_dir()


def _pages(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.html") if not p.relative_to(folder).parts[0].startswith("_"))


def _check_pages(pages: list[Path]) -> dict[str, dict]:
    seen = {}
    with _browser() as browser:
        for page in pages:
            result = browser.inspect(page.as_uri())
            # MathJax probes its TeX fonts (absent from jupyter-server-mathjax) before using STIX-Web
            failed = [f for f in result["failed"] if not f.startswith("about:") and "/mathjax/fonts/HTML-CSS/TeX/" not in f]
            assert not failed, f"{page}: did not load {failed}"  # self-contained: works offline
            assert not result["errors"], f"{page}: script errors {result['errors']}"
            assert result["title"], f"{page}: no title"
            blank = [i["src"] for i in result["images"] if i["width"] == 0]
            assert not blank, f"{page}: images not displayed: {blank}"
            assert result["unfolded_code"] == 0, f"{page}: {result['unfolded_code']} code cell(s) not folded"
            assert result["typeset"] >= result["formulas"], f"{page}: formulas not typeset"
            seen[page.relative_to(pages[0].parent).as_posix()] = result
    return seen


def test_report_goes_where_documented(built):
    index, build = built
    assert index == build / "report-smoke" / "index.html"
    assert report.report_dir(get_profile("default")) == build / "report"


def test_every_page_loads_with_its_figures_displayed_and_code_folded(built):
    index, _ = built
    seen = _check_pages([index] + [p for p in _pages(index.parent) if p != index])
    assert {"index.html", "00_overview.html", "12_data_understanding.html", "22_sampling.html",
            "experiments/resnet50_w1.html", "figures.html", "claims.html"} <= set(seen)
    assert not any("failed" in name or name.startswith("src/") for name in seen)
    assert len(seen["figures.html"]["images"]) == 2  # this profile's two figures, not the default one
    assert len(seen["12_data_understanding.html"]["images"]) == 1
    assert seen["12_data_understanding.html"]["code_cells"] == 4
    assert seen["index.html"]["toc_links"] >= 5
    assert seen["00_overview.html"]["formulas"] == 1 and seen["00_overview.html"]["typeset"] == 1


def test_exercise_solutions_stay_folded(built):
    index, _ = built
    page = (index.parent / "00_overview.html").read_text()
    details = re.search(r"<details><summary>Solution \(click to unfold\)</summary>.*?</details>", page, re.S)
    assert details and "The windows get longer." in details.group()
    assert page.count("The windows get longer.") == 1  # only inside the folded element
    with _browser() as browser:
        shown = browser.inspect((index.parent / "00_overview.html").as_uri())
    assert "The windows get longer." not in shown["text"] and "solution output 3" not in shown["text"]
    assert "Change the window to 3 s." in shown["text"]


def test_chapters_in_report_order_with_training_runs_in_chapter_4(built):
    index, _ = built
    html = index.read_text().split("<article", 1)[1]  # the page body, after the sidebar and header links
    order = ["1 · Business understanding", "00_overview.html", "2 · Data understanding",
             "12_data_understanding.html", "3 · Data preparation", "22_sampling.html", "4 · Modelling",
             "experiments/resnet50_w1.html", "Appendix", "claims.html", "figures.html"]
    position = 0
    for text in order:  # each after the one before
        position = html.find(text, position)
        assert position != -1, f"{text!r} missing or out of order"
    run = (index.parent / "experiments" / "resnet50_w1.html").read_text()
    assert "Training run" in run and "resnet50_w1" in run


def test_figures_page_numbers_captions_and_provenance(built):
    index, _ = built
    text = (index.parent / "figures.html").read_text()
    for snippet in ("Figure 2.8.", "Distribution of classes.", "Figure 5.1.", "Table 3.3.", "Epoch size against N.",
                    "data: SynthIRMAS", "profile: smoke", "weights: random init", "epoch size"):
        assert snippet in text, snippet
    assert "Made by another profile" not in text
    assert text.find("Figure 2.8.") < text.find("Table 3.3.") < text.find("Figure 5.1.")
    assert "12_data_understanding.html" in text  # each figure links to its notebook


def test_claims_page_gives_this_profiles_verdicts(built):
    index, _ = built
    text = (index.parent / "claims.html").read_text()
    assert "the audio-features CNN trains slowest" in text and "audio-features CNN 9 ms per second of audio" in text
    assert "1 claim(s) tested: 1 holds" in text and "claims.csv" in text
    assert "raw-audio CNN fastest here" not in text  # the default profile's verdict


def test_missing_notebooks_are_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_BUILD_DIR", str(tmp_path))
    assert report.main(["--profile", "full"]) == 1
    assert not (tmp_path / "report-full").exists()


def test_real_report_of_the_last_run_all():
    """The report of the last ./run_all.sh at this profile (./run_tests.sh makes the smoke one first)."""
    index = report.report_dir(get_profile(os.environ.get("HARMONY_PROFILE", "default"))) / "index.html"
    if not index.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{index} is missing: ./run_tests.sh runs ./run_all.sh --profile smoke first")
        pytest.skip(f"no {index} yet: ./run_all.sh builds it")
    seen = _check_pages([index] + [p for p in _pages(index.parent) if p != index])
    assert "figures.html" in seen and len(seen) >= 3
