"""Where a ``./run_all.sh`` spent its wall time, read from what the run left behind (nothing is re-run).

Run from the repository root::

    .venv/bin/python benchmarks/time_breakdown.py [--build-dir build] [--profile default] [--output breakdown.md]

It reads, under the build folder:

* ``stamps/<profile>/``: one stamp per notebook run of :mod:`harmonylib.pipeline`, with its wall
  seconds (``elapsed_s``: converting the notebook, starting the kernel, executing every cell);
* the executed notebooks ``notebooks/<profile>/*.ipynb`` and ``.../experiments/*.ipynb``: papermill
  records the seconds of every cell (``metadata.papermill.duration``);
* the run folders ``runs/<profile>-*/metrics.csv``: per epoch ``train_seconds`` (the optimiser steps),
  ``val_seconds`` (the validation pass) and, where recorded, ``checkpoint_seconds``.

Each cell's seconds go to one category, by the first of these rules that applies:

1. **a cell that trained**: the training engine prints one line per epoch it trains
   (``epoch k/N: train loss L, ..., S s``, :func:`harmonylib.train.fit`); each such line is matched to
   the row of a run folder's ``metrics.csv`` with that epoch, train loss and train seconds, whose
   seconds count as *optimiser steps*, *validation passes* and *checkpoint writing*; the rest of the
   cell (building the model, the loss curves) as *everything else*. A finished run folder that a
   notebook reuses prints no epoch line, so the seconds it records belong to an earlier run and are
   listed below the table instead;
2. *test predictions*: a top-level statement of the cell calls ``predict_for_evaluation``;
3. *data preparation*: a top-level statement (not inside ``if``, ``for`` or a function) calls
   ``prepare``, ``start_training``, ``waveforms`` or ``clip_feature_means`` (rendering and reading the
   data sets, the training and validation windows, the decoded waveform store, the chapter-2 feature
   cache); such a cell counts here whole, its imports included;
4. *kernel start and imports*: the parameters cells and the first code cell after them if it imports,
   plus the notebook's wall time spent in no cell;
5. *everything else*: figures, tables, prose (markdown cells), the exercises' solutions, notebook 56's
   run of the input-pipeline benchmark.

The table has one row per part of the study (:func:`study_part`) and the total; a stamp without an
executed notebook (a step the pipeline timed that is no notebook) has a row of its own, all of it
*everything else*. Below it: the cells that took longest under *everything else*.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

import nbformat
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harmonylib import io, paths  # noqa: E402
from harmonylib.pipeline import EXPERIMENTS_FOLDER  # noqa: E402

CATEGORIES = ("kernel start and imports", "data preparation", "optimiser steps", "validation passes",
              "checkpoint writing", "test predictions", "everything else")
KERNEL, DATA, STEPS, VALIDATION, CHECKPOINTS, PREDICTIONS, OTHER = CATEGORIES
ENGINE_COLUMNS = {"train_seconds": STEPS, "val_seconds": VALIDATION, "checkpoint_seconds": CHECKPOINTS}
DATA_CALLS = frozenset({"prepare", "start_training", "waveforms", "clip_feature_means"})
PREDICTION_CALLS = frozenset({"predict_for_evaluation"})
PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})
PARTS = ("data and model inputs (00-22)", "training experiments (30-34)", "models overview (35)",
         "evaluation (50-58)")
EPOCH_LINE = re.compile(r"^epoch (\d+)/\d+: train loss ([\d.]+),.*, ([\d.]+) s$", re.MULTILINE)
LOSS_DIGITS, SECONDS_DIGITS = 4, 1  # decimals of the epoch line's train loss and seconds


def study_part(job: str) -> str:
    """The part of the study a notebook run belongs to, by its stamp's name; any other name is its own part."""
    if job.startswith(EXPERIMENTS_FOLDER):
        return PARTS[1]
    if not job[:2].isdigit():
        return job
    number = int(job[:2])
    if number < 35:
        return PARTS[0] if number < 30 else PARTS[1]
    return PARTS[2] if number == 35 else PARTS[3] if number >= 50 else job


def top_level_calls(source: str) -> set[str]:
    """Names of the functions the cell's top-level statements call (not those inside ``if``/``for``/``def``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics
        return set()
    names = set()
    for statement in tree.body:
        if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for node in ast.walk(statement):
                if isinstance(node, ast.Call):
                    names.add(node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", ""))
    return names


def imports(source: str) -> bool:
    """Whether a top-level statement of the cell imports a module."""
    try:
        return any(isinstance(statement, (ast.Import, ast.ImportFrom)) for statement in ast.parse(source).body)
    except SyntaxError:
        return False


def printed_epochs(cell) -> pd.DataFrame:
    """The epochs a cell trained, from the training engine's lines in its output: epoch (from 0), train loss,
    train seconds, as printed."""
    text = "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")
    found = [(int(epoch) - 1, float(loss), float(seconds)) for epoch, loss, seconds in EPOCH_LINE.findall(text)]
    return pd.DataFrame(found, columns=["epoch", "train_loss", "train_seconds"])


def run_metrics(build_dir: Path, profile: str) -> pd.DataFrame:
    """Every epoch row of the profile's run folders, with the run's name and the three timing columns
    (``checkpoint_seconds`` 0 where the run did not record it)."""
    frames = [pd.read_csv(path).assign(run=path.parent.name)
              for path in sorted((build_dir / "runs").glob(f"{profile}-*/metrics.csv"))]
    columns = ["run", "epoch", "train_loss", *ENGINE_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True).reindex(columns=columns).fillna({"checkpoint_seconds": 0.0})


def matched_epochs(printed: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """The metrics rows of the printed epoch lines: same epoch, train loss and train seconds within half
    the last printed digit (one row per line)."""
    pairs = printed.reset_index(names="line").merge(metrics, on="epoch", suffixes=("_printed", ""))
    close = ((pairs["train_loss"] - pairs["train_loss_printed"]).abs() <= 0.5 * 10.0 ** -LOSS_DIGITS + 1e-9) & (
        (pairs["train_seconds"] - pairs["train_seconds_printed"]).abs() <= 0.5 * 10.0 ** -SECONDS_DIGITS + 1e-9)
    return pairs[close].drop_duplicates("line")[metrics.columns]


def first_line(cell) -> str:
    """The first line of a cell that is not empty (of a code cell: nor a comment), to name the cell."""
    lines = [line for line in cell.source.splitlines()
             if line.strip() and not (cell.cell_type == "code" and line.startswith("#"))]
    return (lines or [""])[0][:70]


def notebook_breakdown(notebook, wall: float, metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One executed notebook's wall seconds by category (the module's rules): rows ``cell`` (index, None for
    the time outside the cells), ``category``, ``seconds``, ``source`` (its first line); and the
    ``metrics`` rows of the epochs it trained."""
    rows, trained = [], []
    after_parameters = False
    for index, cell in enumerate(notebook.cells):
        seconds = cell.metadata.get("papermill", {}).get("duration") or 0.0
        row = dict(cell=index, source=first_line(cell))
        if cell.cell_type != "code":
            rows.append({**row, "category": OTHER, "seconds": seconds})
            continue
        parameters = bool(PARAMETER_TAGS & set(cell.metadata.get("tags", [])))
        calls = top_level_calls(cell.source)
        epochs = matched_epochs(printed_epochs(cell), metrics)
        if len(epochs):
            trained.append(epochs)
            engine = {category: float(epochs[column].sum()) for column, category in ENGINE_COLUMNS.items()}
            rows += [{**row, "category": category, "seconds": spent} for category, spent in engine.items()]
            category, seconds = OTHER, seconds - sum(engine.values())
        elif calls & PREDICTION_CALLS:
            category = PREDICTIONS
        elif calls & DATA_CALLS:
            category = DATA
        elif parameters or (not after_parameters and imports(cell.source)):
            category = KERNEL
        else:
            category = OTHER
        after_parameters = after_parameters or not parameters
        rows.append({**row, "category": category, "seconds": seconds})
    cells = pd.DataFrame(rows)
    outside = {"cell": None, "source": "(outside the cells)", "category": KERNEL,
               "seconds": wall - cells["seconds"].sum()}
    trained = pd.concat(trained, ignore_index=True) if trained else metrics.iloc[:0]
    return pd.concat([cells, pd.DataFrame([outside])], ignore_index=True), trained


def breakdown(build_dir: Path, profile: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every recorded notebook run of ``profile`` broken down (:func:`notebook_breakdown`, with columns
    ``job`` and ``part`` added), and the run folders' epoch rows that none of them trained (reused)."""
    stamps = build_dir / "stamps" / profile
    if not stamps.is_dir():
        raise SystemExit(f"no stamps in {stamps}: run ./run_all.sh --profile {profile} first")
    metrics = run_metrics(build_dir, profile)
    parts, trained = [], [metrics.iloc[:0]]
    for stamp in sorted(stamps.rglob("*.json")):
        job = stamp.relative_to(stamps).with_suffix("").as_posix()
        wall = json.loads(stamp.read_text())["elapsed_s"]
        executed = build_dir / "notebooks" / profile / f"{job}.ipynb"
        if executed.exists():
            cells, epochs = notebook_breakdown(nbformat.read(executed, as_version=4), wall, metrics)
            trained.append(epochs)
        else:
            cells = pd.DataFrame([{"cell": None, "source": "(no executed notebook)", "category": OTHER,
                                   "seconds": wall}])
        parts.append(cells.assign(job=job, part=study_part(job)))
    trained = pd.concat(trained, ignore_index=True)[["run", "epoch"]]
    reused = metrics.merge(trained, on=["run", "epoch"], how="left", indicator=True)
    return pd.concat(parts, ignore_index=True), reused[reused["_merge"] == "left_only"].drop(columns="_merge")


def summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Seconds per part of the study (in the study's order) and category, the part's notebook runs and
    wall seconds, and the total row."""
    table = cells.pivot_table(index="part", columns="category", values="seconds", aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=list(CATEGORIES), fill_value=0.0)
    table = table.loc[[p for p in PARTS if p in table.index] + sorted(set(table.index) - set(PARTS))]
    table.insert(0, "notebook runs", cells.groupby("part")["job"].nunique())
    table.loc["total"] = table.sum()
    table["wall"] = table[list(CATEGORIES)].sum(axis=1)
    return table


def markdown(table: pd.DataFrame, cells: pd.DataFrame, reused: pd.DataFrame, stamps: Path, largest: int = 5) -> str:
    """The summary as Markdown (seconds, and each category's share of its row), the cells that took longest
    under *everything else*, and what the reused run folders recorded."""
    wall = table["wall"]
    shown = pd.DataFrame({"part": table.index, "notebook runs": table["notebook runs"].astype(int),
                          "wall s": wall.round().astype(int),
                          "share of total": (wall / wall["total"]).map("{:.0%}".format)})
    for category in CATEGORIES:
        shown[category] = [f"{s:.0f} ({s / w:.0%})" if w else "0" for s, w in zip(table[category], wall)]
    lines = [f"Wall time of the {int(table.loc['total', 'notebook runs'])} notebook runs stamped in {stamps} "
             f"(seconds; in brackets the share of the row's wall time):", "",
             shown.to_markdown(index=False), ""]
    other = cells[(cells["category"] == OTHER) & cells["cell"].notna()].nlargest(largest, "seconds")
    if len(other):
        longest = pd.DataFrame({"notebook": other["job"], "cell": other["cell"].astype(int),
                                "seconds": other["seconds"].round(1),
                                "starts with": other["source"].map("`{}`".format)})
        lines += [f"The {len(other)} longest cells under *everything else*:", "", longest.to_markdown(index=False), ""]
    if len(reused):
        recorded = ", ".join(f"{reused[column].sum():.0f} s of {category}"
                             for column, category in ENGINE_COLUMNS.items())
        lines.append(f"Not in the table: {reused['run'].nunique()} run folder(s) whose {len(reused)} epoch(s) were "
                     f"trained before these notebook runs (reused, not retrained), recording {recorded}.")
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=paths.build_dir(),
                        help="the build folder (default: %(default)s)")
    parser.add_argument("--profile", default="default", help="the profile whose run to break down (default: default)")
    parser.add_argument("--output", type=Path, default=None, help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    cells, reused = breakdown(args.build_dir, args.profile)
    text = markdown(summary(cells), cells, reused, args.build_dir / "stamps" / args.profile)
    print(text, end="")
    if args.output:
        io.write_text(args.output, text)
    return text


if __name__ == "__main__":
    main()
