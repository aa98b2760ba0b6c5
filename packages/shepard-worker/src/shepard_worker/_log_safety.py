"""Lines on the worker's stdout/stderr that CloudWatch Logs can never take for a metrics document.

On Batch, every line the worker's container writes (stdout and stderr alike) becomes one CloudWatch
Logs event, and CloudWatch extracts embedded metric format (EMF) metrics from any event that is a
JSON object with an `_aws` member; no header is needed. Docker cuts a line longer than 16 KiB into
events of 16 KiB, and CloudWatch one longer than 256 KiB. So only the worker's own metrics document
may start a line with JSON: each payload line is echoed with PAYLOAD_PREFIX in front, in pieces short
enough that no cut can start an event inside it, and the worker's own log lines get the same care.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

PAYLOAD_PREFIX: Final = b"payload| "
"""Starts every echoed payload line: no JSON text starts with `p`, so no such line is an EMF document."""
CONTINUATION_PREFIX: Final = "  | "
"""Starts every line of a worker log record after its first (tracebacks, names with newlines)."""
MAX_EVENT_BYTES: Final = 8 * 1024
"""The longest line written, newline included: under Docker's 16 KiB cut, whatever the characters."""
_MAX_LOG_CHARS: Final = (MAX_EVENT_BYTES - 2 * len(CONTINUATION_PREFIX)) // 4
"""A log line is cut by characters; a character is at most 4 bytes of UTF-8."""


def echo_pieces(line: bytes) -> Iterator[bytes]:
    """Yield `line` (its newline dropped) as prefixed lines of at most MAX_EVENT_BYTES, newline included."""
    body = line[:-1] if line.endswith(b"\n") else line
    width = MAX_EVENT_BYTES - len(PAYLOAD_PREFIX) - 1
    yield PAYLOAD_PREFIX + body[:width] + b"\n"
    for start in range(width, len(body), width):
        yield PAYLOAD_PREFIX + body[start : start + width] + b"\n"


def safe_log_text(text: str) -> str:
    """Return a formatted log record whose every line after the first is prefixed and none is too long."""
    out: list[str] = []
    for number, line in enumerate(text.split("\n")):
        prefix = "" if number == 0 else CONTINUATION_PREFIX
        out.append(prefix + line[:_MAX_LOG_CHARS])
        out.extend(
            CONTINUATION_PREFIX + line[start : start + _MAX_LOG_CHARS]
            for start in range(_MAX_LOG_CHARS, len(line), _MAX_LOG_CHARS)
        )
    return "\n".join(out)


class SafeFormatter(logging.Formatter):
    """A formatter whose records start with their time and never put a line of JSON on their own."""

    def format(self, record: logging.LogRecord) -> str:
        """Format `record`, then prefix every line after the first and cut lines too long for one event."""
        return safe_log_text(super().format(record))
