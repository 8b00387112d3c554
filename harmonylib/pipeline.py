"""The runner behind ``./run_all.sh``: executes the notebooks headless with papermill.

Each ``notebooks/NN_topic.py`` (jupytext percent format) is converted to ``.ipynb`` with the
``python3`` kernel and executed in numeric order with ``-p profile ... -p data_dir ...``; the
executed copy goes to ``build/notebooks/<profile>/``. Training notebooks that the experiment grid
of chapter 5 names (``harmonylib.grid``) run once per experiment instead, with that
experiment's parameters, before the first notebook that comes after them.

A notebook whose inputs (its source, its parameters, the harmonylib sources, the pins) are
unchanged since its last successful run is skipped, so an interrupted ``./run_all.sh`` started
again redoes only unfinished work. Outputs are renamed into place only on success.

``--jobs N`` executes up to N notebooks side by side, in three waves that each wait for the one
before (:func:`waves`): the data (notebooks up to 10), whatever reads only the data (11-22 and the
experiments), whatever reads the experiments' run folders (35, 50-57), each notebook with its share
of the cores as torch threads (:func:`kernel_threads`). The timings the runs record (Figure 5.7)
then measure a shared machine, so ``./run_all.sh`` keeps the default of 1 and ``./run_tests.sh``,
where timings mean nothing, uses 2. The thread count is part of every job's stamp.

Every kernel starts as a fork of one process that has imported torch and the other heavy libraries
(:mod:`harmonylib.kernels`), saving each notebook its ten seconds of start-up; this is the default on
Linux, where forking is safe (``--no-preloaded-kernels``: a fresh kernel for every notebook). The runs'
recorded process peak memory then includes the preloaded libraries (Figure 5.7 counts the model's own).

``--fast-dev-run`` runs the profile's fast dev run (:func:`harmonylib.config.fast_dev_run`: every
notebook and experiment, one optimiser step each) into ``<build>/fast-dev-run/``, figures included,
so it never touches ``figures/`` (it shares the outer build folder's caches of decoded audio and
features). ``--weights MODEL=PATH`` gives the ResNet-50 or AST experiments a
local checkpoint (a file, or a folder holding ``model.safetensors`` / ``pytorch_model.bin``).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from . import kernels, paths
from .config import FAST_DEV_RUN_SUFFIX, PROFILE_NAMES, Profile, fast_dev_run, get_profile
from .grid import experiments_for
from .io import atomic_write, write_json

NOTEBOOKS_DIR = paths.REPO_ROOT / "notebooks"
NBVAL_REFERENCE_DIR = paths.REPO_ROOT / "tests" / "nbval"
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
DATA_NOTEBOOK = "10_data_sets"
EXPERIMENTS_FOLDER = "experiments/"  # the grid's jobs are named <this><experiment name>


@dataclass
class Job:
    """One papermill execution: a notebook with parameters, named for its executed copy."""

    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)

    @property
    def runs_solutions(self) -> bool:
        """Whether the exercises' solutions run: not in a fast dev run, which checks the study's code at the
        paper's sizes (the smoke run executes every solution)."""
        return not str(self.parameters.get("profile", "")).endswith(FAST_DEV_RUN_SUFFIX)

    @property
    def is_experiment(self) -> bool:
        """Whether the job is one experiment of the grid (a training notebook with its parameters)."""
        return self.name.startswith(EXPERIMENTS_FOLDER)


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in execution order, optionally only those whose name starts with a prefix."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if only:
        found = [p for p in found if any(p.stem.startswith(prefix) for prefix in only)]
    return found


PRETRAINED_MODELS = ("resnet50", "ast")


def plan(profile: Profile, data_dir: str | None, only: list[str] | None = None,
         weights: dict[str, str] | None = None) -> list[Job]:
    """The jobs of one ``./run_all.sh``: plain notebooks, with the experiment grid in place of training notebooks.

    ``weights`` (model -> checkpoint path) becomes the ``weights`` parameter of that model's experiments.
    """
    weights = weights or {}
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
                for e in experiments:
                    checkpoint = {"weights": weights[e.model]} if e.model in weights else {}
                    jobs.append(Job(f"{EXPERIMENTS_FOLDER}{e.name}", NOTEBOOKS_DIR / Path(e.notebook).name,
                                    {**base, **e.parameters, **checkpoint}))
                grid_done = True
            continue
        jobs.append(Job(notebook.stem, notebook, dict(base)))
    return jobs


def _sources_digest() -> str:
    """The code every notebook may run: the library, the benchmarks notebook 56 runs, the pinned packages."""
    digest = hashlib.sha256()
    code = sorted((paths.REPO_ROOT / "harmonylib").rglob("*.py")) + sorted((paths.REPO_ROOT / "benchmarks").glob("*.py"))
    for path in code + [paths.REPO_ROOT / "pyproject.toml"]:
        digest.update(path.relative_to(paths.REPO_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def grid_digest(profile: Profile, data_dir: str | None, sources_digest: str,
                weights: dict[str, str] | None = None) -> str:
    """What the experiment grid's run folders depend on: the digests of all its jobs, whatever ``--only`` says."""
    digest = hashlib.sha256()
    for job in plan(profile, data_dir, weights=weights):
        if job.is_experiment:
            digest.update(job_digest(job, sources_digest).encode())
    return digest.hexdigest()


def reads_runs(job: Job, profile: Profile) -> bool:
    """Whether a job comes after the training notebooks and may read their run folders (35, 50-57)."""
    grid = {Path(e.notebook).stem for e in experiments_for(profile)}
    return bool(grid) and not job.is_experiment and job.name > min(grid)


def waves(jobs: list[Job], profile: Profile) -> list[list[Job]]:
    """The jobs in three groups, each of which may start once the one before has finished.

    The data (every job up to :data:`DATA_NOTEBOOK`, which renders or checks it), the jobs that read
    only the data (notebooks 11-22 and the experiments), the jobs that read the run folders
    (:func:`reads_runs`). Empty groups are left out; each keeps the jobs' order.
    """
    groups: list[list[Job]] = [[], [], []]
    for job in jobs:
        groups[0 if job.name <= DATA_NOTEBOOK else 2 if reads_runs(job, profile) else 1].append(job)
    return [group for group in groups if group]


def job_digest(job: Job, sources_digest: str, runs_digest: str = "", threads: str = "") -> str:
    """What a job's result depends on; a stored equal digest means the job need not run again.

    ``runs_digest`` (:func:`grid_digest`) for the jobs that read the experiments' run folders, so that
    retraining a model reruns the evaluation chapter; ``threads`` (:func:`kernel_threads`), since the
    timings a run records, and possibly the last bits of its numbers, depend on it.
    """
    digest = hashlib.sha256((sources_digest + runs_digest + f"threads={threads}").encode())
    digest.update(job.notebook.read_bytes())
    digest.update(json.dumps(job.parameters, sort_keys=True).encode())
    for variable in ("HARMONY_DATA_DIR", "HARMONY_FIGURES_DIR", "HARMONY_BUILD_DIR"):
        digest.update(f"{variable}={os.environ.get(variable, '')}".encode())
    return digest.hexdigest()


def to_ipynb(notebook: Path, solutions: bool = True):
    """Read a jupytext ``.py`` notebook as a NotebookNode with the ``python3`` kernelspec papermill needs;
    without the exercises' solution code (cells tagged ``solution``) unless ``solutions``."""
    import jupytext

    nb = jupytext.read(notebook)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    if not solutions:
        nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and "solution" in c.metadata.get("tags", []))]
    return nb


class NotebookFailed(RuntimeError):
    def __init__(self, job: Job, cell: str, log: Path):
        self.job, self.cell, self.log = job, cell, log
        super().__init__(job, cell, log)

    def __str__(self) -> str:
        return f"{self.job.name} failed at {self.cell}; log: {self.log}"


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


def execute(job: Job, out_dir: Path, log_dir: Path, kernel_server: str | None = None) -> Path:
    """Execute one job with papermill, in a fresh kernel or one forked by the :mod:`harmonylib.kernels`
    server listening at ``kernel_server``; the executed notebook appears at its place only on success."""
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
        nbformat.write(to_ipynb(job.notebook, solutions=job.runs_solutions), handle)
    partial = target.with_suffix(".partial.ipynb")
    preloaded = {"kernel_manager_class": kernels.kernel_manager_class(kernel_server)} if kernel_server else {}
    with open(log, "w", encoding="utf-8") as log_handle, _stderr_into(log_handle):
        try:
            papermill.execute_notebook(
                str(source), str(partial), parameters=job.parameters, kernel_name="python3",
                progress_bar=False, log_output=False, stdout_file=log_handle, stderr_file=log_handle,
                cwd=str(NOTEBOOKS_DIR), **preloaded,
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


def _printed(cell) -> str:
    """What a code cell printed: its stdout and the plain-text form of its results, in order."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def checked_output_differences(notebook: Path, executed: Path) -> list[str]:
    """How the executed copy of ``notebook`` departs from ``tests/nbval/``: one message per cell marked
    ``# NBVAL_CHECK_OUTPUT`` (nbval's marker) whose printed output differs from its reference, has no
    reference (the cell changed since ``--refresh-nbval``), or was not executed from the current source.

    ``./run_tests.sh`` checks the notebooks its smoke run executed, so no notebook runs twice.
    """
    import difflib

    import nbformat

    reference_path = NBVAL_REFERENCE_DIR / f"{notebook.stem}.ipynb"
    references = {}
    if reference_path.exists():
        references = {c.source: _printed(c) for c in nbformat.read(reference_path, as_version=4).cells
                      if c.cell_type == "code" and CHECK_MARKER in c.source}
    outputs = {c.source: _printed(c) for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"}
    problems = []
    for cell in to_ipynb(notebook).cells:
        if cell.cell_type != "code" or CHECK_MARKER not in cell.source:
            continue
        first_line = (cell.source.replace(CHECK_MARKER, "").strip().splitlines() or ["(empty)"])[0]
        if cell.source not in references:
            problems.append(f"{notebook.name}: no reference output for the cell starting {first_line!r} in "
                            f"{reference_path} (refresh: python -m harmonylib.pipeline --profile smoke "
                            f"--refresh-nbval --only {notebook.stem[:2]})")
        elif cell.source not in outputs:
            problems.append(f"{notebook.name}: {executed} was not executed from the current source "
                            f"(cell starting {first_line!r}); run ./run_all.sh --profile smoke")
        elif outputs[cell.source] != references[cell.source]:
            diff = difflib.unified_diff(references[cell.source].splitlines(), outputs[cell.source].splitlines(),
                                        "reference", "executed", lineterm="", n=1)
            problems.append(f"{notebook.name}: the cell starting {first_line!r} printed otherwise:\n"
                            + "\n".join(diff))
    return problems


def kernel_threads(jobs: int) -> str:
    """``OMP_NUM_THREADS`` for the kernels ('' for torch's default of one thread per core): as set by
    the caller, else, with ``jobs`` notebooks side by side, the cores divided among them, so that they
    do not each start a thread per core and wait on each other."""
    if os.environ.get("OMP_NUM_THREADS") or jobs == 1:
        return os.environ.get("OMP_NUM_THREADS", "")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # not on macOS
    return str(max(1, cores // jobs))


def _set_threads(threads: str) -> None:
    """Worker set-up: the kernels it starts inherit its environment, and their torch reads this when it starts."""
    os.environ["OMP_NUM_THREADS"] = threads


def _timed_execute(job: Job, out_dir: Path, log_dir: Path, kernel_server: str | None) -> float:
    t0 = time.monotonic()
    execute(job, out_dir, log_dir, kernel_server)
    return time.monotonic() - t0


def _executions(jobs: list[Job], out_dir: Path, log_dir: Path, pool: ProcessPoolExecutor | None,
                side_by_side: int, kernel_server: str | None = None
                ) -> Iterator[tuple[Job, float, NotebookFailed | None]]:
    """Execute ``jobs`` (in this process, or up to ``side_by_side`` at a time in ``pool``; in kernels
    forked by ``kernel_server`` if given, see :func:`execute`) and yield
    ``(job, seconds, failure)`` as each ends, ``failure`` a :class:`NotebookFailed` or None. After a
    failure no new job starts; those already running finish and are yielded. A worker process that
    died takes the pool's other jobs with it: each is reported as failed."""
    waiting = list(jobs)
    if pool is None:
        for job in waiting:
            t0 = time.monotonic()
            try:
                yield job, _timed_execute(job, out_dir, log_dir, kernel_server), None
            except NotebookFailed as failure:
                yield job, time.monotonic() - t0, failure
                return
        return
    in_flight: dict[Future, tuple[Job, float]] = {}
    while waiting or in_flight:
        while waiting and len(in_flight) < side_by_side:
            job = waiting.pop(0)
            in_flight[pool.submit(_timed_execute, job, out_dir, log_dir, kernel_server)] = (job, time.monotonic())
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            job, t0 = in_flight.pop(future)
            failure = future.exception()
            if failure is None:
                yield job, future.result(), None
                continue
            if not isinstance(failure, NotebookFailed):  # e.g. BrokenProcessPool: a worker was killed
                failure = NotebookFailed(job, f"{type(failure).__name__}: {failure}", log_dir / f"{job.name}.log")
            waiting.clear()
            yield job, time.monotonic() - t0, failure


def run(profile: Profile, data_dir: str | None, only: list[str] | None, force: bool, refresh_nbval: bool,
        report: bool = True, weights: dict[str, str] | None = None, jobs: int = 1,
        preloaded_kernels: bool = False) -> int:
    """Execute the plan's jobs whose inputs changed, up to ``jobs`` at a time (:func:`waves`), in kernels
    forked from a :func:`harmonylib.kernels.kernel_server` if ``preloaded_kernels``; 1 on a failure."""
    planned = plan(profile, data_dir, only, weights)
    out_dir = paths.build_dir() / "notebooks" / profile.name
    log_dir = paths.build_dir() / "logs" / profile.name
    stamp_dir = paths.build_dir() / "stamps" / profile.name
    sources = _sources_digest()
    runs = grid_digest(profile, data_dir, sources, weights)
    print(f"harmony: {len(planned)} notebook run(s), profile {profile.name}, figures -> {paths.figures_dir()}", flush=True)
    started = time.monotonic()
    threads = kernel_threads(jobs)
    server = kernels.kernel_server(threads) if preloaded_kernels else contextlib.nullcontext()
    pool = (ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_set_threads,
                                initargs=(threads,)) if jobs > 1 else None)
    failed = False
    with server as kernel_server, pool or contextlib.nullcontext():
        for wave in waves(planned, profile):
            to_run, digests = [], {}
            for job in wave:
                digest = job_digest(job, sources, runs if reads_runs(job, profile) else "", threads)
                stamp = stamp_dir / f"{job.name}.json"
                if (not force and (out_dir / f"{job.name}.ipynb").exists() and stamp.exists()
                        and json.loads(stamp.read_text())["digest"] == digest):
                    print(f"  {job.name:<44} skipped  (unchanged)", flush=True)
                else:
                    to_run.append(job)
                    digests[job.name] = digest
            if jobs > 1:  # the experiments take longest: start them first and let the short notebooks fill the end
                to_run.sort(key=lambda job: not job.is_experiment)
            for job, elapsed, failure in _executions(to_run, out_dir, log_dir, pool, jobs, kernel_server):
                if failure is not None:
                    print(f"  {job.name:<44} FAILED   {elapsed:7.1f} s\n"
                          f"harmony: {job.notebook.name} failed at {failure.cell}\n"
                          f"harmony: log: {failure.log}\n"
                          f"harmony: executed notebook: {out_dir / f'{job.name}.failed.ipynb'}", flush=True)
                    failed = True
                    continue
                write_json(stamp_dir / f"{job.name}.json",
                           {"digest": digests[job.name], "elapsed_s": round(elapsed, 1), "parameters": job.parameters})
                if refresh_nbval and CHECK_MARKER in job.notebook.read_text(encoding="utf-8"):
                    refresh_nbval_reference(out_dir / f"{job.name}.ipynb", job.notebook)
                print(f"  {job.name:<44} ok       {elapsed:7.1f} s", flush=True)
            if failed:
                return 1
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
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="notebooks executed side by side, each with its share of the cores unless "
                             "OMP_NUM_THREADS says otherwise (default 1; more makes the recorded timings "
                             "measure a shared machine)")
    parser.add_argument("--preloaded-kernels", action=argparse.BooleanOptionalAction, default=sys.platform == "linux",
                        help="fork every kernel from one process that has imported torch and the other heavy "
                             "libraries (harmonylib.kernels): about 10 s of imports less per notebook; default on "
                             "Linux, where forking is safe (--no-preloaded-kernels: a fresh kernel each); a run's "
                             "recorded process peak memory then includes the preloaded libraries")
    parser.add_argument("--fast-dev-run", action="store_true",
                        help="every notebook and experiment of the profile, one optimiser step each and 2 evaluation "
                             "clips per split, into <build>/fast-dev-run/ (never figures/)")
    parser.add_argument("--weights", nargs="+", action="extend", default=[], metavar="MODEL=PATH",
                        help="local pretrained checkpoints: resnet50=PATH (timm resnet50.tv_in1k) and/or ast=PATH "
                             "(a Hugging Face folder of MIT/ast-finetuned-audioset-10-10-0.4593)")
    args = parser.parse_args(argv)
    if args.refresh_nbval and args.profile != "smoke":
        parser.error("--refresh-nbval stores smoke-profile outputs; use it with --profile smoke")
    weights = {}
    for item in args.weights:
        model, _, path = item.partition("=")
        if model not in PRETRAINED_MODELS or not path:
            parser.error(f"--weights takes MODEL=PATH with MODEL one of {', '.join(PRETRAINED_MODELS)}, not {item!r}")
        if not Path(path).exists():
            parser.error(f"--weights {item}: {path} does not exist")
        weights[model] = str(Path(path).resolve())
    data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
    profile = get_profile(args.profile)
    if args.fast_dev_run:
        if args.refresh_nbval:
            parser.error("--refresh-nbval stores smoke-profile outputs, not a fast dev run's")
        profile = fast_dev_run(profile)
        build = paths.build_dir() / "fast-dev-run"
        os.environ["HARMONY_CACHE_DIR"] = str(paths.cache_dir())  # decoded audio is the same: share it
        os.environ["HARMONY_BUILD_DIR"] = str(build)
        os.environ["HARMONY_FIGURES_DIR"] = str(build / "figures")
    if args.jobs < 1:
        parser.error(f"--jobs takes a positive number, not {args.jobs}")
    if args.preloaded_kernels and sys.platform != "linux":
        parser.error("--preloaded-kernels forks its kernels, which is safe on Linux only")
    return run(profile, data_dir, args.only, args.force, args.refresh_nbval, report=not args.no_report,
               weights=weights, jobs=args.jobs, preloaded_kernels=args.preloaded_kernels)


if __name__ == "__main__":
    sys.exit(main())
