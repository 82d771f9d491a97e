import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("JADE_DATA_DIR") or ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA / "svhn_test.npz").exists():
        pytest.skip(f"no data mirror at {DATA}; set JADE_DATA_DIR to one (see README)")
    return str(DATA)


@pytest.fixture
def smoke(data_dir, tmp_path):
    """Keyword arguments of a tiny run writing under a temporary folder."""
    return dict(profile="smoke", data_dir=data_dir, output_dir=str(tmp_path / "out"))
