"""Dynamic sampling (report 3.5): Eq. 3.1, labels, uniformity over classes, persistence of base samples."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from harmonylib import reference
from harmonylib.labels import NUM_CLASSES
from harmonylib.sampling import BasePersistentDynamicSampling, TrueDynamicSampling, dynamic_epoch_size, mix

N = 256


def _data(sizes=(3, 5, 8, 13, 21, 2, 4, 6, 9, 30, 11)):
    """Unbalanced single-label windows: window i is a constant of value i + 1 (identifiable after mixing)."""
    labels = np.repeat(np.arange(NUM_CLASSES), sizes)
    waves = [np.full(N, i + 1.0, dtype=np.float32) for i in range(len(labels))]
    return waves, np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def test_table_3_3():
    n = sum(reference.IRMAS_TRAIN_COUNTS.values())
    assert {m: dynamic_epoch_size(n, 1, m) for m in (2, 3, 4, 5)} == reference.TABLE_3_3 == {
        2: 30875, 3: 23156, 4: 18525, 5: 15437}


def test_epoch_size_leaves_p_unsampled():
    # With N draws of (min + max) / 2 originals each, an original is missed with probability ~p.
    n, p = 1000, 0.01
    size = dynamic_epoch_size(n, 1, 3, p)
    assert (1 - 1 / n) ** (size * 2) == pytest.approx(p, rel=0.01)
    waves, targets = _data()
    assert len(TrueDynamicSampling(waves, targets, 1, 5)) == dynamic_epoch_size(len(waves), 1, 5)
    with pytest.raises(ValueError):
        dynamic_epoch_size(10, 3, 2)


def test_mix_scales_by_loudness():
    quiet, loud = torch.full((N,), 0.01), torch.sin(torch.arange(N) * 0.3)
    mixed = mix(torch.stack([quiet, loud]), torch.zeros(2))
    rms = lambda x: x.pow(2).mean().sqrt()  # noqa: E731
    # equal loudness: the quiet clip's share is as large as the loud one's
    assert torch.allclose(mixed.mean(), rms(mixed) / math.sqrt(2), rtol=0.05)
    assert torch.allclose(rms(mixed), (rms(quiet) + rms(loud)) / 2, rtol=1e-4)
    torch.testing.assert_close(mix(loud.unsqueeze(0), torch.tensor([-3.0])), loud)  # one clip: unchanged
    silent = mix(torch.zeros(2, N), torch.zeros(2))
    assert torch.equal(silent, torch.zeros(N))


@pytest.mark.parametrize("cls", [TrueDynamicSampling, BasePersistentDynamicSampling])
def test_labels_are_the_union(cls):
    waves, targets = _data()
    data = cls(waves, targets, 1, 5, seed=1)
    for i in range(0, len(data), 7):
        indices, gains = data.recipe(i)
        wave, target = data[i]
        expected = targets[indices].max(axis=0)
        assert torch.equal(target, torch.from_numpy(expected))
        assert 1 <= target.sum() <= 5 and len(set(indices)) == len(indices) == target.sum()
        assert np.all((gains >= -6) & (gains <= 0))
        assert wave.shape == (N,)


def test_true_dynamic_labels_are_uniform_over_classes():
    waves, targets = _data()  # class sizes from 2 to 30
    data = TrueDynamicSampling(waves, targets, 1, 5, seed=0, epoch_size=3000)
    counts = np.zeros(NUM_CLASSES)
    sizes = []
    for i in range(len(data)):
        indices, _ = data.recipe(i)
        counts += targets[indices].sum(axis=0)
        sizes.append(len(indices))
    assert stats.chisquare(counts).pvalue > 0.01
    assert set(sizes) == {1, 2, 3, 4, 5}
    raw = targets.sum(axis=0)
    assert stats.chisquare(raw * counts.sum() / raw.sum()).pvalue < 1e-6  # the raw distribution is not


def test_base_samples_persist_and_partners_change():
    waves, targets = _data()
    data = BasePersistentDynamicSampling(waves, targets, 2, 4, seed=0)
    assert len(data) == len(waves)
    first = [data.recipe(i)[0] for i in range(len(data))]
    data.set_epoch(1)
    second = [data.recipe(i)[0] for i in range(len(data))]
    assert all(a[0] == b[0] == i for i, (a, b) in enumerate(zip(first, second)))
    assert sum(a[1:] != b[1:] for a, b in zip(first, second)) > 0.9 * len(data)
    assert all(2 <= len(a) <= 4 for a in first)
    data.set_epoch(0)
    assert [data.recipe(i)[0] for i in range(len(data))] == first  # a pure function of (seed, epoch, i)


def test_true_dynamic_is_seeded_per_epoch():
    waves, targets = _data()
    a = TrueDynamicSampling(waves, targets, 1, 4, seed=5, epoch_size=50)
    b = TrueDynamicSampling(waves, targets, 1, 4, seed=5, epoch_size=50)
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(50))
    b.set_epoch(1)
    assert sum(a.recipe(i)[0] != b.recipe(i)[0] for i in range(50)) > 30


def test_bad_targets_raise():
    waves, targets = _data()
    with pytest.raises(ValueError):
        TrueDynamicSampling(waves, targets[:, :5])
    with pytest.raises(ValueError):
        BasePersistentDynamicSampling(waves, targets, 0, 3)


@pytest.mark.parametrize("cls", [TrueDynamicSampling, BasePersistentDynamicSampling])
def test_a_batch_equals_its_examples(cls):
    """Mixed on the device in one batch (padded to the most components), each example is exactly what
    it is alone: padding neither sounds nor counts in the loudness the mix is scaled to."""
    waves, targets = _data()
    rng = np.random.default_rng(3)
    waves = [w * rng.uniform(0.1, 2, N).astype(np.float32) for w in waves]  # components of unequal loudness
    sampler = cls(waves, targets, 1, 5, seed=11)
    sampler.set_epoch(2)
    items = [0, 7, 3, 60, 7]
    mixed, target = sampler.batch(items, "cpu")
    counts = {len(sampler.recipe(i)[0]) for i in items}
    assert len(counts) > 1  # the batch really mixes examples of different sizes
    assert torch.equal(mixed, torch.stack([sampler[i][0] for i in items]))
    assert torch.equal(target, torch.stack([sampler[i][1] for i in items]))
