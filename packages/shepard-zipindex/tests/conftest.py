"""Helpers shared by the zipindex tests: building zips in memory and serving them as byte ranges."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from shepard_zipindex import CountingRangeReader

# The zip writers live in a module beside the tests so that the benchmark can use them too.
sys.path.insert(0, str(Path(__file__).parent))

from zipindex_testkit import BytesRangeReader, build_zip


def counting(data: bytes) -> CountingRangeReader:
    """Serve `data` through a reader that counts reads and bytes."""
    return CountingRangeReader(BytesRangeReader(data))


@pytest.fixture
def make_zip():
    """Return the in-memory zip writer."""
    return build_zip


@pytest.fixture
def serve():
    """Return a function serving bytes through a counting RangeReader."""
    return counting
