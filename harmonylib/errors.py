"""Error types of harmonylib: every problem with a user's file names the file and what is wrong."""
from __future__ import annotations

from pathlib import Path


class HarmonyError(Exception):
    """Base class; ``path`` is the offending file (or None) and ``problem`` says what is wrong."""

    def __init__(self, problem: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class AudioError(HarmonyError):
    """An audio file that cannot be used (unreadable, empty, non-finite, unsupported)."""


class LabelError(HarmonyError):
    """A label file or label column that is missing, empty, malformed or names unknown classes."""


class CSVFormatError(HarmonyError):
    """A CSV (AudioSet segments, manifests, splits) with malformed rows."""


class DatasetError(HarmonyError):
    """A data set with one or more bad files; ``problems`` lists every one, so all are fixed in one go."""

    def __init__(self, problems: list[HarmonyError], root: str | Path | None = None):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} bad file(s):\n{lines}", root)


class ConfigError(HarmonyError):
    """An unknown profile, missing data directory or inconsistent parameters."""
