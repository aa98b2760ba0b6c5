"""Capture the payload's output line by line (echoed, prefixed, on the worker's stdout) and the worker log."""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import IO, TYPE_CHECKING, Final, Self

from shepard_worker._log_copy import CappedCopy
from shepard_worker._log_safety import SafeFormatter, echo_pieces

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import TracebackType

log = logging.getLogger("shepard_worker")

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The worker's log lines; each starts with its time, so none is a JSON document."""
MAX_LINE: Final = 64 * 1024
"""Longer lines are cut into pieces of this size, so one line never holds unbounded memory."""


class PayloadLog:
    """The payload's output: each line goes to the worker's stdout (CloudWatch) and to a capped copy.

    On stdout each line carries the payload prefix (see `_log_safety`), so nothing the payload prints
    is read as a metric. Recording a line never raises: the payload is never stopped or blocked by
    the worker's bookkeeping (a full disk, a closed stdout).
    """

    def __init__(self, echo: IO[bytes] | None = None) -> None:
        """Echo to `echo` (default: the worker's stdout) and keep a copy (its head in a temporary file)."""
        self._echo = echo if echo is not None else sys.stdout.buffer
        self._copy = CappedCopy()
        self._lock = threading.Lock()
        self.lines = 0

    def write_line(self, line: bytes) -> None:
        """Record one line (with or without its newline)."""
        if not line.endswith(b"\n"):
            line += b"\n"
        with self._lock:
            self.lines += 1
            try:
                self._copy.write(line)
            except Exception:  # the copy is bookkeeping: the payload's output goes on
                log.warning("could not keep a payload line for the error zip", exc_info=True)
            try:
                self._echo.write(b"".join(echo_pieces(line)))
                self._echo.flush()
            except (OSError, ValueError):
                pass  # a closed stdout must not stop the job

    def consume(self, chunks: Iterable[bytes]) -> None:
        """Record a stream of arbitrary chunks as lines."""
        for line in split_lines(chunks):
            self.write_line(line)

    def chunks(self) -> Iterator[bytes]:
        """Yield the copy so far, streamed from where it is kept (after the payload stopped writing)."""
        return self._copy.chunks()

    @property
    def disk_error(self) -> str | None:
        """Why the copy could not be kept on disk, or None."""
        return self._copy.disk_error

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
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        """Append one formatted record."""
        try:
            self._buffer.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)

    def text(self) -> str:
        """Return everything logged so far."""
        return self._buffer.getvalue()


def safe_stream_handler(stream: IO[str]) -> logging.Handler:
    """Return a handler writing the worker's log to `stream` with no line CloudWatch could take for EMF."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter(LOG_FORMAT))
    return handler
