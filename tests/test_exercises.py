"""Every notebook ends with exercises a teacher can assign: each states what to find and how long it takes,
and is followed by its worked solution, folded in JupyterLab (explanation and code with its output)."""
import re

import jupytext
import pytest

from harmonylib import pipeline

NOTEBOOKS = pipeline.notebook_paths()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_state_outcome_and_time_and_have_folded_solutions(path):
    cells = jupytext.read(path).cells
    start = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Exercises" in c.source)
    section = cells[start:]
    exercises = [c for c in section if c.cell_type == "markdown" and re.search(r"^\*\*\d+ · ", c.source, re.M)]
    assert len(exercises) >= 2, "at least two exercises"
    for cell in exercises:
        assert "*You should find:*" in cell.source and "*Time:*" in cell.source, cell.source[:80]
    explanations = [c for c in section if c.cell_type == "markdown" and c.source.startswith("**Solution ")]
    code = [c for c in section if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    assert len(explanations) == len(exercises) and len(code) >= len(exercises)
    for cell in explanations:
        assert cell.metadata.get("jupyter", {}).get("source_hidden")
    for cell in code:
        assert cell.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
