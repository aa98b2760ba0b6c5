"""The payload log's copy for the error zip: its first and last 8 MiB, a marker where lines were dropped."""

from __future__ import annotations

import collections
import tempfile
from typing import IO, Final

HEAD_BYTES: Final = 8 * 1024 * 1024
TAIL_BYTES: Final = 8 * 1024 * 1024


class CappedCopy:
    """Keeps the first `head_bytes` of lines on disk and the last `tail_bytes` in memory; drops the middle."""

    def __init__(self, head_bytes: int = HEAD_BYTES, tail_bytes: int = TAIL_BYTES) -> None:
        """Start an empty copy with the given head and tail sizes."""
        self._head = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._head_left = head_bytes
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_size = 0
        self._tail_bytes = tail_bytes
        self.dropped_lines = 0
        self.dropped_bytes = 0
        self._result: IO[bytes] | None = None

    def write(self, line: bytes) -> None:
        """Add one line (its newline included)."""
        if not self._tail and len(line) <= self._head_left:
            self._head.write(line)
            self._head_left -= len(line)
            return
        self._tail.append(line)
        self._tail_size += len(line)
        while self._tail_size > self._tail_bytes and self._tail:
            gone = self._tail.popleft()
            self._tail_size -= len(gone)
            self.dropped_lines += 1
            self.dropped_bytes += len(gone)

    def read(self) -> IO[bytes]:
        """Return the head, a marker line when lines were dropped, and the tail, positioned at the start."""
        if self._result is not None:
            self._result.close()
        self._head.flush()
        self._head.seek(0)
        result = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        while chunk := self._head.read(1024 * 1024):
            result.write(chunk)
        self._head.seek(0, 2)
        if self.dropped_lines:
            result.write(
                f"[shepard: {self.dropped_lines} lines ({self.dropped_bytes} bytes) dropped here; the log "
                f"copy keeps its first and last {self._tail_bytes // (1024 * 1024)} MiB]\n".encode()
            )
        result.writelines(self._tail)
        result.flush()
        result.seek(0)
        self._result = result
        return result

    def close(self) -> None:
        """Drop the copy."""
        self._head.close()
        if self._result is not None:
            self._result.close()
        self._tail.clear()
