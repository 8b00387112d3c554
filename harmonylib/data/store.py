"""Decoded waveforms on disk: every clip decoded and resampled once, then memory-mapped (chapters 4-5).

``waveforms(frame, sr)`` decodes the clips of a DataFrame (``path`` column) with
:func:`harmonylib.audio.load` into one int16 file plus an index of offsets and lengths, under
``build/cache/waveforms/<key>/``. The key hashes the sample rate, channel mode and every file's path,
size and modification time, so the cache is rebuilt exactly when the data change. It is built in a
temporary folder and renamed into place when complete: a killed build leaves no cache, never a torn
one. Reading an item is a slice of a memory map: no decoding, no resampling; training and evaluation
cut their windows from :meth:`WaveformStore.tensor`, the whole store on the model's device.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from .. import audio, io, paths

FORMAT_VERSION = 1


def store_key(file_paths, sr: int, mono: bool) -> str:
    """The store's folder name: its format, sample rate, channels and the files (``io.files_digest``)."""
    return io.files_digest(file_paths, f"v{FORMAT_VERSION} sr={sr} mono={mono}\n", length=24)


class WaveformStore:
    """``store[i]`` -> float32 waveform of row ``i`` ((n,) when mono, else (channels, n)); ``len(store)``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text())
        self.sr, self.mono, self.paths = meta["sr"], meta["mono"], meta["paths"]
        index = np.load(self.folder / "index.npy")
        self.offsets, self.lengths, self.channels = index[:, 0], index[:, 1], index[:, 2]
        total = int(index[:, 1].dot(index[:, 2])) if len(index) else 0
        self._data = (np.memmap(self.folder / "data.int16", dtype=np.int16, mode="r", shape=(total,))
                      if total else np.zeros(0, dtype=np.int16))
        self._tensors: dict[torch.device, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.offsets)

    def __reduce__(self):  # another process reopens the memory map instead of receiving a copy of it
        return (WaveformStore, (self.folder,))

    def __getitem__(self, i: int) -> np.ndarray:
        start, n, channels = int(self.offsets[i]), int(self.lengths[i]), int(self.channels[i])
        samples = np.asarray(self._data[start: start + n * channels], dtype=np.float32) / 32767.0
        return samples if self.mono else samples.reshape(channels, n)

    def duration(self, i: int) -> float:
        return float(self.lengths[i]) / self.sr

    def tensor(self, device) -> torch.Tensor:
        """Every sample of the store as one int16 tensor on ``device``, made once per device: on the CPU a
        view of the memory map (no copy), on a GPU a copy in its memory (IRMAS's training set: about
        0.9 GB), so windows are cut on the device (:meth:`harmonylib.windows.Windows.batch`)."""
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:  # one copy for "cuda" and "cuda:0"
            device = torch.device("cuda", torch.cuda.current_device())
        if device not in self._tensors:
            with warnings.catch_warnings():  # read-only memory map: torch warns that writes would fail
                warnings.simplefilter("ignore", UserWarning)
                data = torch.from_numpy(self._data)
            self._tensors[device] = data if device.type == "cpu" else data.to(device)
        return self._tensors[device]


def build_store(file_paths: list[str], sr: int, mono: bool, folder: Path) -> None:
    """Decode ``file_paths`` into ``folder`` (through a temporary sibling folder renamed at the end)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        index = []
        offset = 0
        with open(scratch / "data.int16", "wb") as handle:
            for p in file_paths:
                samples, _ = audio.load(p, sr=sr, mono=mono)
                channels = 1 if mono else samples.shape[0]
                pcm = np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)
                handle.write(pcm.tobytes())
                index.append((offset, samples.shape[-1], channels))
                offset += pcm.size
            handle.flush()
            os.fsync(handle.fileno())
        np.save(scratch / "index.npy", np.array(index, dtype=np.int64).reshape(-1, 3))
        (scratch / "meta.json").write_text(json.dumps(dict(sr=sr, mono=mono, paths=list(file_paths),
                                                           version=FORMAT_VERSION)))
        try:
            os.rename(scratch, folder)
        except OSError:  # another process finished the same store first: keep theirs
            if not (folder / "meta.json").exists():
                raise
            shutil.rmtree(scratch, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def waveforms(frame, sr: int, mono: bool = True) -> WaveformStore:
    """The cached decoded waveforms of ``frame['path']`` at ``sr`` (built on first use, rebuilt when data change)."""
    file_paths = [str(p) for p in frame["path"]]
    folder = paths.cache_dir() / "waveforms" / store_key(file_paths, sr, mono)
    if not (folder / "meta.json").exists():
        if folder.exists():  # incomplete folder left by something else: rebuild
            shutil.rmtree(folder)
        build_store(file_paths, sr, mono, folder)
    return WaveformStore(folder)
