"""A job's log for the browser: its newest lines first, then what came after, page by page."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shepard_cli._errors import CliError
from shepard_core import JobStatus

if TYPE_CHECKING:
    from shepard_ui._flock import Flock

TAIL_LINES: Final = 200
MAX_PAGES: Final = 5


@dataclasses.dataclass(frozen=True)
class LogChunk:
    """Lines of a job's log, the token to ask for the lines after them, and whether more may come."""

    lines: tuple[str, ...]
    after: str | None
    ended: bool
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the chunk as the JSON the page reads."""
        return dataclasses.asdict(self)


def read_log(flock: Flock, job_id: str, after: str | None) -> LogChunk:
    """Return the job's last TAIL_LINES lines (no `after`), or the lines written since `after`.

    The stream is found as `shepard logs` finds it; a job without logs yet, or without any (rejected),
    gives no lines and a message saying why.
    """
    from shepard_cli._jobs import BATCH_TERMINAL, _find_stream, describe_batch_job, get_row, log_location

    names = flock.names
    row = get_row(flock.dynamodb, names.table, job_id)
    if row.status is JobStatus.REJECTED:
        return LogChunk((), None, ended=True, message="This job was rejected before it ran: it has no log.")
    if not row.batch_job_id:
        return LogChunk((), after, ended=False, message="Waiting for AWS Batch to take the job.")
    described = describe_batch_job(flock.batch, row.batch_job_id)
    if described is None:
        return LogChunk((), None, ended=True, message="AWS Batch no longer knows this job.")
    ended = described.get("status") in BATCH_TERMINAL
    group, candidates = log_location(described)
    stream = _find_stream(flock.logs, group, candidates)
    if stream is None:
        message = "The job wrote no log." if ended else "No log yet: it appears once the job runs."
        return LogChunk((), after, ended=ended, message=message)
    return _read_stream(flock, group, stream, after, ended=ended)


def _read_stream(flock: Flock, group: str, stream: str, after: str | None, *, ended: bool) -> LogChunk:
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream}
    if after is None:
        page = flock.logs.get_log_events(**kwargs, startFromHead=False, limit=TAIL_LINES)
        lines += [event.get("message", "") for event in page.get("events", [])]
        return LogChunk(tuple(lines), page.get("nextForwardToken"), ended=ended)
    token = after
    for _ in range(MAX_PAGES):
        try:
            page = flock.logs.get_log_events(**kwargs, startFromHead=True, nextToken=token)
        except flock.logs.exceptions.InvalidParameterException:
            raise CliError("the log position is not valid any more", "Reload the page") from None
        lines += [event.get("message", "") for event in page.get("events", [])]
        following = page.get("nextForwardToken")
        if following in (None, token):
            break
        token = following
    return LogChunk(tuple(lines), token, ended=ended)
