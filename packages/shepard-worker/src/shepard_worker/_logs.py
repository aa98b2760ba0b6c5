"""Capture the payload's output line by line (echoed to the worker's stdout) and the worker's own log."""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import IO, TYPE_CHECKING, Final, Self

from shepard_worker._log_copy import CappedCopy

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import TracebackType

MAX_LINE: Final = 64 * 1024
"""Longer lines are cut into pieces of this size, so one line never holds unbounded memory."""


class PayloadLog:
    """The payload's output: each line goes to the worker's stdout (CloudWatch) and to a capped copy."""

    def __init__(self, echo: IO[bytes] | None = None) -> None:
        """Echo to `echo` (default: the worker's stdout) and keep a copy in a temporary file."""
        self._echo = echo if echo is not None else sys.stdout.buffer
        self._copy = CappedCopy()
        self._lock = threading.Lock()
        self.lines = 0

    def write_line(self, line: bytes) -> None:
        """Record one line (with or without its newline)."""
        if not line.endswith(b"\n"):
            line += b"\n"
        with self._lock:
            self._copy.write(line)
            self.lines += 1
            try:
                self._echo.write(line)
                self._echo.flush()
            except (OSError, ValueError):
                pass  # a closed stdout must not stop the job

    def consume(self, chunks: Iterable[bytes]) -> None:
        """Record a stream of arbitrary chunks as lines."""
        for line in split_lines(chunks):
            self.write_line(line)

    def read(self) -> IO[bytes]:
        """Return the copy so far, positioned at its start (only after the payload stopped writing)."""
        with self._lock:
            return self._copy.read()

    def close(self) -> None:
        """Drop the copy."""
        self._copy.close()

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drop the copy."""
        self.close()


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the lines of a stream of chunks (each with its newline; the last may lack one)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while True:
            end = pending.find(b"\n")
            if end < 0:
                break
            line = bytes(pending[: end + 1])
            del pending[: end + 1]
            while len(line) > MAX_LINE:
                yield line[:MAX_LINE]
                line = line[MAX_LINE:]
            yield line
        while len(pending) > MAX_LINE:
            yield bytes(pending[:MAX_LINE])
            del pending[:MAX_LINE]
    if pending:
        yield bytes(pending)


class WorkerLog(logging.Handler):
    """Keeps the worker's own log records of one job, for its error zip."""

    def __init__(self) -> None:
        """Start an empty log."""
        super().__init__(logging.DEBUG)
        self._buffer = io.StringIO()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Append one formatted record."""
        try:
            self._buffer.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)

    def text(self) -> str:
        """Return everything logged so far."""
        return self._buffer.getvalue()
