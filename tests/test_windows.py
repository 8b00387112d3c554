"""Windowing (report 4.6): counts, padding/dropping of the last window, labels and clip ids."""
import numpy as np
import pytest
import torch

from harmonylib.windows import WindowDataset, Windows, split, window_count


@pytest.mark.parametrize(("n", "last", "expected"), [
    (300, "pad", 3), (300, "drop", 3),  # exact multiple
    (350, "pad", 4), (350, "drop", 3),  # partial last window
    (40, "pad", 1), (40, "drop", 1),  # shorter than one window: padded, never dropped
])
def test_window_count(n, last, expected):
    assert window_count(n, 100, last) == expected


def test_bad_arguments():
    with pytest.raises(ValueError):
        window_count(100, 10, "overlap")
    with pytest.raises(ValueError):
        window_count(0, 10)


def test_split_pads_with_zeros():
    wave = np.arange(1, 251, dtype=np.float32)
    padded = split(wave, 100, "pad")
    assert padded.shape == (3, 100)
    assert np.array_equal(padded.ravel()[:250], wave) and not padded.ravel()[250:].any()
    assert split(wave, 100, "drop").shape == (2, 100)


def test_windows_keep_clip_ids_and_every_sample():
    clips = [np.arange(n, dtype=np.float32) + 1000 * i for i, n in enumerate((3000, 2500, 700))]
    windows = Windows(clips, sample_rate=1000, seconds=1.0, last="pad")
    assert windows.clip.tolist() == [0, 0, 0, 1, 1, 1, 2]
    assert windows.start.tolist() == [0, 1000, 2000, 0, 1000, 2000, 0]
    for i, clip in enumerate(clips):  # nothing dropped: the clip's windows concatenate to it
        joined = np.concatenate([windows[j] for j in np.flatnonzero(windows.clip == i)])
        assert np.array_equal(joined[:len(clip)], clip) and not joined[len(clip):].any()
    dropped = Windows(clips, 1000, 1.0, last="drop")
    assert dropped.clip.tolist() == [0, 0, 0, 1, 1, 2]


def test_training_windows_inherit_labels():
    clips = [np.ones(3000, np.float32), np.ones(2000, np.float32)]
    targets = np.eye(11, dtype=np.float32)[[4, 9]]
    data = WindowDataset(Windows(clips, 1000, 1.0, last="drop"), targets)
    assert len(data) == 5
    wave, target, clip = data[4]
    assert isinstance(wave, torch.Tensor) and wave.shape == (1000,)
    assert clip == 1 and target.argmax() == 9
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=5)))
    assert batch[0].shape == (5, 1000) and batch[2].tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("seconds", [1, 2, 3, 10])
def test_window_sizes(seconds):
    clips = [np.zeros(20 * 100, np.float32)]
    windows = Windows(clips, sample_rate=100, seconds=seconds)
    assert windows[0].shape == (seconds * 100,)
    assert len(windows) == -(-20 // seconds)


@pytest.mark.parametrize(("seconds", "expected"), [(1, 3), (2, 1), (3, 1)])
def test_real_irmas_training_clip_keeps_its_windows(seconds, expected):
    """A real training clip (132,299 samples, one short of 3 s) gives 3 one-second windows and one 3-s window."""
    clip = np.ones(132_299, np.float32)
    windows = Windows([clip], sample_rate=44_100, seconds=seconds, last="drop")
    assert len(windows) == expected
    last = windows[len(windows) - 1]
    assert last.shape == (seconds * 44_100,)
    assert (last[-1] == 0) == (seconds != 2)  # the kept short window ends in one sample of padding
    strict = Windows([clip], sample_rate=44_100, seconds=seconds, last="drop", tolerance_s=0)
    assert len(strict) == (2 if seconds == 1 else expected)  # without the tolerance a 1-s window is lost


def test_drop_tolerance_boundary():
    assert window_count(290, 100, "drop", tolerance=10) == 3  # short by exactly the tolerance: kept
    assert window_count(289, 100, "drop", tolerance=10) == 2  # one sample more: dropped
    assert window_count(289, 100, "pad", tolerance=0) == 3
    assert split(np.ones(290, np.float32), 100, "drop", tolerance=10).shape == (3, 100)
    assert Windows([np.ones(290, np.float32)], 1000, 0.1, last="drop", tolerance_s=0.0).clip.tolist() == [0, 0]
    with pytest.raises(ValueError, match="tolerance"):
        window_count(290, 100, "drop", tolerance=-1)


@pytest.mark.parametrize("clip_seconds", [20.0, 19.5, 12.0, 10.0, 5.0, 0.7])
def test_every_window_size_scores_the_same_central_seconds_of_a_clip(clip_seconds):
    sr = 100
    wave = np.arange(1, int(clip_seconds * sr) + 1, dtype=np.float32)  # every sample distinct, none zero
    heard = {}
    for window in (1, 2, 3):
        windows = Windows([wave], sr, window, last="pad", span_s=6)
        samples = np.concatenate([windows[j] for j in range(len(windows))])
        heard[window] = samples[samples > 0]
        assert len(set(heard[window].tolist())) == len(heard[window])  # no sample heard twice
    assert set(heard[1].tolist()) == set(heard[2].tolist()) == set(heard[3].tolist())
    start = max(0, (len(wave) - 6 * sr) // 2)
    assert heard[1].tolist() == wave[start:start + 6 * sr].tolist()  # the central 6 s, or all of a shorter clip


@pytest.mark.parametrize("clip_seconds", [20.0, 10.0, 8.0, 2.5])
def test_a_span_shorter_than_a_window_still_scores_every_clip(clip_seconds):
    sr = 100
    windows = Windows([np.ones(int(clip_seconds * sr), dtype=np.float32)] * 2, sr, 3, last="pad", span_s=2)
    assert np.bincount(windows.clip).tolist() == [1, 1]
