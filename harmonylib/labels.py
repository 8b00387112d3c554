"""The eleven IRMAS classes, their names, their fixed colours, and multi-hot encoding.

Used by every notebook: class codes always appear in this order and with these colours.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CLASSES: tuple[str, ...] = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")
NUM_CLASSES = len(CLASSES)
CLASS_INDEX = {code: i for i, code in enumerate(CLASSES)}

CLASS_NAMES = {
    "cel": "cello",
    "cla": "clarinet",
    "flu": "flute",
    "gac": "acoustic guitar",
    "gel": "electric guitar",
    "org": "organ",
    "pia": "piano",
    "sax": "saxophone",
    "tru": "trumpet",
    "vio": "violin",
    "voi": "voice",
}

# One colour per class across the whole study (seaborn's "tab20" with paired hues split apart).
CLASS_COLORS = {
    "cel": "#8c564b",
    "cla": "#17becf",
    "flu": "#9edae5",
    "gac": "#bcbd22",
    "gel": "#d62728",
    "org": "#9467bd",
    "pia": "#1f77b4",
    "sax": "#ff7f0e",
    "tru": "#ffbb78",
    "vio": "#e377c2",
    "voi": "#2ca02c",
}


def multi_hot(labels: Iterable[str]) -> np.ndarray:
    """Encode class codes as a float32 vector of length 11 (unknown codes raise ``KeyError``)."""
    vector = np.zeros(NUM_CLASSES, dtype=np.float32)
    for code in labels:
        vector[CLASS_INDEX[code]] = 1.0
    return vector


def multi_hot_matrix(label_lists: Iterable[Iterable[str]]) -> np.ndarray:
    """Stack :func:`multi_hot` over many clips: shape (n_clips, 11)."""
    rows = [multi_hot(labels) for labels in label_lists]
    return np.stack(rows) if rows else np.zeros((0, NUM_CLASSES), dtype=np.float32)


def decode(vector: np.ndarray) -> tuple[str, ...]:
    """The class codes whose entries are non-zero, in class order."""
    return tuple(CLASSES[i] for i in np.flatnonzero(np.asarray(vector) > 0))
