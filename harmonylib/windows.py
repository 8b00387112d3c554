"""Non-overlapping fixed-length windows of clips (report 4.6), for training and for aggregation (notebook 20).

A clip of ``n`` samples gives ``n // w`` full windows of ``w`` samples (w = 1, 2 or 3 s for IRMAS,
10 s for AudioSet). The last partial window is a choice, ``last``:

* ``"pad"`` (the default, and what evaluation uses): it is kept, zero-padded to ``w``. Every sample
  of a validation/test clip is seen, so nothing is silently dropped (the original's
  ``drop_last=True`` lost up to 15 test files).
* ``"drop"`` (training): it is dropped, so no training window is partly silence labelled with an
  instrument -- unless it is short by no more than ``tolerance`` samples, in which case it is kept,
  zero-padded. Every training clip of the real IRMAS release is 132,299 samples, one short of 3 s
  at 44.1 kHz: dropping strictly would cut a clip into 2 one-second windows instead of 3, losing a
  third of the 1-s model's training audio for a missing 0.02 ms. :data:`SHORT_BY_TOLERANCE_S`
  (10 ms) keeps such a window; the silence it adds is inaudible next to a window's length. 2-s
  windows still lose a clip's last second (short by 1 s).

With either choice a clip shorter than one window gives exactly one window, zero-padded. Every
window records its clip (``Windows.clip``): training windows inherit the clip's labels, evaluation
aggregates the windows' outputs per clip (:func:`harmonylib.evaluate.aggregate`).
"""
from __future__ import annotations

import numpy as np
import torch

LAST_CHOICES = ("pad", "drop")
SHORT_BY_TOLERANCE_S = 0.010  # a last window short by at most this much is kept by last="drop"


def window_count(n_samples: int, window: int, last: str = "pad", tolerance: int = 0) -> int:
    """How many windows a clip of ``n_samples`` gives (at least one).

    With ``last="drop"``, a last partial window short of ``window`` by at most ``tolerance``
    samples still counts.
    """
    if last not in LAST_CHOICES:
        raise ValueError(f"last must be one of {LAST_CHOICES}, got {last!r}")
    if n_samples <= 0 or window <= 0:
        raise ValueError(f"need positive lengths, got n_samples={n_samples}, window={window}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 samples, got {tolerance}")
    full, rest = divmod(n_samples, window)
    keep_last = rest > 0 and (last == "pad" or window - rest <= tolerance)
    return max(1, full + int(keep_last))


def central_window_count(n_samples: int, window: int, span: int) -> int:
    """How many ``window``-sample windows cover the central ``span`` samples of a clip of ``n_samples`` (all of
    a shorter clip), the last one padded: at least one."""
    if n_samples <= 0 or window <= 0 or span <= 0:
        raise ValueError(f"need positive lengths, got n_samples={n_samples}, window={window}, span={span}")
    return -(-min(n_samples, span) // window)


def split(wave: np.ndarray, window: int, last: str = "pad", tolerance: int = 0) -> np.ndarray:
    """One clip (n,) -> its windows (count, window), float32, zero-padded where needed."""
    wave = np.asarray(wave, dtype=np.float32)
    count = window_count(len(wave), window, last, tolerance)
    out = np.zeros((count, window), dtype=np.float32)
    for k in range(count):
        piece = wave[k * window:(k + 1) * window]
        out[k, :len(piece)] = piece
    return out


class Windows:
    """Every ``seconds``-long window of the clips ``waves`` (``waves[i]`` a 1-D array), as a sequence.

    ``windows[j]`` is window ``j`` (float32, ``seconds * sample_rate`` samples); ``clip[j]`` its clip
    index and ``start[j]`` its first sample in that clip. Windows are cut on access, so a memory-mapped
    waveform store is never copied whole. ``tolerance_s``: how short a last window may be and still be
    kept by ``last="drop"`` (see the module's docstring).

    ``span_s``: only the windows over each clip's central ``span_s`` seconds (all of a shorter clip), from
    its start at ``(length - span) / 2``, the last one padded (:func:`central_window_count`). Every window
    length that divides ``span_s`` then hears exactly the same audio of every clip: with 6 s, six 1-s, three
    2-s or two 3-s windows (evaluation at a profile that scores part of each clip).
    """

    def __init__(self, waves, sample_rate: int, seconds: float, last: str = "pad",
                 tolerance_s: float = SHORT_BY_TOLERANCE_S, span_s: float | None = None):
        self.waves, self.last = waves, last
        self.size = int(round(seconds * sample_rate))
        tolerance = int(round(tolerance_s * sample_rate))
        lengths = np.array([len(waves[i]) for i in range(len(waves))], dtype=np.int64)
        if span_s is None:
            counts = np.array([window_count(n, self.size, last, tolerance) for n in lengths], dtype=np.int64)
            offsets = np.zeros(len(lengths), dtype=np.int64)
        else:
            span = int(round(span_s * sample_rate))
            counts = np.array([central_window_count(n, self.size, span) for n in lengths], dtype=np.int64)
            offsets = np.maximum(lengths - span, 0) // 2
        self.clip = np.repeat(np.arange(len(waves)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        self.start = offsets[self.clip] + (np.arange(len(self.clip)) - first) * self.size

    def __len__(self) -> int:
        return len(self.clip)

    def __getitem__(self, j: int) -> np.ndarray:
        wave = self.waves[int(self.clip[j])]
        piece = np.asarray(wave[self.start[j]:self.start[j] + self.size], dtype=np.float32)
        if len(piece) < self.size:
            piece = np.pad(piece, (0, self.size - len(piece)))
        return piece

    def batch(self, rows, device) -> torch.Tensor:
        """Windows ``rows`` as one float32 tensor (len(rows), size) on ``device``, equal to stacking
        ``self[j]``. From a waveform store (:class:`harmonylib.data.store.WaveformStore`) they are cut by one
        gather from the store on the device, with no loop over items; other clips are stacked here."""
        rows = np.asarray(rows, dtype=np.int64)
        if not hasattr(self.waves, "tensor"):
            return stack_windows(self, rows, device)
        data = self.waves.tensor(device)
        clip = self.clip[rows]
        offsets = torch.as_tensor(self.waves.offsets[clip], device=data.device)
        lengths = torch.as_tensor(self.waves.lengths[clip], device=data.device)
        position = torch.as_tensor(self.start[rows], device=data.device)[:, None] + torch.arange(
            self.size, device=data.device)
        inside = position < lengths[:, None]
        samples = data[offsets[:, None] + torch.minimum(position, lengths[:, None] - 1)]
        return torch.where(inside, samples.float() / 32767.0, 0.0)

    def targets(self, clip_targets: np.ndarray) -> np.ndarray:
        """Per-window multi-hot targets: each window inherits its clip's row of ``clip_targets`` (n_clips, 11)."""
        return np.asarray(clip_targets, dtype=np.float32)[self.clip]


def stack_windows(windows, rows, device) -> torch.Tensor:
    """``windows[j]`` for each of ``rows`` as one float32 tensor (len(rows), size) on ``device``: the batch of any
    indexable of equal-length windows (:meth:`Windows.batch` cuts those of a waveform store in one gather instead)."""
    return torch.from_numpy(np.stack([np.asarray(windows[int(j)], dtype=np.float32) for j in rows])).to(device)


class WindowDataset(torch.utils.data.Dataset):
    """(window (w,), multi-hot target (11,), clip index) triples: every window of ``windows``, or those of
    ``rows``. Training and evaluation take them a batch at a time with :meth:`batch`, on the model's
    device, where they are then augmented and turned into model inputs (``harmonylib.augment/inputs``)."""

    def __init__(self, windows: Windows, clip_targets: np.ndarray, rows=None):
        self.windows, self.window_targets = windows, windows.targets(clip_targets)
        self.rows = np.arange(len(windows)) if rows is None else np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        j = int(self.rows[i])
        return torch.from_numpy(self.windows[j]), torch.from_numpy(self.window_targets[j]), int(self.windows.clip[j])

    def batch(self, items, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Items ``items`` stacked on ``device``: waveforms (B, w), targets (B, 11), clip indices (B,)."""
        rows = self.rows[np.asarray(items, dtype=np.int64)]
        return (self.windows.batch(rows, device), torch.from_numpy(self.window_targets[rows]).to(device),
                torch.from_numpy(self.windows.clip[rows]).to(device))
