"""Run a failed or cancelled job again: a new job from the original's upload, once per request."""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError
from shepard_core import (
    Attr,
    CountedWriteRefusedError,
    JobRow,
    JobStatus,
    error_code,
    job_id_for_run_again,
    run_again_message,
)

from shepard_cli._run_again_row import refusal, write_run_again_row

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class ClientFactory(Protocol):
    """Anything that makes boto3 clients by service name, as shepard_cli._aws.Aws does."""

    def client(self, service: str) -> Any:  # noqa: ANN401 - a boto3 client of that service
        """Return a client of AWS service `service`."""


@dataclasses.dataclass(frozen=True)
class RunAgainResult:
    """What one run-again request of one job came to."""

    original: str
    """The UUID of the job asked to run again."""
    new_uuid: str | None
    """The UUID of the job that runs it again (None when refused)."""
    created: bool
    """Whether this request made that job; False when an earlier request with the same id had."""
    refused: str | None
    """Why the job is not run again, and what to do instead (None when it is)."""


def new_request_id() -> str:
    """Return a fresh request id: one per click or command run, so a repeat of it makes nothing new."""
    return str(uuid.uuid4())


def run_again(  # noqa: PLR0913 - the clients, the job, the request, and where the flock is
    aws: ClientFactory,
    job_uuid: str,
    request_id: str,
    *,
    table: str,
    queue_url: str,
    inputs_bucket: str | None = None,
    include_complete: bool = False,
) -> RunAgainResult:
    """Run job `job_uuid` again as a new job made from its original upload; once per `request_id`.

    `aws.client(name)` gives boto3 clients (shepard_cli._aws.Aws does); `table` is the flock's job
    table, `queue_url` its scheduler queue (stack output SchedulerQueueUrl). The new job's UUID is
    shepard_core.job_id_for_run_again(job_uuid, request_id): the same request again (a double click,
    a re-run command) makes no second job, and sends the scheduler its message again should the new
    job still wait. A failed job (a cancelled one ends failed) is run again; a completed one only with
    `include_complete`; a rejected, waiting, running or unknown job, or one whose upload is gone from
    `inputs_bucket` (checked when given), is refused, the result saying why and what to do instead.
    The new row names the original in SHEPARD_RUN_AGAIN_OF and the original lists it in
    SHEPARD_RUN_AGAIN_AS; the original's row and error zip are left as they are. AWS errors other than
    these refusals are raised: repeat the same request to finish it.
    """
    dynamodb: DynamoDBClient = aws.client("dynamodb")
    job_uuid = job_uuid.lower()
    new_uuid = job_id_for_run_again(job_uuid, request_id)
    original = _read_row(dynamodb, table, job_uuid)
    if original is None and _read_row(dynamodb, table, new_uuid) is None:
        return _refused(job_uuid, f"no job {job_uuid} in table {table} (never made, or its row expired)")
    if original is not None and made_by(original, request_id):
        made = f"job {job_uuid} was made by this same request, to run {original.run_again_of} again"
        return _refused(job_uuid, made)
    created = original is not None and new_uuid not in original.run_again_as
    if original is not None and created:
        why = refusal(original, include_complete=include_complete)
        why = why or _upload_gone(aws, original, inputs_bucket)
        if why is not None:
            return _refused(job_uuid, why)
        try:
            write_run_again_row(dynamodb, table, original, new_uuid, include_complete=include_complete)
        except CountedWriteRefusedError as exc:
            if 0 not in exc.refused:
                return _refused(job_uuid, _changed(job_uuid, exc.refused.get(1), include_complete))
            created = False
    if created or _still_waiting(dynamodb, table, new_uuid):
        aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=run_again_message(new_uuid))
    return RunAgainResult(original=job_uuid, new_uuid=new_uuid, created=created, refused=None)


def made_by(row: JobRow, request_id: str) -> bool:
    """Return whether `row` is the job request `request_id` made to run another job again."""
    return row.run_again_of is not None and job_id_for_run_again(row.run_again_of, request_id) == row.uuid


def _refused(job_uuid: str, why: str) -> RunAgainResult:
    return RunAgainResult(original=job_uuid, new_uuid=None, created=False, refused=why)


def _read_row(dynamodb: DynamoDBClient, table: str, job_uuid: str) -> JobRow | None:
    """Return job `job_uuid`'s row as it stands (a consistent read), or None if there is none."""
    found: Any = dynamodb.get_item(TableName=table, Key={Attr.UUID: {"S": job_uuid}}, ConsistentRead=True)
    item = found.get("Item")
    if item is None or Attr.JOB_STATUS not in item:
        return None
    return JobRow.from_item(item)


def _still_waiting(dynamodb: DynamoDBClient, table: str, new_uuid: str) -> bool:
    """Return whether the run-again row exists and still waits to be submitted to AWS Batch."""
    row = _read_row(dynamodb, table, new_uuid)
    return row is not None and row.status is JobStatus.NOT_YET_INITIATED and row.batch_job_id is None


def _changed(job_uuid: str, item: Any, include_complete: bool) -> str:  # noqa: ANN401, FBT001
    """Return why the original refused the write: gone, or moved to a status that may not run again."""
    if not item:
        return f"job {job_uuid}'s row is gone (it expired while being run again)"
    row = JobRow.from_item(item)
    return refusal(row, include_complete=include_complete) or f"job {job_uuid} changed; try again"


def _upload_gone(aws: ClientFactory, row: JobRow, bucket: str | None) -> str | None:
    """Return why the job's upload can no longer be run, or None (also when it cannot be checked here)."""
    if row.is_invoked or not bucket:
        return None
    kwargs: dict[str, str] = {"Bucket": bucket, "Key": row.input_zip_name}
    if row.input_zip_version:
        kwargs["VersionId"] = row.input_zip_version
    try:
        aws.client("s3").head_object(**kwargs)
    except ClientError as exc:
        if error_code(exc) not in {"404", "NoSuchKey", "NoSuchVersion", "400"}:
            raise
        version = f" (version {row.input_zip_version})" if row.input_zip_version else ""
        return (
            f"job {row.uuid}'s upload s3://{bucket}/{row.input_zip_name}{version} is gone (old versions "
            "expire after 30 days): upload the job folder again"
        )
    return None
