"""Which jobs `shepard retry --status/--tag/--since` runs again: a projected Scan of the job table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shepard_core import Attr, JobStatus, job_id_for_run_again

from shepard_cli._run_again import made_by
from shepard_cli._table_scan import scan_job_rows
from shepard_cli._watch_filters import scan_request

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from shepard_core import JobRow

    from shepard_cli._watch_filters import WatchFilters

DEFAULT_STATUSES: Final = frozenset({JobStatus.JOB_FAILED})
"""What a selection without --status takes: the failed jobs (cancelled ones end failed too)."""

_EXTRA: Final = {"#retry_as": Attr.RUN_AGAIN_AS, "#retry_of": Attr.RUN_AGAIN_OF}


def selected_jobs(
    dynamodb: DynamoDBClient, table: str, filters: WatchFilters, *, request_id: str
) -> tuple[list[str], list[JobRow]]:
    """Return the UUIDs of the jobs the filters select to run again, and the selected jobs left out.

    Left out: jobs another request has run again already (run one again once more by its UUID), and
    jobs this same request made. A job this request has run again stays in, so that repeating the
    command finishes what an interrupted run began.
    """
    request = scan_request(table, filters)
    request["ProjectionExpression"] += ", " + ", ".join(_EXTRA)
    request["ExpressionAttributeNames"] |= _EXTRA
    rows, _ = scan_job_rows(dynamodb, request)
    chosen: list[str] = []
    left_out: list[JobRow] = []
    for row in sorted(rows, key=lambda row: (row.submit_time or row.start_time or "", row.uuid)):
        mine = job_id_for_run_again(row.uuid, request_id)
        if made_by(row, request_id) or any(other != mine for other in row.run_again_as):
            left_out.append(row)
        else:
            chosen.append(row.uuid)
    return chosen, left_out
