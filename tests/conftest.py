import os
from pathlib import Path

import pytest

# Real reference data (the listing of every IRMAS file, two genuine IRMAS clips, Google's AudioSet
# ontology and segment files) beside the repository in ../shared/data; a user's clone has none.
SHARED_DATA = Path(os.environ.get("HARMONY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The real reference data; the test is skipped, saying why, where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no real reference data at {SHARED_DATA} (set HARMONY_SHARED_DATA; a clone has none)")
    return SHARED_DATA


def require_smoke_run(*needed: Path) -> None:
    """Skip (or fail, where ``HARMONY_REQUIRE_SMOKE_RUN`` is set, as ``./run_tests.sh`` does) unless the
    smoke run that ``./run_tests.sh`` makes first left ``needed`` behind: tests read its results
    instead of executing the notebooks a second time."""
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: run ./run_all.sh --profile smoke first (./run_tests.sh does)"
        if os.environ.get("HARMONY_REQUIRE_SMOKE_RUN"):
            pytest.fail(message)
        pytest.skip(message)


def processes_naming(text: str) -> list[int]:
    """The pids of the running processes whose command line contains ``text``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:  # ended meanwhile
            pass
    return found


class _TouchOnUnpickle:
    """Unpickling this object creates ``marker``: proof that a loader executed a pickle's code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def write_pickle_payload(path: Path, marker: Path) -> Path:
    """A pickled "checkpoint" at ``path`` (torch.load reads plain pickles too) whose unpickling, by
    ``pickle.load`` or ``torch.load(weights_only=False)``, would create ``marker``."""
    import pickle

    path.write_bytes(pickle.dumps({"conv.weight": _TouchOnUnpickle(marker)}))
    return path
