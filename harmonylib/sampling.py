"""Dynamic sampling of report 3.5: multi-label training examples mixed on the fly (notebook 22).

IRMAS's training clips carry one label each while its test excerpts carry one to five. Dynamic
sampling mixes single-label training windows into multi-label examples during training:

* :class:`TrueDynamicSampling` (Algorithm 1): every example draws ``k`` in [min, max], ``k`` distinct
  labels uniformly among the classes, one window of each label, mixes them; label = the union.
  An epoch has :func:`dynamic_epoch_size` examples (Eq. 3.1).
* :class:`BasePersistentDynamicSampling` (Algorithm 2, which the original code never implemented):
  example ``i`` of every epoch is window ``i`` (the *base*) mixed with ``k - 1`` windows of other,
  uniformly drawn labels, ``k`` in [min, max] counting the base; an epoch has one example per window.

Both are ``torch.utils.data.Dataset`` objects over in-memory windows (``waves[i]`` a 1-D array, all of
one length) with multi-hot ``targets`` (n, 11). Example ``i`` of epoch ``e`` is a pure function of
(seed, e, i), so results do not depend on batching or order; call :meth:`set_epoch` each epoch.

Mixing (:func:`mix`) scales by loudness, not the original's plain average (which made a mix of five
quieter than any one clip and let one loud clip drown the others): each component is scaled to unit
RMS times a random gain of U[-6, 0] dB, the components are summed, and the sum is rescaled to the mean
RMS of the components as loaded. A "mix" of one window returns it unchanged; silent windows stay silent.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .labels import NUM_CLASSES
from .windows import stack_windows


def dynamic_epoch_size(n: int, min_sampled: int, max_sampled: int, p: float = 0.001) -> int:
    """Eq. 3.1: examples per epoch so that on average a fraction ``p`` of the ``n`` originals is never drawn.

    ``log_{1 - 1/n}(p)`` draws leave each original out with probability ``p``; each example uses
    ``(min + max) / 2`` originals on average. Rounded down, as Table 3.3 (``harmonylib.reference.TABLE_3_3``).
    """
    if n < 2 or not 1 <= min_sampled <= max_sampled or not 0 < p < 1:
        raise ValueError(f"need n >= 2, 1 <= min_sampled <= max_sampled and 0 < p < 1; got {n}, "
                         f"{min_sampled}, {max_sampled}, {p}")
    draws = math.log(p) / math.log(1 - 1 / n)
    return math.floor(draws * (1 / n) * (2 / (min_sampled + max_sampled)) * n)


def mix(components: torch.Tensor, gains_db: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
    """Loudness-aware mix of ``components`` (..., k, N) with gains (..., k) in dB -> (..., N).

    ``present`` (..., k), boolean, marks the components that take part (default: all); the others are
    zeros, padding that lets examples with different numbers of components share one batch."""
    if present is None:
        present = torch.ones(gains_db.shape, dtype=torch.bool, device=components.device)
    rms = components.pow(2).mean(dim=-1).sqrt()
    scale = torch.where(rms > 1e-8, 10 ** (gains_db / 20) / rms.clamp_min(1e-8), torch.zeros_like(rms))
    total = (components * scale.unsqueeze(-1)).sum(dim=-2)
    total_rms = total.pow(2).mean(dim=-1, keepdim=True).sqrt()
    target = (rms * present).sum(dim=-1, keepdim=True) / present.sum(dim=-1, keepdim=True)
    return torch.where(total_rms > 1e-8, total * target / total_rms.clamp_min(1e-8), total)


class _DynamicSampling(torch.utils.data.Dataset):
    def __init__(self, waves, targets, min_sampled: int = 1, max_sampled: int = 5, seed: int = 0,
                 gain_db: tuple[float, float] = (-6.0, 0.0)):
        targets = np.asarray(targets, dtype=np.float32)
        if targets.ndim != 2 or targets.shape[1] != NUM_CLASSES or len(targets) != len(waves):
            raise ValueError(f"targets must be multi-hot of shape ({len(waves)}, {NUM_CLASSES}), got {targets.shape}")
        if not 1 <= min_sampled <= max_sampled <= NUM_CLASSES:
            raise ValueError(f"need 1 <= min_sampled <= max_sampled <= {NUM_CLASSES}, got {min_sampled}, {max_sampled}")
        self.waves, self.targets = waves, targets
        self.min_sampled, self.max_sampled, self.seed, self.gain_db = min_sampled, max_sampled, seed, gain_db
        self.by_class = [np.flatnonzero(targets[:, c] > 0) for c in range(NUM_CLASSES)]
        self.classes = np.array([c for c in range(NUM_CLASSES) if len(self.by_class[c])])
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])

    def _pick(self, rng: np.random.Generator, labels: np.ndarray) -> list[int]:
        return [int(rng.choice(self.by_class[c])) for c in labels]

    def recipe(self, i: int) -> tuple[list[int], np.ndarray]:
        """The window indices mixed into example ``i`` of the current epoch, and their gains in dB."""
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(mixed waveform (N,) float32, multi-hot target (11,) = union of the components' labels)."""
        indices, gains = self.recipe(i)
        components = torch.stack([torch.as_tensor(np.asarray(self.waves[j], dtype=np.float32)) for j in indices])
        mixed = mix(components, torch.from_numpy(gains.astype(np.float32)))
        return mixed, torch.from_numpy(self.targets[indices].max(axis=0))


    def batch(self, items, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Examples ``items`` of the current epoch on ``device``, equal to stacking ``self[i]``: the recipes
        are drawn here, every component window is cut in one gather on the device
        (:meth:`harmonylib.windows.Windows.batch`) and the mixes are computed batched."""
        recipes = [self.recipe(int(i)) for i in items]
        counts = [len(indices) for indices, _ in recipes]
        width = max(counts)
        rows = np.concatenate([indices for indices, _ in recipes])
        flat = self.waves.batch(rows, device) if hasattr(self.waves, "batch") else stack_windows(self.waves, rows, device)
        slots = torch.as_tensor([b * width + k for b, n in enumerate(counts) for k in range(n)], device=flat.device)
        components = flat.new_zeros(len(recipes) * width, flat.shape[-1]).index_copy_(0, slots, flat)
        gains = np.zeros((len(recipes), width), dtype=np.float32)
        present = np.zeros((len(recipes), width), dtype=bool)
        for b, (_, example_gains) in enumerate(recipes):
            gains[b, :counts[b]], present[b, :counts[b]] = example_gains, True
        mixed = mix(components.view(len(recipes), width, -1), torch.from_numpy(gains).to(flat.device),
                    torch.from_numpy(present).to(flat.device))
        targets = np.stack([self.targets[indices].max(axis=0) for indices, _ in recipes])
        return mixed, torch.from_numpy(targets).to(flat.device)


class TrueDynamicSampling(_DynamicSampling):
    """Algorithm 1: ``epoch_size`` examples (default Eq. 3.1 with ``p``), each freshly drawn."""

    def __init__(self, waves, targets, min_sampled: int = 1, max_sampled: int = 5, seed: int = 0,
                 epoch_size: int | None = None, p: float = 0.001, gain_db: tuple[float, float] = (-6.0, 0.0)):
        super().__init__(waves, targets, min_sampled, max_sampled, seed, gain_db)
        self.epoch_size = epoch_size or dynamic_epoch_size(len(waves), min_sampled, max_sampled, p)

    def __len__(self) -> int:
        return self.epoch_size

    def recipe(self, i: int) -> tuple[list[int], np.ndarray]:
        rng = self._rng(i)
        k = min(int(rng.integers(self.min_sampled, self.max_sampled + 1)), len(self.classes))
        labels = rng.choice(self.classes, size=k, replace=False)
        return self._pick(rng, labels), rng.uniform(*self.gain_db, size=k)


class BasePersistentDynamicSampling(_DynamicSampling):
    """Algorithm 2: example ``i`` is window ``i`` mixed with ``k - 1`` windows of other labels; ``len`` = n."""

    def __len__(self) -> int:
        return len(self.waves)

    def recipe(self, i: int) -> tuple[list[int], np.ndarray]:
        rng = self._rng(i)
        others = np.setdiff1d(self.classes, np.flatnonzero(self.targets[i] > 0))
        k = min(int(rng.integers(self.min_sampled, self.max_sampled + 1)), len(others) + 1)
        labels = rng.choice(others, size=k - 1, replace=False)
        return [i, *self._pick(rng, labels)], rng.uniform(*self.gain_db, size=k)
