"""One job as the Job page shows it: its row, its AWS Batch attempts, its output and error zips."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shepard_core import TAG, JobRow, JobStatus, parse_child_job_id
from shepard_core._naming import ERROR_MARKER, OUTPUT_MARKER, sanitize_tag
from shepard_core._statuses import GROUP_OF, StatusGroup

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shepard_ui._flock import Flock
    from shepard_ui._job_cost import CostView
    from shepard_ui._job_wait import WaitView

OUTPUTS: Final = "outputs"
ERRORS: Final = "errors"
MAX_OBJECTS_LISTED: Final = 50


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """An object of the outputs or errors bucket: which bucket (by role), its key, size and time."""

    bucket: str
    key: str
    size: int
    modified: str


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One AWS Batch attempt of a job, as DescribeJobs tells it."""

    number: int
    started: str | None
    stopped: str | None
    exit_code: int | None
    reason: str | None
    log_stream: str | None


@dataclasses.dataclass(frozen=True)
class JobDetail:
    """Everything the Job page shows of one job."""

    row: JobRow
    group: StatusGroup
    batch: dict[str, Any] | None
    attempts: tuple[Attempt, ...]
    outputs: tuple[StoredObject, ...]
    errors: tuple[StoredObject, ...]
    rejection: tuple[str, str] | None
    waiting: WaitView | None = None
    """Why the job waits, once it has waited for AWS Batch past the threshold."""
    cost: CostView | None = None
    """What the job cost, once it ran to its end."""
    batch_refused: str | None = None
    """What AWS said when it refused to describe the job's Batch job."""

    @property
    def ended(self) -> bool:
        """Return whether the job has ended (complete, failed or rejected)."""
        return self.group in {StatusGroup.COMPLETE, StatusGroup.FAILED, StatusGroup.REJECTED}

    @property
    def child(self) -> tuple[str, int] | None:
        """Return (array job id, index) when the job is a child of an array, else None."""
        if not self.row.batch_job_id:
            return None
        array, index = parse_child_job_id(self.row.batch_job_id)
        return None if index is None else (array, index)


def job_prefix(marker: str, row: JobRow) -> str:
    """Return the key prefix of the job's output (OUTPUT_MARKER) or error (ERROR_MARKER) zips."""
    tag = row.inputs.get(TAG)
    cleaned = sanitize_tag(tag) if tag else ""
    return f"{cleaned + '_' if cleaned else ''}{marker}{row.uuid}_"


def list_objects(s3: S3Client, bucket_role: str, bucket: str | None, prefix: str) -> tuple[StoredObject, ...]:
    """Return the objects under `prefix` (at most MAX_OBJECTS_LISTED, newest first); none without a bucket."""
    if not bucket:
        return ()
    page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=MAX_OBJECTS_LISTED)
    found = [
        StoredObject(bucket_role, item["Key"], item.get("Size", 0), item["LastModified"].isoformat())
        for item in page.get("Contents", [])
    ]
    return tuple(sorted(found, key=lambda item: item.modified, reverse=True))


def _attempts(described: dict[str, Any] | None) -> tuple[Attempt, ...]:
    from datetime import UTC, datetime

    def moment(millis: object) -> str | None:
        if not isinstance(millis, int | float) or not millis:
            return None
        return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")

    attempts = []
    for number, attempt in enumerate((described or {}).get("attempts", []), start=1):
        container = attempt.get("container", {})
        attempts.append(
            Attempt(
                number=number,
                started=moment(attempt.get("startedAt")),
                stopped=moment(attempt.get("stoppedAt")),
                exit_code=container.get("exitCode"),
                reason=attempt.get("statusReason") or container.get("reason"),
                log_stream=container.get("logStreamName"),
            )
        )
    return tuple(attempts)


def job_detail(flock: Flock, job_id: str) -> JobDetail:
    """Return what the Job page shows of job `job_id`; raise CliError when the table has no such job."""
    from shepard_cli._jobs import get_row
    from shepard_cli._rejections import rejected_job_message

    from shepard_ui._job_cost import cost_view
    from shepard_ui._job_wait import wait_view

    names = flock.names
    row = get_row(flock.dynamodb, names.table, job_id)
    described, batch_refused = _describe(flock, row)
    rejection = None
    if row.status is JobStatus.REJECTED:
        rejection = rejected_job_message(row, names.errors_bucket, flock.s3 if names.errors_bucket else None)
    return JobDetail(
        row=row,
        group=GROUP_OF[row.status],
        batch=described,
        attempts=_attempts(described),
        outputs=list_objects(flock.s3, OUTPUTS, names.outputs_bucket, job_prefix(OUTPUT_MARKER, row)),
        errors=list_objects(flock.s3, ERRORS, names.errors_bucket, job_prefix(ERROR_MARKER, row)),
        rejection=rejection,
        waiting=wait_view(flock, row, described),
        cost=cost_view(row, flock.price_book()),
        batch_refused=batch_refused,
    )


def _describe(flock: Flock, row: JobRow) -> tuple[dict[str, Any] | None, str | None]:
    """Return AWS Batch's description of the job's Batch job (None: none, or unknown), or AWS's refusal."""
    from botocore.exceptions import BotoCoreError, ClientError
    from shepard_cli._jobs import describe_batch_job

    if not row.batch_job_id:
        return None, None
    try:
        return describe_batch_job(flock.batch, row.batch_job_id), None
    except (ClientError, BotoCoreError) as exc:
        return None, f"AWS refused to describe Batch job {row.batch_job_id}: {exc}"
