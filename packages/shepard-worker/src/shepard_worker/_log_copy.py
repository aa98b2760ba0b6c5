"""The payload log's copy for the error zip: its first and last 8 MiB, a marker where lines were dropped.

The copy never fails its writer: when the disk under its head file is full (or any write to it
fails) the head stops where it is, every later line goes to the in-memory tail, and the copy says so
in a marker line. Reading it back needs no scratch disk: the head is streamed from its file.
"""

from __future__ import annotations

import collections
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger("shepard_worker")

HEAD_BYTES: Final = 8 * 1024 * 1024
TAIL_BYTES: Final = 8 * 1024 * 1024
READ_CHUNK: Final = 1024 * 1024


class CappedCopy:
    """Keeps the first `head_bytes` of lines on disk and the last `tail_bytes` in memory; drops the middle."""

    def __init__(self, head_bytes: int = HEAD_BYTES, tail_bytes: int = TAIL_BYTES) -> None:
        """Start an empty copy with the given head and tail sizes (the head file is made on first use)."""
        self._head_fd: int | None = None
        self._head_size = 0
        self._head_left = head_bytes
        self._head_error: str | None = None
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_size = 0
        self._tail_bytes = tail_bytes
        self.dropped_lines = 0
        self.dropped_bytes = 0

    @property
    def disk_error(self) -> str | None:
        """Why the head stopped growing on disk (e.g. the disk is full), or None while it works."""
        return self._head_error

    def write(self, line: bytes) -> None:
        """Add one line (its newline included); never raises for the disk's sake."""
        if not self._tail and self._head_error is None and len(line) <= self._head_left:
            try:
                self._write_head(line)
            except OSError as exc:
                self._give_up_disk(exc)
            else:
                return
        self._tail.append(line)
        self._tail_size += len(line)
        while self._tail_size > self._tail_bytes and self._tail:
            gone = self._tail.popleft()
            self._tail_size -= len(gone)
            self.dropped_lines += 1
            self.dropped_bytes += len(gone)

    def _write_head(self, line: bytes) -> None:
        """Append `line` to the head file (made on first use), or raise the OSError that stopped it."""
        if self._head_fd is None:
            with tempfile.TemporaryFile() as made:
                self._head_fd = os.dup(made.fileno())
        view = memoryview(line)
        while view:
            written = os.pwrite(self._head_fd, view, self._head_size + len(line) - len(view))
            view = view[written:]
        self._head_size += len(line)
        self._head_left -= len(line)

    def _give_up_disk(self, exc: OSError) -> None:
        """Stop using the disk: keep the whole lines already written, send every later line to the tail."""
        self._head_error = exc.strerror or str(exc)
        log.warning(
            "could not keep the payload's log on disk (%s): the error zip keeps its first %d bytes and "
            "its last %d MiB from memory; the payload is not affected",
            self._head_error,
            self._head_size,
            self._tail_bytes // (1024 * 1024),
        )

    def chunks(self) -> Iterator[bytes]:
        """Yield the head, a marker line where lines were dropped or the disk failed, and the tail."""
        tail = list(self._tail)
        yield from self._head_chunks()
        if self._head_error is not None:
            yield (
                f"[shepard: the worker could not keep this log on disk ({self._head_error}); "
                "what follows was kept in memory]\n"
            ).encode()
        if self.dropped_lines:
            yield (
                f"[shepard: {self.dropped_lines} lines ({self.dropped_bytes} bytes) dropped here; the log "
                f"copy keeps its first and last {self._tail_bytes // (1024 * 1024)} MiB]\n"
            ).encode()
        yield from tail

    def _head_chunks(self) -> Iterator[bytes]:
        """Yield the head file's bytes; a read that fails ends them with a marker line."""
        fd, offset = self._head_fd, 0
        while fd is not None and offset < self._head_size:
            try:
                chunk = os.pread(fd, min(READ_CHUNK, self._head_size - offset), offset)
            except OSError as exc:
                yield f"\n[shepard: could not read the log copy after {offset} bytes: {exc}]\n".encode()
                return
            if not chunk:
                yield f"\n[shepard: the log copy ended early, after {offset} bytes]\n".encode()
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        """Drop the copy."""
        if self._head_fd is not None:
            os.close(self._head_fd)
            self._head_fd = None
        self._tail.clear()
