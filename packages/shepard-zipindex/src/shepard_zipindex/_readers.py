"""Sources of byte ranges: the RangeReader protocol, a local-file reader and a counting wrapper."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from shepard_zipindex._errors import ObjectNotFoundError, ReadFailedError

if TYPE_CHECKING:
    from pathlib import Path


@runtime_checkable
class RangeReader(Protocol):
    """Anything that can fetch the tail of a blob (learning its size) and any range of it."""

    def read_suffix(self, length: int) -> tuple[bytes, int]:
        """Return the last `length` bytes (all of them, if the blob is shorter) and the blob's size."""
        ...

    def read_range(self, start: int, end: int) -> bytes:
        """Return the bytes [start, end) of the blob."""
        ...


class FileRangeReader:
    """Serve byte ranges from a local file, opening it for each read."""

    def __init__(self, path: str | os.PathLike[str] | Path) -> None:
        """Remember the path; nothing is opened until the first read."""
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        """Name the file."""
        return f"FileRangeReader({self.path!r})"

    def read_suffix(self, length: int) -> tuple[bytes, int]:
        """Return the last `length` bytes of the file (all, if shorter) and its size."""
        if length < 0:
            raise ValueError(f"length must be >= 0, not {length}")
        try:
            with open(self.path, "rb") as f:  # noqa: PTH123 - a str path, opened once per read
                size = os.fstat(f.fileno()).st_size
                start = max(0, size - length)
                f.seek(start)
                return f.read(size - start), size
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(f"There is no file {self.path!r}.") from exc
        except OSError as exc:
            raise ReadFailedError(f"The file {self.path!r} cannot be read: {exc.strerror or exc}.") from exc

    def read_range(self, start: int, end: int) -> bytes:
        """Return the bytes [start, end) of the file (fewer if the file is shorter)."""
        if start < 0 or end < start:
            raise ValueError(f"invalid range [{start}, {end})")
        try:
            with open(self.path, "rb") as f:  # noqa: PTH123 - a str path, opened once per read
                f.seek(start)
                return f.read(end - start)
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(f"There is no file {self.path!r}.") from exc
        except OSError as exc:
            raise ReadFailedError(f"The file {self.path!r} cannot be read: {exc.strerror or exc}.") from exc


class CountingRangeReader:
    """Wrap a RangeReader and count the reads made through it and the bytes they returned."""

    def __init__(self, inner: RangeReader) -> None:
        """Start counting from zero."""
        self.inner = inner
        self.reads = 0
        self.bytes_read = 0
        self.calls: list[tuple[str, int, int]] = []
        """Each read as ("suffix", length, 0) or ("range", start, end)."""

    def read_suffix(self, length: int) -> tuple[bytes, int]:
        """Read a suffix through the wrapped reader and count it."""
        data, size = self.inner.read_suffix(length)
        self.reads += 1
        self.bytes_read += len(data)
        self.calls.append(("suffix", length, 0))
        return data, size

    def read_range(self, start: int, end: int) -> bytes:
        """Read a range through the wrapped reader and count it."""
        data = self.inner.read_range(start, end)
        self.reads += 1
        self.bytes_read += len(data)
        self.calls.append(("range", start, end))
        return data
