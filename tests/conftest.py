import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The suite never writes into the user's own cache (~/.cache/corridors can hold ~200 MB of network arrays): it
# uses one temporary cache for the whole run, shared with the CLI subprocesses the tests start.
_CACHE = tempfile.mkdtemp(prefix="corridors-test-cache-")
os.environ["CORRIDORS_CACHE_DIR"] = _CACHE


@pytest.fixture(scope="session", autouse=True)
def _remove_test_cache():
    yield
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
