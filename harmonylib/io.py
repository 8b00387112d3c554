"""Atomic writes and the one helper that saves every figure and table of the report.

A kill at any moment leaves either the old or the new file, never a torn one: everything is
written to a temporary file in the same folder, flushed, and renamed over the target.

It also holds :func:`files_digest`, the one cache key of a list of files.

Figures and tables are named by report number (``fig2.8_irmas_class_distribution.png``,
``tab3.3_dynamic_epoch_size.csv`` + ``.md``) and recorded in ``figures/INDEX.md`` with their
caption, notebook, data set, profile and weights. Used by every notebook.
"""
from __future__ import annotations

import contextlib
import hashlib
import io as _io
import json
import os
import re
import tempfile
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from . import paths


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file beside ``path``; on success rename it over ``path``, on error remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | Path, frame, **kwargs) -> None:
    """A pandas DataFrame as CSV, byte-identical for identical data (fixed float format, no index)."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("float_format", "%.6g")
    kwargs.setdefault("lineterminator", "\n")
    write_text(path, frame.to_csv(**kwargs))


def files_digest(file_paths, header: str = "", length: int = 20) -> str:
    """A cache key of files by path, size and modification time (in the given order), after ``header`` (the
    parameters of what is cached): it changes when a file, their order or a parameter does."""
    digest = hashlib.sha256(header.encode())
    for p in map(str, file_paths):
        stat = os.stat(p)
        digest.update(f"{p}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:length]


def save_npy(path: str | Path, array) -> None:
    import numpy as np

    buffer = _io.BytesIO()
    np.save(buffer, array)
    write_bytes(path, buffer.getvalue())


@dataclass(frozen=True)
class Provenance:
    """What produced a figure or table: shown on the figure and recorded in INDEX.md."""

    dataset: str  # e.g. "SynthIRMAS", "IRMAS", "SynthIRMAS + SynthAudioSet"
    profile: str  # smoke | default | full | paper-synth (fast dev runs: <profile>-fast-dev-run)
    weights: str = "n/a"  # e.g. "random init (ImageNet weights unavailable offline)", "ImageNet-1k"
    # how long the models were trained, e.g. "132 optimiser steps per run (ast w1: 600), training audio per epoch:
    # 352 s (ast w1: 640 s)"
    training: str = ""
    evaluated: str = ""  # the clips the numbers come from, e.g. "SynthIRMAS test, 278 songs (421 clips)"

    def label(self) -> str:
        label = f"data: {self.dataset} | profile: {self.profile} | weights: {self.weights}"
        label += f" | training: {self.training}" if self.training else ""
        return label + (f" | evaluated on: {self.evaluated}" if self.evaluated else "")


def audio_per_epoch(windows_per_epoch: int | None, window: float) -> str:
    """A run's training audio per epoch in words: its windows per epoch times their length (a dynamically sampled
    example is one window-length mix), or "every window"."""
    return "every window" if windows_per_epoch is None else f"{windows_per_epoch * window:g} s"


_NUMBER = re.compile(r"^\d+\.\d+[a-z]?$")
_SLUG = re.compile(r"^[a-z0-9_]+$")


def _check_name(number: str, slug: str) -> None:
    if not _NUMBER.match(number):
        raise ValueError(f"report number must look like '2.8' or '5.2a', got {number!r}")
    if not _SLUG.match(slug):
        raise ValueError(f"slug must be lower-case words joined by '_', got {slug!r}")


def save_figure(fig, number: str, slug: str, caption: str, provenance: Provenance, notebook: str,
                *, dpi: int = 150) -> Path:
    """Save ``fig`` as ``figures/fig{number}_{slug}.png`` with its provenance printed in a corner.

    In a notebook the figure is then displayed with its numbered caption and closed.
    """
    _check_name(number, slug)
    label = provenance.label()
    width = int(fig.get_figwidth() * 20)  # characters of 6-pt text across the figure
    if len(label) <= width:
        fig.text(0.995, 0.003, label, ha="right", va="bottom", fontsize=6, color="0.45")
    else:  # wrapped below the figure rather than widening it: the saved image grows downwards, overlaps nothing
        fig.text(0.995, 0.0, textwrap.fill(label, width), ha="right", va="top", fontsize=6, color="0.45")
    target = paths.figures_dir() / f"fig{number}_{slug}.png"
    buffer = _io.BytesIO()
    # No timestamp or software version in the PNG, so identical figures are identical files.
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    write_bytes(target, buffer.getvalue())
    _record("figure", number, target, caption, provenance, notebook)
    _show_in_notebook(fig, f"**Figure {number}.** {caption}  \n<small>{provenance.label()} | `{target.name}`</small>")
    return target


def _show_in_notebook(fig, caption_markdown: str) -> None:
    """In a notebook: show the figure once, with its numbered caption underneath, then close it."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        return
    if get_ipython() is None:
        return
    import matplotlib.pyplot as plt

    display(fig)
    display(Markdown(caption_markdown))
    plt.close(fig)


def save_table(frame, number: str, slug: str, caption: str, provenance: Provenance, notebook: str,
               *, float_format: str = "%.4g") -> Path:
    """Save a DataFrame as ``figures/tab{number}_{slug}.csv`` plus a Markdown rendering beside it."""
    _check_name(number, slug)
    target = paths.figures_dir() / f"tab{number}_{slug}.csv"
    write_csv(target, frame, float_format=float_format)
    markdown = frame.to_markdown(index=False, floatfmt=float_format.lstrip("%"))
    write_text(target.with_suffix(".md"),
               f"**Table {number}.** {caption}\n\n{markdown}\n\n_{provenance.label()}_\n")
    _record("table", number, target, caption, provenance, notebook)
    return target


def _number_key(number: str):
    chapter, rest = number.split(".")
    digits = re.match(r"\d+", rest).group()
    return int(chapter), int(digits), rest[len(digits):]


def _record(kind: str, number: str, target: Path, caption: str, provenance: Provenance, notebook: str) -> None:
    """Add or replace one entry of figures/index.json and re-render figures/INDEX.md (under a lock)."""
    folder = target.parent
    registry = folder / "index.json"
    with FileLock(str(folder / ".index.lock")):
        entries = json.loads(registry.read_text()) if registry.exists() else {}
        entries[target.name] = {"kind": kind, "number": number, "caption": caption, "notebook": notebook,
                                **asdict(provenance)}
        write_json(registry, entries)
        write_text(folder / "INDEX.md", render_index(entries))


def render_index(entries: dict) -> str:
    """INDEX.md: one row per figure/table in report order."""
    lines = [
        "# Figures and tables",
        "",
        "Regenerated by `./run_all.sh`; each row says which notebook, data, profile, weights, training and",
        "evaluation clips produced it. Results on SynthIRMAS / SynthAudioSet are **not** IRMAS / AudioSet results.",
        "",
        "| # | file | caption | notebook | data | profile | weights | training | evaluated on |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = sorted(entries.items(), key=lambda item: (_number_key(item[1]["number"]), item[1]["kind"], item[0]))
    for name, e in order:
        tag = "Fig." if e["kind"] == "figure" else "Tab."
        lines.append(f"| {tag} {e['number']} | [{name}]({name}) | {e['caption']} | {e['notebook']} | "
                     f"{e['dataset']} | {e['profile']} | {e['weights']} | {e.get('training') or 'n/a'} | "
                     f"{e.get('evaluated') or 'n/a'} |")
    return "\n".join(lines) + "\n"
