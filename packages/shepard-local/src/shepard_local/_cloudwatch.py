"""Ship a job attempt's output to CloudWatch Logs, where `shepard logs` reads it, as Batch's awslogs does."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError
from shepard_core import error_code

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_logs import CloudWatchLogsClient

LOG_GROUP: Final = "/aws/batch/job"
FLUSH_LINES: Final = 100
FLUSH_SECONDS: Final = 1.0

log = logging.getLogger(__name__)


def _create_if_absent(create: Callable[[], object]) -> None:
    """Run `create`, treating "already exists" as done.

    The error code is compared rather than the client's exception class: botocore builds a client's
    exception classes lazily, so threads sharing a client can see two different classes.
    """
    try:
        create()
    except ClientError as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise


class LogStream:
    """Buffer lines and put them to one log stream, at most every FLUSH_SECONDS or FLUSH_LINES lines."""

    def __init__(self, logs: CloudWatchLogsClient | None, stream: str) -> None:
        """Write to `stream` in the Batch log group; with no client, only count lines."""
        self._logs = logs
        self._stream = stream
        self._pending: list[tuple[int, str]] = []
        self._last_flush = time.monotonic()
        if logs is not None and stream:
            _create_if_absent(lambda: logs.create_log_group(logGroupName=LOG_GROUP))
            _create_if_absent(lambda: logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream))

    def add(self, line: str) -> None:
        """Queue one line; flush when enough lines or time have gathered."""
        self._pending.append((int(time.time() * 1000), line.rstrip("\n")))
        if len(self._pending) >= FLUSH_LINES or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Put the queued lines; a failure is logged and the lines dropped (the file copy remains)."""
        pending, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        if not pending or self._logs is None or not self._stream:
            return
        try:
            self._logs.put_log_events(
                logGroupName=LOG_GROUP,
                logStreamName=self._stream,
                logEvents=[{"timestamp": stamp, "message": message} for stamp, message in pending],
            )
        except Exception:
            log.warning("could not put %d log lines to %s", len(pending), self._stream, exc_info=True)
