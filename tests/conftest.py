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
