"""Helpers shared by the zipindex tests: building zips in memory and serving them as byte ranges."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest
from shepard_zipindex import CountingRangeReader

ZIPS_DIR = Path(__file__).parent / "zips"
# The sparse zip64 writer lives beside the tests so that the benchmark can use it too.
sys.path.insert(0, str(Path(__file__).parent))


class BytesRangeReader:
    """A RangeReader over bytes held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read_suffix(self, length: int) -> tuple[bytes, int]:
        return self.data[max(0, len(self.data) - length) :], len(self.data)

    def read_range(self, start: int, end: int) -> bytes:
        return self.data[start:end]


def build_zip(
    members: dict[str, bytes] | list[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    force_zip64: bool = False,
) -> bytes:
    """Write a zip with Python's zipfile and return its bytes."""
    items = list(members.items()) if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in items:
            if name.endswith("/"):
                archive.writestr(name, b"")
                continue
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = compression
            with archive.open(info, "w", force_zip64=force_zip64) as f:
                f.write(data)
        archive.comment = comment
    return buffer.getvalue()


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
