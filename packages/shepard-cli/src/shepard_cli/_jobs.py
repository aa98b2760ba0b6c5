"""Jobs of a flock: list them (with rejections and their reasons), one job's state, its logs, cancel it."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    TERMINAL_STATUSES,
    Attr,
    JobRow,
    JobStatus,
    is_manifest_key,
    parse_child_job_id,
)

from shepard_cli._errors import CliError
from shepard_cli._rejections import (
    is_superseded,
    rejected_job_message,
    rejection_reports,
    report_location,
    report_reason,
)
from shepard_cli._table_scan import job_scan_request, scan_job_rows

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client

BATCH_TERMINAL: Final = frozenset({"SUCCEEDED", "FAILED"})
BATCH_QUEUED: Final = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})
"""Batch states in which CancelJob cancels a job; a job STARTING or RUNNING needs TerminateJob."""
DEFAULT_LOG_GROUP: Final = "/aws/batch/job"


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobView:
    """What query shows of one job: its row, or a rejection report without a row."""

    uuid: str
    status: str
    start_time: str | None = None
    input_zip_name: str | None = None
    batch_job_id: str | None = None
    reason: str | None = None
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)
    run_again_of: str | None = None
    """The job this one runs again (shepard retry), if any."""
    run_again_as: list[str] = dataclasses.field(default_factory=list)
    """The jobs that run this one again."""

    @classmethod
    def from_row(cls, row: JobRow) -> JobView:
        """Return the view of a job row."""
        return cls(
            uuid=row.uuid,
            status=row.status.value,
            start_time=row.start_time or row.submit_time,
            input_zip_name=row.input_zip_name or None,
            batch_job_id=row.batch_job_id,
            reason=row.reason,
            inputs=row.inputs,
            run_again_of=row.run_again_of,
            run_again_as=list(row.run_again_as),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the view as a JSON-ready dict."""
        return dataclasses.asdict(self)


def list_jobs(  # noqa: PLR0913 - the clients, the table, the filter and what was left out
    dynamodb: DynamoDBClient,
    table: str,
    *,
    statuses: frozenset[JobStatus] | None = None,
    s3: S3Client | None = None,
    errors_bucket: str | None = None,
    skipped: list[str] | None = None,
) -> list[JobView]:
    """Return the flock's jobs (filtered by status), adding rejections known only from their reports.

    The UUIDs of items that are not job rows go to `skipped` when it is given.
    """
    rows, others = scan_job_rows(dynamodb, job_scan_request(table, statuses=statuses))
    if skipped is not None:
        skipped += others
    views = [JobView.from_row(row) for row in rows]
    if s3 is not None and errors_bucket and (statuses is None or JobStatus.REJECTED in statuses):
        by_zip = {v.input_zip_name: i for i, v in enumerate(views) if v.input_zip_name}
        by_uuid = {v.uuid: i for i, v in enumerate(views)}
        for report_name, report in rejection_reports(s3, errors_bucket):
            reason = report_reason(report)
            job_uuid = str(report.get("uuid") or report.get("UUID") or report.get("job_id") or "")
            zip_name = str(report.get("input_zip_name") or report_name)
            # A report belongs to the row of the upload it names; one naming none, to its key's row.
            index = by_uuid.get(job_uuid) if job_uuid else by_zip.get(zip_name)
            if index is not None:
                if views[index].reason is None and views[index].status == JobStatus.REJECTED.value:
                    views[index] = dataclasses.replace(views[index], reason=reason)
                continue
            if is_superseded(s3, report):
                continue
            views.append(
                JobView(
                    uuid=job_uuid or "-",
                    status=JobStatus.REJECTED.value,
                    input_zip_name=zip_name,
                    reason=reason,
                )
            )
    if statuses is not None:
        wanted = {s.value for s in statuses}
        views = [v for v in views if v.status in wanted]
    return sorted(views, key=lambda v: (v.start_time or "", v.uuid))


def get_row(dynamodb: DynamoDBClient, table: str, job_id: str) -> JobRow:
    """Return the row of job `job_id`, or raise CliError when the table has none."""
    if is_manifest_key(job_id):
        raise CliError(
            f"{job_id} is an array's manifest, not a job",
            "Give a job's UUID (see `shepard query`); each job of an array has its own",
        )
    item = dynamodb.get_item(TableName=table, Key={Attr.UUID: {"S": job_id}}, ConsistentRead=True).get("Item")
    if item is None:
        raise CliError(
            f"job {job_id} is not in table {table}",
            "Check the UUID with `shepard query` (finished jobs leave the table after their TTL)",
        )
    try:
        return JobRow.from_item(item)  # type: ignore[arg-type]
    except ValueError as exc:
        raise CliError(
            f"the item {job_id} of table {table} is not a Shepard job row ({exc})",
            "Check --dynamo-db-to-query or shepard_cli_dynamo_db_to_query: it must be the flock's TableName",
        ) from None


def describe_batch_job(batch: BatchClient, batch_job_id: str) -> dict[str, Any] | None:
    """Return AWS Batch's description of a job, or None when Batch no longer knows it."""
    jobs = batch.describe_jobs(jobs=[batch_job_id]).get("jobs", [])
    return dict(jobs[0]) if jobs else None


def job_status(
    dynamodb: DynamoDBClient, batch: BatchClient, table: str, job_id: str, *, errors_bucket: str | None = None
) -> dict[str, Any]:
    """Return one job's row and AWS Batch state as a JSON-ready dict; a rejected job's names its report."""
    row = get_row(dynamodb, table, job_id)
    result: dict[str, Any] = {"job": JobView.from_row(row).to_json(), "batch": None}
    result["job"] |= {
        "submit_time": row.submit_time,
        "finish_time": row.finish_time,
        "attempt": row.attempt,
        "exit_code": row.exit_code,
    }
    if row.status is JobStatus.REJECTED:
        result["job"]["report"] = report_location(row, errors_bucket)
    if row.batch_job_id:
        described = describe_batch_job(batch, row.batch_job_id)
        if described is not None:
            container = described.get("container", {})
            array_job_id, index = parse_child_job_id(str(described.get("jobId") or row.batch_job_id))
            result["batch"] = {
                "job_id": described.get("jobId"),
                "status": described.get("status"),
                "status_reason": described.get("statusReason"),
                "exit_code": container.get("exitCode"),
                "log_stream": container.get("logStreamName"),
                "array_job_id": array_job_id if index is not None else None,
                "array_index": index,
            }
    return result


def _batch_job_for(  # noqa: PLR0913 - the clients, the job, and where its rejection report is
    dynamodb: DynamoDBClient,
    batch: BatchClient,
    table: str,
    job_id: str,
    *,
    errors_bucket: str | None = None,
    s3: S3Client | None = None,
) -> dict[str, Any]:
    row = get_row(dynamodb, table, job_id)
    if row.status is JobStatus.REJECTED:
        raise CliError(*rejected_job_message(row, errors_bucket, s3))
    if not row.batch_job_id:
        raise CliError(
            f"job {job_id} has no AWS Batch job yet (status {row.status.value})",
            "The scheduler submits it to AWS Batch within seconds of its upload; try again shortly",
        )
    described = describe_batch_job(batch, row.batch_job_id)
    if described is None:
        raise CliError(
            f"AWS Batch no longer knows job {row.batch_job_id}",
            "Batch forgets finished jobs after about a week",
        )
    return described


def log_location(described: dict[str, Any]) -> tuple[str, list[str]]:
    """Return the log group of a Batch job and the stream names its logs may be in, best first."""
    container = described.get("container", {})
    options = container.get("logConfiguration", {}).get("options", {})
    group = str(options.get("awslogs-group", DEFAULT_LOG_GROUP))
    candidates = []
    if container.get("logStreamName"):
        candidates.append(str(container["logStreamName"]))
    definition = str(described.get("jobDefinition", "")).rsplit("/", 1)[-1].split(":")[0]
    if definition:
        task_arn = container.get("taskArn")
        if task_arn:
            candidates.append(f"{definition}/default/{str(task_arn).rsplit('/', 1)[-1]}")
        candidates.append(f"{definition}/default/{described['jobId']}")
    return group, candidates


def _find_stream(logs: CloudWatchLogsClient, group: str, candidates: list[str]) -> str | None:
    for name in candidates:
        try:
            streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name)["logStreams"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        if any(s.get("logStreamName") == name for s in streams):
            return name
    return None


def follow_logs(  # noqa: PLR0913 - the clients, the job and how to follow
    dynamodb: DynamoDBClient,
    batch: BatchClient,
    logs: CloudWatchLogsClient,
    table: str,
    job_id: str,
    *,
    follow: bool = False,
    poll_seconds: float = 2.0,
    emit: Callable[[str], None],
    errors_bucket: str | None = None,
    s3: S3Client | None = None,
) -> None:
    """Send each log line of the job's Batch job to `emit`; with `follow`, keep going until it ends.

    A rejected job has no logs: the CliError says why it was rejected and where its report is.
    """
    described = _batch_job_for(dynamodb, batch, table, job_id, errors_bucket=errors_bucket, s3=s3)
    token: str | None = None
    while True:
        group, candidates = log_location(described)
        stream = _find_stream(logs, group, candidates)
        finished = described.get("status") in BATCH_TERMINAL
        if stream is None and finished:
            raise CliError(
                f"job {job_id} ended (AWS Batch status {described.get('status')}) with no log stream "
                f"{candidates[0] if candidates else ''} in {group}",
                "The job wrote no logs, or CloudWatch Logs has expired them",
            )
        if stream is None and not follow:
            raise CliError(
                f"job {job_id} has no logs yet (AWS Batch status {described.get('status')})",
                "Logs appear once the job runs; use --follow to wait for them",
            )
        while stream is not None:
            kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            for event in page.get("events", []):
                emit(event.get("message", ""))
            if page.get("nextForwardToken") in (None, token):
                break
            token = page.get("nextForwardToken")
        if not follow or finished:
            return
        time.sleep(poll_seconds)
        described = _batch_job_for(dynamodb, batch, table, job_id)


def cancel_job(dynamodb: DynamoDBClient, batch: BatchClient, table: str, job_id: str) -> str:
    """Cancel the job's own Batch job (a child, never its array); return what happened, in one sentence.

    A queued job (SUBMITTED, PENDING, RUNNABLE) is cancelled with CancelJob; one STARTING or RUNNING,
    which CancelJob leaves alone, is terminated with TerminateJob. Siblings in the array keep running.
    """
    row = get_row(dynamodb, table, job_id)
    if row.status in TERMINAL_STATUSES:
        return f"Job {job_id} already ended ({row.status.value}); nothing to cancel."
    described = _batch_job_for(dynamodb, batch, table, job_id)
    state = described.get("status")
    if state in BATCH_TERMINAL:
        return f"Job {job_id} already ended in AWS Batch ({state}); nothing to cancel."
    batch_job_id = str(described["jobId"])
    reason = f"Cancelled with shepard cancel {job_id}"
    if state in BATCH_QUEUED:
        batch.cancel_job(jobId=batch_job_id, reason=reason)
    else:
        batch.terminate_job(jobId=batch_job_id, reason=reason)
    array_job_id, index = parse_child_job_id(batch_job_id)
    child = f", child {index} of array {array_job_id}; its other jobs go on" if index is not None else ""
    return f"Cancelled job {job_id} (AWS Batch job {batch_job_id}{child})."
