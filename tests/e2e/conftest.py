from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def home():
    """The stack's CORDON_HOME (keys, the SMS sink), outside pytest's basetemp: another pytest session
    on the same machine prunes old basetemps, and must not pull a running stack's files away."""
    path = Path(tempfile.mkdtemp(prefix="cordon-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
