"""What the smoke run's notebooks left behind: the printed outputs of their checked cells
(``# NBVAL_CHECK_OUTPUT``) against tests/nbval/, and the figures and tables of every notebook that saves any.

Reads the notebooks a smoke run executed (``./run_tests.sh`` runs one first), so no notebook runs
twice. Without an executed smoke notebook the test skips, unless ``HARMONY_REQUIRE_SMOKE_RUN`` is set
(``./run_tests.sh`` sets it): CI never passes without checking every notebook. The training
notebooks (30-34) have no checked cells: the smoke run executes them once per experiment and the
evaluation notebooks check what their runs produced.
"""
import pytest
from conftest import require_smoke_run

from harmonylib import paths, pipeline

CHECKED = [p for p in pipeline.notebook_paths() if pipeline.CHECK_MARKER in p.read_text(encoding="utf-8")]


def test_every_reference_belongs_to_a_notebook_with_checked_cells():
    assert sorted(p.stem for p in pipeline.NBVAL_REFERENCE_DIR.glob("*.ipynb")) == [p.stem for p in CHECKED]


@pytest.mark.parametrize("notebook", CHECKED, ids=lambda p: p.stem)
def test_checked_cells_print_their_reference_output(notebook):
    executed = paths.build_dir() / "notebooks" / "smoke" / f"{notebook.stem}.ipynb"
    require_smoke_run(executed)
    problems = pipeline.checked_output_differences(notebook, executed)
    assert not problems, "\n\n".join(problems)


SAVING = [p for p in pipeline.notebook_paths() if "save_figure(" in (text := p.read_text(encoding="utf-8"))
          or "save_table(" in text]


def test_every_notebook_that_saves_figures_or_tables_saved_them_in_the_smoke_run():
    import json

    registry = paths.figures_dir() / "index.json"
    require_smoke_run(registry)
    entries = json.loads(registry.read_text())
    saved_by = {e["notebook"] for e in entries.values()}  # the training notebooks save theirs through harmonylib
    assert {p.stem for p in SAVING} <= saved_by, sorted({p.stem for p in SAVING} - saved_by)
    assert all((paths.figures_dir() / name).exists() for name in entries)
    assert len({e["profile"] for e in entries.values()}) == 1  # one profile's run made them all
