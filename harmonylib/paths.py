"""Where things live: the repository, generated data, build outputs and figures.

Every location can be moved with an environment variable, so tests and CI never overwrite the
committed figures: ``HARMONY_DATA_DIR``, ``HARMONY_BUILD_DIR``, ``HARMONY_FIGURES_DIR``,
``HARMONY_CACHE_DIR`` (a fast dev run shares the caches of the build folder it runs inside).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def data_root() -> Path:
    """Generated and downloaded data sets (ignored by git)."""
    return _from_env("HARMONY_DATA_DIR", REPO_ROOT / "data")


def build_dir() -> Path:
    """Executed notebooks, runs, checkpoints, caches and the HTML report (ignored by git)."""
    return _from_env("HARMONY_BUILD_DIR", REPO_ROOT / "build")


def figures_dir() -> Path:
    """Figures and tables named by report number, with INDEX.md (committed for the default profile)."""
    return _from_env("HARMONY_FIGURES_DIR", REPO_ROOT / "figures")


def cache_dir() -> Path:
    """Feature and waveform caches, keyed by their parameters."""
    return _from_env("HARMONY_CACHE_DIR", build_dir() / "cache")


def runs_dir() -> Path:
    """One folder per training run (config, metrics, checkpoints)."""
    return build_dir() / "runs"
