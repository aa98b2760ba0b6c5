"""Give a job AWS Batch ended without its worker its final status and Batch's reason, never over the worker's.

Batch publishes a "Batch Job State Change" event when a job ends. When the worker recorded the job's end,
the row is final and the event changes nothing. When the worker could not (the job was cancelled before
it started, the worker was killed, ran out of memory, lost its host or timed out on its last attempt),
the reconciler records `job_failed` with Batch's reason, in one conditional write: only while the row is
not final, still names the event's claim and Batch job, and no later attempt holds it. A late or repeated
event, or one from another Batch job running the same claim, leaves the row alone.

The write moves the row's status count too, so it names the exact status it read: the row is read, the
end decided on it, and written in one transaction with the counter update only while the status is still
the one read. When a worker moved the row in between, the end is decided again on the row as it stands.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    LIST_GROUP,
    LIST_TIME,
    TAG,
    Attr,
    CountedWriteRefusedError,
    GroupMove,
    JobStatus,
    StatusGroup,
    format_start_time,
    iso_now,
    list_group_value,
    manifest_location,
    special_value,
)

from shepard_scheduler._batch_events import BatchEnd, NotAnEndError, read_batch_end
from shepard_scheduler._failure_report import failure_reason, put_failure_report
from shepard_scheduler._rows import ended_usage, row_group, row_tag, text_attribute, transact_rows

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from shepard_scheduler._config import ReconcilerConfig
    from shepard_scheduler._rows import Item

_FINAL: Final = (JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED, JobStatus.REJECTED)
DECISIONS: Final = 5
"""How often the end is decided on a fresh reading of the row before the event is left for a retry."""


class RowKeptChangingError(Exception):
    """The row changed between each reading and write of the end: the invocation fails and is retried."""


class ReconcileKind(enum.StrEnum):
    """How one Batch end event was handled."""

    RECORDED = "recorded"
    """The row was not final: it now is `job_failed` with Batch's reason."""
    LEFT_ALONE = "left_alone"
    """The row is final already, or belongs to another Batch job, claim or later attempt."""
    IGNORED = "ignored"
    """The event ends no Shepard job (an array parent, another source, no claim, no row)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reconciliation:
    """What the reconciler did with one event, and why."""

    kind: ReconcileKind
    reason: str
    job_uuid: str | None = None
    batch_job_id: str | None = None
    report_key: str | None = None
    exit_code: int | None = None
    attempt: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the outcome as a JSON-ready dict (what the handler answers)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


class Reconciler:
    """Reconciles job rows with the Batch end events of their jobs, through the clients it is given."""

    def __init__(
        self, config: ReconcilerConfig, *, dynamodb_client: DynamoDBClient, s3_client: S3Client
    ) -> None:
        """Act on the table and errors bucket `config` names."""
        self._config = config
        self._dynamodb = dynamodb_client
        self._s3 = s3_client

    def reconcile(self, event: Mapping[str, Any]) -> Reconciliation:
        """Record the end the event reports on its job's row unless the row is final or not this job's."""
        try:
            end = read_batch_end(event)
        except NotAnEndError as exc:
            return Reconciliation(kind=ReconcileKind.IGNORED, reason=str(exc))
        job_uuid = end.job_uuid or self._manifest_uuid(end)
        if job_uuid is None:
            return Reconciliation(
                kind=ReconcileKind.IGNORED,
                reason=f"no manifest entry for child {end.array_index} of claim {end.claim}: no job to end",
                batch_job_id=end.batch_job_id,
            )
        outcome: dict[str, Any] = {
            "job_uuid": job_uuid,
            "batch_job_id": end.batch_job_id,
            "attempt": end.attempts,
        }
        reason = failure_reason(end)
        old, recorded = self._finish(job_uuid, end, reason)
        if not recorded:
            if text_attribute(old, Attr.BATCH_END) != end.marker:
                return Reconciliation(kind=ReconcileKind.LEFT_ALONE, reason=_why_left(old, end), **outcome)
            # The same event again (a retried invocation): its row is recorded; make sure its report is.
            reason = text_attribute(old, Attr.FAILURE_REASON) or reason
        key = put_failure_report(
            self._s3,
            self._config.errors_bucket,
            job_uuid=job_uuid,
            start_time=text_attribute(old, Attr.START_TIME) or _start_time(end),
            tag=special_value(_inputs(old), TAG),
            reason=_with_last_status(reason, old) if recorded else reason,
            end=end,
        )
        kind = ReconcileKind.RECORDED if recorded else ReconcileKind.LEFT_ALONE
        why = reason if recorded else "a repeated event: the row already holds this end"
        return Reconciliation(kind=kind, reason=why, report_key=key, exit_code=end.exit_code, **outcome)

    def _manifest_uuid(self, end: BatchEnd) -> str | None:
        """Return the UUID of the job an array child ran, from its array's manifest; None if it has none."""
        key, position = manifest_location(end.claim, end.array_index or 0)
        item = self._dynamodb.get_item(
            TableName=self._config.table_name,
            Key={Attr.UUID: {"S": key}},
            ConsistentRead=True,
            ProjectionExpression="#jobs",
            ExpressionAttributeNames={"#jobs": Attr.MANIFEST_JOBS},
        ).get("Item")
        jobs: Any = (item or {}).get(Attr.MANIFEST_JOBS, {}).get("L", [])
        if position >= len(jobs):
            return None
        found = jobs[position].get("S")
        return str(found) if found else None

    def _finish(self, job_uuid: str, end: BatchEnd, reason: str) -> tuple[Item, bool]:
        """Record `job_failed` and `reason` if the row is this end's; return the row as read, and whether."""
        old = self._read_row(job_uuid)
        for _ in range(DECISIONS):
            if not _is_this_end(old, end):
                return old, False
            # A row written before the counters existed (no LIST_TIME) was never counted: nor is its end.
            usage = ended_usage(old, end.usage)
            moves = (
                [GroupMove(row_group(old), StatusGroup.FAILED, row_tag(old), usage)]
                if LIST_TIME in old
                else []
            )
            update = _failed_update(self._config.table_name, job_uuid, old, end, reason)
            try:
                transact_rows(self._dynamodb, self._config.table_name, [update], moves)
            except CountedWriteRefusedError:
                old = self._read_row(job_uuid)
                continue
            return old, True
        raise RowKeptChangingError(
            f"job {job_uuid}'s row changed under each of {DECISIONS} tries to record Batch's end"
        )

    def _read_row(self, job_uuid: str) -> Item:
        """Return the job's row as it stands (a consistent read), or {} when it has none."""
        item: Any = self._dynamodb.get_item(
            TableName=self._config.table_name, Key={Attr.UUID: {"S": job_uuid}}, ConsistentRead=True
        ).get("Item", {})
        return dict(item)


def _is_this_end(old: Item, end: BatchEnd) -> bool:
    """Return whether the row may take this end: it exists, is not final, and is the event's job."""
    if not old or text_attribute(old, Attr.JOB_STATUS) in _FINAL:
        return False
    batch = text_attribute(old, Attr.BATCH_JOB_ID)
    attempt = text_attribute(old, Attr.ATTEMPT)
    return (
        text_attribute(old, Attr.ARRAY_CLAIM) == end.claim
        and batch in {None, end.batch_job_id}
        and (attempt is None or int(float(attempt)) <= end.attempts)
    )


def _failed_update(table: str, job_uuid: str, old: Item, end: BatchEnd, reason: str) -> dict[str, Any]:
    """Return the transaction's Update that records `job_failed`, only while the row is as `old` read."""
    names = {
        "#uuid": Attr.UUID,
        "#status": Attr.JOB_STATUS,
        "#claim": Attr.ARRAY_CLAIM,
        "#batch": Attr.BATCH_JOB_ID,
        "#attempt": Attr.ATTEMPT,
        "#end": Attr.END_TIME,
        "#finish": Attr.FINISH_TIME,
        "#start": Attr.START_TIME,
        "#reason": Attr.FAILURE_REASON,
        "#marker": Attr.BATCH_END,
        "#exit": Attr.EXIT_CODE,
        "#group": LIST_GROUP,
    }
    values: dict[str, Any] = {
        ":old": {"S": text_attribute(old, Attr.JOB_STATUS)},
        ":failed": {"S": JobStatus.JOB_FAILED.value},
        ":complete": {"S": JobStatus.JOB_COMPLETE.value},
        ":rejected": {"S": JobStatus.REJECTED.value},
        ":claim": {"S": end.claim},
        ":batch": {"S": end.batch_job_id},
        ":attempts": {"N": str(end.attempts)},
        ":now": {"N": str(int(datetime.now(UTC).timestamp()))},
        ":finish": {"S": iso_now()},
        ":start": {"S": _start_time(end)},
        ":reason": {"S": reason},
        ":marker": {"S": end.marker},
        ":group": {"S": list_group_value(StatusGroup.FAILED, job_uuid)},
    }
    update = (
        "SET #status = :failed, #end = :now, #finish = :finish, #reason = :reason, #marker = :marker, "
        "#start = if_not_exists(#start, :start), #batch = if_not_exists(#batch, :batch), #group = :group"
    )
    # What pricing needs that Batch knows: the job's size and its last attempt's run times.
    clauses, usage_names, usage_values = end.usage.update_parts()
    update += "".join(f", {clause}" for clause in clauses)
    names |= usage_names
    values |= usage_values
    if end.exit_code is None:
        update += " REMOVE #exit"
    else:
        update += ", #exit = :exit"
        values[":exit"] = {"N": str(end.exit_code)}
    condition = (
        "attribute_exists(#uuid) AND #status = :old AND #claim = :claim "
        "AND NOT #status IN (:complete, :failed, :rejected) "
        "AND (attribute_not_exists(#batch) OR #batch = :batch) "
        "AND (attribute_not_exists(#attempt) OR #attempt <= :attempts)"
    )
    return {
        "Update": {
            "TableName": table,
            "Key": {Attr.UUID: {"S": job_uuid}},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _start_time(end: BatchEnd) -> str:
    """Return the START_TIME a row without one gets: the last attempt's start, else the job's end."""
    return format_start_time(end.started_at or end.ended_at)


def _inputs(item: Item) -> dict[str, str]:
    """Return the row's string attributes (its inputs among them), for reading TAG in any case."""
    return {name: str(value["S"]) for name, value in item.items() if isinstance(value, dict) and "S" in value}


def _with_last_status(reason: str, old: Item) -> str:
    """Return `reason` with the status the worker last recorded, when it had started the job."""
    status = text_attribute(old, Attr.JOB_STATUS)
    if status in {None, JobStatus.NOT_YET_INITIATED.value, JobStatus.SUBMITTED.value}:
        return reason
    return f"{reason}; the worker had last recorded {status!r}"


def _why_left(old: Item, end: BatchEnd) -> str:
    """Return why the row was not this event's to end, from the row as it stands."""
    if not old:
        return "the job has no row (expired or never written)"
    status = text_attribute(old, Attr.JOB_STATUS)
    if status in _FINAL:
        return f"the row is final already ({status})"
    claim = text_attribute(old, Attr.ARRAY_CLAIM)
    if claim != end.claim:
        return f"the row belongs to claim {claim}, not {end.claim}"
    batch = text_attribute(old, Attr.BATCH_JOB_ID)
    if batch is not None and batch != end.batch_job_id:
        return f"the row is run by Batch job {batch}, not {end.batch_job_id}"
    held = text_attribute(old, Attr.ATTEMPT)
    return f"a later attempt ({held}) holds the row; this event names attempt {end.attempts}"
