"""The runner behind ``./run_all.sh``: executes the notebooks headless with papermill.

Each ``notebooks/NN_topic.py`` (jupytext percent format) is converted to ``.ipynb`` with the
``python3`` kernel and executed in numeric order with ``-p profile ... -p data_dir ...``; the
executed copy goes to ``build/notebooks/<profile>/``. Training notebooks that the experiment grid
of chapter 5 names (``harmonylib.grid``) run once per experiment instead, with that
experiment's parameters, before the first notebook that comes after them.

A notebook whose inputs (its source, its parameters, the harmonylib sources, the pins) are
unchanged since its last successful run is skipped, so an interrupted ``./run_all.sh`` started
again redoes only unfinished work. Outputs are renamed into place only on success.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .config import PROFILE_NAMES, Profile, get_profile
from .grid import experiments_for
from .io import atomic_write, write_json

NOTEBOOKS_DIR = paths.REPO_ROOT / "notebooks"
NBVAL_REFERENCE_DIR = paths.REPO_ROOT / "tests" / "nbval"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


@dataclass
class Job:
    """One papermill execution: a notebook with parameters, named for its executed copy."""

    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in execution order, optionally only those whose name starts with a prefix."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if only:
        found = [p for p in found if any(p.stem.startswith(prefix) for prefix in only)]
    return found


def plan(profile: Profile, data_dir: str | None, only: list[str] | None = None) -> list[Job]:
    """The jobs of one ``./run_all.sh``: plain notebooks, with the experiment grid in place of training notebooks."""
    base = {"profile": profile.name, "data_dir": data_dir}
    notebooks = notebook_paths(only)
    selected = {notebook.stem for notebook in notebooks}
    grid = experiments_for(profile)
    experiments = [e for e in grid if Path(e.notebook).stem in selected]
    grid_notebooks = {Path(e.notebook).stem for e in grid}
    jobs: list[Job] = []
    grid_done = False
    for notebook in notebooks:
        if notebook.stem in grid_notebooks:
            if not grid_done:
                jobs += [Job(f"experiments/{e.name}", NOTEBOOKS_DIR / Path(e.notebook).name,
                             {**base, **e.parameters}) for e in experiments]
                grid_done = True
            continue
        jobs.append(Job(notebook.stem, notebook, dict(base)))
    return jobs


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((paths.REPO_ROOT / "harmonylib").rglob("*.py")) + [paths.REPO_ROOT / "pyproject.toml"]:
        digest.update(path.relative_to(paths.REPO_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def grid_digest(profile: Profile, data_dir: str | None, sources_digest: str) -> str:
    """What the experiment grid's run folders depend on: the digests of all its jobs, whatever ``--only`` says."""
    digest = hashlib.sha256()
    for job in plan(profile, data_dir):
        if job.name.startswith("experiments/"):
            digest.update(job_digest(job, sources_digest).encode())
    return digest.hexdigest()


def reads_runs(job: Job, profile: Profile) -> bool:
    """Whether a job comes after the training notebooks and may read their run folders (35, 50-57)."""
    grid = {Path(e.notebook).stem for e in experiments_for(profile)}
    return bool(grid) and not job.name.startswith("experiments/") and job.name > min(grid)


def job_digest(job: Job, sources_digest: str, runs_digest: str = "") -> str:
    """What a job's result depends on; a stored equal digest means the job need not run again.

    ``runs_digest`` (:func:`grid_digest`) for the jobs that read the experiments' run folders, so that
    retraining a model reruns the evaluation chapter.
    """
    digest = hashlib.sha256((sources_digest + runs_digest).encode())
    digest.update(job.notebook.read_bytes())
    digest.update(json.dumps(job.parameters, sort_keys=True).encode())
    for variable in ("HARMONY_DATA_DIR", "HARMONY_FIGURES_DIR", "HARMONY_BUILD_DIR"):
        digest.update(f"{variable}={os.environ.get(variable, '')}".encode())
    return digest.hexdigest()


def to_ipynb(notebook: Path):
    """Read a jupytext ``.py`` notebook as a NotebookNode with the ``python3`` kernelspec papermill needs."""
    import jupytext

    nb = jupytext.read(notebook)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


class NotebookFailed(RuntimeError):
    def __init__(self, job: Job, cell: str, log: Path):
        self.job, self.cell, self.log = job, cell, log
        super().__init__(f"{job.name} failed at {cell}; log: {log}")


@contextlib.contextmanager
def _stderr_into(handle):
    """Send this process's stderr, and so the kernel's (its child), into the notebook's log."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def execute(job: Job, out_dir: Path, log_dir: Path) -> Path:
    """Execute one job with papermill; the executed notebook appears at its place only on success."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    target = out_dir / f"{job.name}.ipynb"
    log = log_dir / f"{job.name}.log"
    failed = target.with_suffix(".failed.ipynb")
    for folder in (target.parent, log.parent):
        folder.mkdir(parents=True, exist_ok=True)
    source = out_dir / "src" / f"{job.name}.ipynb"
    source.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(source) as handle:
        nbformat.write(to_ipynb(job.notebook), handle)
    partial = target.with_suffix(".partial.ipynb")
    with open(log, "w", encoding="utf-8") as log_handle, _stderr_into(log_handle):
        try:
            papermill.execute_notebook(
                str(source), str(partial), parameters=job.parameters, kernel_name="python3",
                progress_bar=False, log_output=False, stdout_file=log_handle, stderr_file=log_handle,
                cwd=str(NOTEBOOKS_DIR),
            )
        except PapermillExecutionError as error:
            os.replace(partial, failed)
            cell = f"cell {error.cell_index} (In [{error.exec_count}]): {error.ename}: {error.evalue}"
            raise NotebookFailed(job, cell, log) from None
        except Exception as error:  # kernel died, timeout, ...
            if partial.exists():
                os.replace(partial, failed)
            raise NotebookFailed(job, f"{type(error).__name__}: {error}", log) from None
    os.replace(partial, target)
    failed.unlink(missing_ok=True)
    return target


def refresh_nbval_reference(executed: Path, notebook: Path) -> None:
    """Keep, in ``tests/nbval/``, only the outputs of cells marked ``# NBVAL_CHECK_OUTPUT``."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if CHECK_MARKER not in cell.source:
            cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    with atomic_write(NBVAL_REFERENCE_DIR / f"{notebook.stem}.ipynb") as handle:
        nbformat.write(nb, handle)


def nbval_notebook(notebook: Path, target: Path) -> Path:
    """The ``.ipynb`` nbval checks: the current ``.py`` source, with the reference outputs of its checked cells.

    A checked cell whose source changed since the reference was refreshed gets no reference
    output, so nbval fails on it until ``python -m harmonylib.pipeline --refresh-nbval`` is run.
    """
    import nbformat

    nb = to_ipynb(notebook)
    reference = NBVAL_REFERENCE_DIR / f"{notebook.stem}.ipynb"
    outputs = {}
    if reference.exists():
        for cell in nbformat.read(reference, as_version=4).cells:
            if cell.cell_type == "code" and CHECK_MARKER in cell.source:
                outputs[cell.source] = cell.outputs
    for number, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.outputs = outputs.get(cell.source, [])
        cell.execution_count = number if cell.outputs else None  # nbval skips "unrun" reference cells
    with atomic_write(target) as handle:
        nbformat.write(nb, handle)
    return target


def run(profile: Profile, data_dir: str | None, only: list[str] | None, force: bool, refresh_nbval: bool,
        report: bool = True) -> int:
    jobs = plan(profile, data_dir, only)
    out_dir = paths.build_dir() / "notebooks" / profile.name
    log_dir = paths.build_dir() / "logs" / profile.name
    stamp_dir = paths.build_dir() / "stamps" / profile.name
    sources = _sources_digest()
    runs = grid_digest(profile, data_dir, sources)
    print(f"harmony: {len(jobs)} notebook run(s), profile {profile.name}, figures -> {paths.figures_dir()}", flush=True)
    started = time.monotonic()
    for job in jobs:
        stamp = stamp_dir / f"{job.name}.json"
        digest = job_digest(job, sources, runs if reads_runs(job, profile) else "")
        executed = out_dir / f"{job.name}.ipynb"
        if not force and executed.exists() and stamp.exists() and json.loads(stamp.read_text())["digest"] == digest:
            print(f"  {job.name:<44} skipped  (unchanged)", flush=True)
            continue
        t0 = time.monotonic()
        try:
            execute(job, out_dir, log_dir)
        except NotebookFailed as failure:
            print(f"  {job.name:<44} FAILED   {time.monotonic() - t0:7.1f} s\n"
                  f"harmony: {job.notebook.name} failed at {failure.cell}\n"
                  f"harmony: log: {failure.log}\n"
                  f"harmony: executed notebook: {executed.with_suffix('.failed.ipynb')}", flush=True)
            return 1
        elapsed = time.monotonic() - t0
        write_json(stamp, {"digest": digest, "elapsed_s": round(elapsed, 1), "parameters": job.parameters})
        if refresh_nbval and not job.name.startswith("experiments/"):
            refresh_nbval_reference(executed, job.notebook)
        print(f"  {job.name:<44} ok       {elapsed:7.1f} s", flush=True)
    if report:
        from .report import build_report

        t0 = time.monotonic()
        index = build_report(profile)
        print(f"  {'HTML report':<44} ok       {time.monotonic() - t0:7.1f} s  -> {index}", flush=True)
    print(f"harmony: done in {time.monotonic() - started:.0f} s; figures and tables indexed in "
          f"{paths.figures_dir() / 'INDEX.md'}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_all.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="default")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only notebooks whose names start with these")
    parser.add_argument("--data-dir", help="where the data sets are (full profile: the real IRMAS/AudioSet)")
    parser.add_argument("--force", action="store_true", help="rerun notebooks even when their inputs are unchanged")
    parser.add_argument("--refresh-nbval", action="store_true",
                        help="store the outputs of '# NBVAL_CHECK_OUTPUT' cells as nbval references (smoke profile)")
    parser.add_argument("--no-report", action="store_true", help="skip rendering the HTML report at the end")
    parser.add_argument("--nbval-into", metavar="DIR",
                        help="only write the notebooks nbval checks (current source + reference outputs) into DIR")
    args = parser.parse_args(argv)
    if args.nbval_into:
        for notebook in notebook_paths(args.only):
            nbval_notebook(notebook, Path(args.nbval_into) / f"{notebook.stem}.ipynb")
        return 0
    if args.refresh_nbval and args.profile != "smoke":
        parser.error("--refresh-nbval stores smoke-profile outputs; use it with --profile smoke")
    data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
    return run(get_profile(args.profile), data_dir, args.only, args.force, args.refresh_nbval,
               report=not args.no_report)


if __name__ == "__main__":
    sys.exit(main())
