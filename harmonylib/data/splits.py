"""Data splits of report 3.6, done right and persisted (notebook 10).

* IRMAS: the training data as is; the testing data split 30 % validation / 70 % test **by song**
  (no song on both sides: excerpts of one song share instruments, key and recording, so a random
  per-file split leaks), stratified by labels, seeded. The original code split per file, unseeded.
* AudioSet: 70/10/20 by YouTube ID, seeded.

Each split is written as a CSV next to the data (atomically) and reused while it covers exactly the
same files (AudioSet's: every clip, so a clip that is left out does not move the others), so it is
byte-for-byte reproducible and survives library upgrades. SynthAudioSet's render writes its split itself,
as its SoundFonts follow it.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import io
from ..errors import CSVFormatError
from ..labels import CLASSES

SPLIT_FOLDER = "harmony_splits"


def rarest_label(labels_column: pd.Series) -> pd.Series:
    """Each clip's stratification key: its rarest label over the whole set (so rare classes are spread)."""
    counts = pd.Series([c for labels in labels_column for c in labels]).value_counts()
    return labels_column.map(lambda labels: min(labels, key=lambda c: (counts.get(c, 0), CLASSES.index(c))))


def song_split(frame: pd.DataFrame, val_fraction: float, seed: int) -> pd.Series:
    """'val' or 'test' per row of the IRMAS testing data, grouped by ``song`` and stratified by labels."""
    from sklearn.model_selection import StratifiedGroupKFold

    songs = np.sort(frame["song"].unique())
    strata = rarest_label(frame["labels"])
    n_splits = int(min(10, len(songs), strata.value_counts().max()))
    side = pd.Series("test", index=frame.index)
    if n_splits < 2:  # too few clips to stratify (tiny smoke data): a seeded split of the songs
        n_val = int(round(val_fraction * len(songs)))
        val_songs = np.random.default_rng(seed).permutation(songs)[:n_val]
        side[frame["song"].isin(val_songs)] = "val"
        return side
    val_folds = max(1, int(round(val_fraction * n_splits)))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # rare keys with fewer members than folds are expected and harmless
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, held) in enumerate(splitter.split(frame, strata, frame["song"])):
            if fold < val_folds:
                side.iloc[held] = "val"
    return side


def irmas_split(testing: pd.DataFrame, root: str | Path, val_fraction: float, seed: int) -> pd.Series:
    """The persisted val/test assignment of the testing clips (``root/harmony_splits/irmas_val_test.csv``)."""
    root = Path(root)
    target = root / SPLIT_FOLDER / f"irmas_val_test_seed{seed}_val{val_fraction:g}.csv"
    relative = testing["path"].map(lambda p: Path(p).resolve().relative_to(root.resolve()).as_posix())
    stored = _read(target, "path")
    if stored is not None and set(stored["path"]) == set(relative):
        return relative.map(stored.set_index("path")["split"]).set_axis(testing.index)
    side = song_split(testing, val_fraction, seed)
    table = pd.DataFrame({"path": relative, "song": testing["song"], "split": side}).sort_values("path")
    io.write_csv(target, table)
    return side


def audioset_split(frame: pd.DataFrame, root: str | Path, fractions: tuple[float, float, float],
                   seed: int) -> pd.Series:
    """'train'/'val'/'test' per AudioSet clip (70/10/20 by default), seeded and persisted by YouTube ID."""
    target = audioset_split_path(root, fractions, seed)
    stored = _read(target, "ytid")
    if stored is not None and set(frame["ytid"]) <= set(stored["ytid"]):
        return frame["ytid"].map(stored.set_index("ytid")["split"])
    table = ytid_split(frame["ytid"], fractions, seed)
    io.write_csv(target, table)
    return frame["ytid"].map(table.set_index("ytid")["split"])


def audioset_split_path(root: str | Path, fractions: tuple[float, float, float], seed: int) -> Path:
    """Where :func:`audioset_split` keeps the split of the collection at ``root``."""
    return Path(root) / SPLIT_FOLDER / f"audioset_seed{seed}_{'_'.join(f'{f:g}' for f in fractions)}.csv"


def ytid_split(ytids, fractions: tuple[float, float, float], seed: int) -> pd.DataFrame:
    """The seeded 'train'/'val'/'test' assignment of :func:`audioset_split` (columns ``ytid``, ``split``, sorted by
    ID): it depends on the IDs alone, so SynthAudioSet's render knows it before any audio exists."""
    ids = np.sort(np.asarray(ytids, dtype=str))
    order = np.random.default_rng(seed).permutation(len(ids))
    cut = np.round(np.cumsum(fractions)[:2] / sum(fractions) * len(ids)).astype(int)
    names = np.empty(len(ids), dtype=object)
    names[order[: cut[0]]], names[order[cut[0]: cut[1]]], names[order[cut[1]:]] = "train", "val", "test"
    return pd.DataFrame({"ytid": ids, "split": names})


def _read(path: Path, key: str) -> pd.DataFrame | None:
    if not path.exists():
        return None
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if key not in table.columns or "split" not in table.columns:
        raise CSVFormatError(f"split file lacks '{key}'/'split' columns; delete it to recompute", path)
    return table
