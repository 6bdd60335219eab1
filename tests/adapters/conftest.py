"""Fixtures for the adapter contract tests (helpers live in ``adapter_helpers.py``)."""
from __future__ import annotations

import pytest
from adapter_helpers import clear_faults, make_conn


@pytest.fixture
def conn(testbed, tmp_path):
    return make_conn(testbed, tmp_path / "state")


@pytest.fixture
def no_faults(testbed):
    clear_faults(testbed)
    yield
    clear_faults(testbed)
