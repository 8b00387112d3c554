"""harmonylib.runs: the run folder's files written and read back, and the strict reader's errors."""
import io

import numpy as np
import pytest

from harmonylib import runs
from harmonylib.errors import HarmonyError
from harmonylib.labels import NUM_CLASSES


def _npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _good_arrays():
    return dict(clip_ids=np.array(["b-1", "a-1"]), labels=np.eye(NUM_CLASSES, dtype=np.uint8)[:2],
                probs=np.full((3, NUM_CLASSES), 0.5), clip_index=np.array([1, 0, 1]))


def test_read_predictions_sorts_clips_and_keeps_windows_together(tmp_path):
    arrays = _good_arrays()
    arrays["probs"][0] = 0.9  # the first window of clip a-1 (row 1 of clip_ids)
    arrays["probs"][2] = 0.1  # its second window
    _npz(tmp_path / "p.npz", **arrays)
    p = runs.read_predictions(tmp_path / "p.npz")
    assert list(p.clip_ids) == ["a-1", "b-1"] and list(p.groups) == ["a", "b"]  # songs: names minus -N
    assert [len(w) for w in p.window_probs] == [2, 1]
    assert p.window_probs[0][:, 0].tolist() == pytest.approx([0.9, 0.1])
    assert p.labels[0, 1] == 1 and p.labels[1, 0] == 1
    _npz(tmp_path / "g.npz", **arrays, groups=np.array(["x", "y"]))
    assert list(runs.read_predictions(tmp_path / "g.npz").groups) == ["y", "x"]
    assert list(runs.read_predictions(tmp_path / "p.npz", dataset="audioset").groups) == ["a-1", "b-1"]


def test_saved_predictions_read_back_by_clip(tmp_path):
    rng = np.random.default_rng(0)
    window = {"probs": rng.random((7, NUM_CLASSES)), "clip_index": np.array([2, 0, 1, 2, 0, 2, 1]),
              "targets": np.zeros((7, NUM_CLASSES))}
    window["targets"][:, 3] = 1
    path = runs.save_predictions(tmp_path, "irmas", "test", window, ["s-3", "s-1", "s-2"])
    assert path == runs.predictions_path(tmp_path, "irmas", "test")
    back = runs.read_predictions(path)
    assert list(back.clip_ids) == ["s-1", "s-2", "s-3"] and set(back.groups) == {"s"}
    for j, clip in enumerate(back.clip_ids):
        k = ["s-3", "s-1", "s-2"].index(clip)
        np.testing.assert_allclose(back.window_probs[j], window["probs"][window["clip_index"] == k], rtol=1e-6)
    assert (back.labels[:, 3] == 1).all() and back.labels.sum() == 3
    with pytest.raises(HarmonyError, match="some clips have no window"):
        runs.save_predictions(tmp_path, "irmas", "val", window, ["s-3", "s-1", "s-2", "s-4"])


@pytest.mark.parametrize("change, message", [
    ({"clip_index": np.array([1, 1, 1])}, "clip_index"),
    ({"clip_index": np.array([0, 1])}, "clip_index"),
    ({"probs": np.full((3, NUM_CLASSES), 1.5)}, "probs"),
    ({"labels": np.full((2, NUM_CLASSES), 2)}, "multi-hot"),
    ({"groups": np.array(["a"])}, "groups"),
    ({"clip_ids": np.array(["a-1", "a-1"])}, "repeat"),
])
def test_read_predictions_names_the_file_and_the_problem(tmp_path, change, message):
    _npz(tmp_path / "bad.npz", **{**_good_arrays(), **change})
    with pytest.raises(HarmonyError, match=message) as error:
        runs.read_predictions(tmp_path / "bad.npz")
    assert "bad.npz" in str(error.value)


def test_read_predictions_missing_key_and_garbage(tmp_path):
    arrays = _good_arrays()
    del arrays["clip_index"]
    _npz(tmp_path / "nokey.npz", **arrays)
    with pytest.raises(HarmonyError, match="clip_index"):
        runs.read_predictions(tmp_path / "nokey.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip")
    with pytest.raises(HarmonyError, match="garbage.npz"):
        runs.read_predictions(tmp_path / "garbage.npz")
