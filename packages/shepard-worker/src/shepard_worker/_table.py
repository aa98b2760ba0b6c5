"""The job's row in DynamoDB: claimed, moved through its statuses and finished, always conditionally.

Every write names the exact status the row had (as read before the claim, then as this attempt last
wrote it), so a move to another status group moves the status counters exactly, in the same
transaction (shepard_core.transact_counted); a move within a group is a plain conditional UpdateItem.
A row written before the counters existed (it has no LIST_TIME) was never counted: its moves count nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError
from shepard_core import (
    CONDITION_FAILED_ERROR,
    GROUP_OF,
    LIST_GROUP,
    LIST_TIME,
    TAG,
    Attr,
    CountedWriteRefusedError,
    GroupMove,
    JobRow,
    JobStatus,
    JobUsage,
    error_code,
    format_start_time,
    iso_now,
    list_group_value,
    special_value,
    transact_counted,
)

from shepard_worker._errors import (
    AlreadyCompleteError,
    ClaimRefusedError,
    FencedOutError,
    JobNotFoundError,
    LostOwnershipError,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

UNCLAIMABLE: Final = frozenset({JobStatus.JOB_COMPLETE, JobStatus.REJECTED})
"""Statuses no attempt may claim: the job is done or was never valid."""

CLAIM_TRIES: Final = 4
"""How often a claim is tried when the row's status moved between the reading and the write."""


class _RefusedError(Exception):
    """The row's condition was false: nothing was written and no count moved."""


def _is_conditional_failure(exc: ClientError) -> bool:
    return error_code(exc) == CONDITION_FAILED_ERROR


class AttemptRow:
    """One job's row, updated only while this attempt owns it (its SHEPARD_ATTEMPT is ours)."""

    def __init__(  # noqa: PLR0913 - the row's key, this attempt and what fences it
        self,
        client: DynamoDBClient,
        table_name: str,
        job_uuid: str,
        attempt: int,
        *,
        claim_token: str | None = None,
        batch_job_id: str | None = None,
    ) -> None:
        """Bind the table, the job, this worker's attempt number, its array's claim token and Batch job id.

        With a `claim_token` the row is claimed only while it names that token (the fence that keeps a
        job claimed by two arrays from running twice); the claim records `batch_job_id` on the row.
        """
        self._client = client
        self._table = table_name
        self._uuid = job_uuid
        self._attempt = attempt
        self._token = claim_token
        self._batch_job_id = batch_job_id
        self._status: JobStatus | None = None
        self._tag: str | None = None
        self._counted = True

    def read(self) -> JobRow:
        """Return the job's row, or raise JobNotFoundError (FencedOutError with a claim token)."""
        response = self._client.get_item(
            TableName=self._table, Key={Attr.UUID: {"S": self._uuid}}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item and self._token is not None:
            raise FencedOutError(
                f"job {self._uuid} has no row in table {self._table} (expired, or never recorded): "
                f"nothing for claim {self._token} to run"
            )
        if not item:
            raise JobNotFoundError(
                f"job {self._uuid} has no row in table {self._table}: "
                "it was never scheduled, or its row has already expired"
            )
        self._counted = LIST_TIME in item
        return JobRow.from_item(cast("dict[str, dict[str, object]]", item))

    def claim(self, row: JobRow, start_time: str | None = None) -> JobRow:
        """Move the row to in_progress for this attempt and return it; a later attempt takes it over.

        The update succeeds only while the row exists, is neither complete nor rejected, names this
        worker's claim token (when it has one) and no equal or later attempt holds it, so two workers
        can never both own one job, nor two arrays both run it. A row an attempt holds is taken over
        only by a later attempt of the same Batch job (the row records which Batch job holds it): a
        duplicate Batch job carrying the same claim token never runs the job beside its holder. The
        update also names the status `row` has, so the count it moves is exact; when that status moved
        meanwhile (and the row is still this attempt's to claim) it is read and claimed again.
        """
        start = start_time or format_start_time()
        for _ in range(CLAIM_TRIES):
            self._check_claimable(row)
            try:
                self._write_claim(row, start)
            except _RefusedError:
                current = self._reread_refused()
                if current is not None and self._claimable(current):
                    row = current
                    continue
                break
            self._status = JobStatus.IN_PROGRESS
            self._tag = special_value(row.inputs, TAG)
            return self.read()
        raise ClaimRefusedError(
            f"job {self._uuid} was claimed by another worker (or finished) while attempt "
            f"{self._attempt} was claiming it"
        )

    def _check_claimable(self, row: JobRow) -> None:
        """Raise the error that refuses this attempt the row as read; log a takeover."""
        self._check_fence(row)
        self._check_holder(row)
        if row.status is JobStatus.JOB_COMPLETE:
            raise AlreadyCompleteError(f"job {self._uuid} is already complete; nothing to run")
        if row.status in UNCLAIMABLE:
            raise ClaimRefusedError(f"job {self._uuid} is already {row.status.value}; nothing to run")
        if row.attempt is not None and row.attempt >= self._attempt:
            raise ClaimRefusedError(
                f"job {self._uuid} is held by attempt {row.attempt} (status {row.status.value}); "
                f"this is attempt {self._attempt}"
            )
        if row.attempt is not None:
            log.warning(
                "attempt %d takes job %s over from attempt %d (status %s)",
                self._attempt,
                self._uuid,
                row.attempt,
                row.status.value,
            )

    def _claimable(self, row: JobRow) -> bool:
        """Return whether this attempt may still claim the row as it stands now."""
        return row.status not in UNCLAIMABLE and (row.attempt is None or row.attempt < self._attempt)

    def _reread_refused(self) -> JobRow | None:
        """Return the row after a refused claim (raising FencedOutError as a read does), None if gone."""
        try:
            current = self.read()
        except JobNotFoundError:
            return None
        self._check_fence(current)
        self._check_holder(current)
        return current

    def _write_claim(self, row: JobRow, start: str) -> None:
        """Claim the row in one conditional write that names its status; raise _RefusedError if refused."""
        update = "SET #status = :in_progress, #start = :start, #attempt = :attempt, #group = :group"
        condition = (
            "attribute_exists(#uuid) AND #status = :old AND #status <> :complete AND #status <> :rejected "
            "AND (attribute_not_exists(#attempt) OR #attempt < :attempt)"
        )
        names = {
            "#uuid": Attr.UUID,
            "#status": Attr.JOB_STATUS,
            "#start": Attr.START_TIME,
            "#attempt": Attr.ATTEMPT,
            "#exit": Attr.EXIT_CODE,
            "#finish": Attr.FINISH_TIME,
            "#reason": Attr.FAILURE_REASON,
            "#group": LIST_GROUP,
        }
        values: dict[str, Any] = {
            ":old": {"S": row.status.value},
            ":in_progress": {"S": JobStatus.IN_PROGRESS.value},
            ":complete": {"S": JobStatus.JOB_COMPLETE.value},
            ":rejected": {"S": JobStatus.REJECTED.value},
            ":start": {"S": start},
            ":attempt": {"N": str(self._attempt)},
            ":group": {"S": list_group_value(GROUP_OF[JobStatus.IN_PROGRESS], self._uuid)},
        }
        if self._token is not None:
            condition += " AND #claim = :claim"
            names["#claim"] = Attr.ARRAY_CLAIM
            values[":claim"] = {"S": self._token}
        if self._batch_job_id is not None:
            update += ", #batch = :batch"
            names["#batch"] = Attr.BATCH_JOB_ID
            values[":batch"] = {"S": self._batch_job_id}
            condition += (
                " AND (attribute_not_exists(#attempt) OR attribute_not_exists(#batch) OR #batch = :batch)"
            )
        move = GroupMove(
            GROUP_OF[row.status], GROUP_OF[JobStatus.IN_PROGRESS], special_value(row.inputs, TAG)
        )
        self._write(
            {
                "UpdateExpression": f"{update} REMOVE #exit, #finish, #reason",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            },
            move,
        )

    def _write(self, update: dict[str, Any], move: GroupMove) -> None:
        """Apply one conditional update of the row, with the count `move` makes; raise _RefusedError."""
        action = {"TableName": self._table, "Key": {Attr.UUID: {"S": self._uuid}}, **update}
        if move.moves and self._counted:
            try:
                writer: Any = self._client  # a boto3 client is a TransactWriter; its stub spells kwargs out
                transact_counted(writer, self._table, [{"Update": action}], [move])
            except CountedWriteRefusedError:
                raise _RefusedError from None
            return
        try:
            self._client.update_item(**action)
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise _RefusedError from None
            raise

    def _check_fence(self, row: JobRow) -> None:
        """Raise FencedOutError when this worker has a claim token and the row names another (or none)."""
        if self._token is None or row.array_claim == self._token:
            return
        owner = f"claim {row.array_claim}" if row.array_claim else "no claim"
        raise FencedOutError(
            f"job {self._uuid} belongs to {owner}, not to this worker's claim {self._token} "
            f"(Batch job {self._batch_job_id or 'unknown'}): another array runs it; leaving its row alone"
        )

    def _check_holder(self, row: JobRow) -> None:
        """Raise FencedOutError if an attempt of another Batch job holds the row: a duplicate submission."""
        holder = row.batch_job_id
        if (
            row.attempt is None
            or self._batch_job_id is None
            or holder is None
            or holder == self._batch_job_id
        ):
            return
        raise FencedOutError(
            f"job {self._uuid} is held by attempt {row.attempt} of Batch job {holder}; this worker is "
            f"attempt {self._attempt} of Batch job {self._batch_job_id}, a duplicate submission of the "
            "same claim: leaving its row alone"
        )

    def set_status(self, status: JobStatus) -> None:
        """Set JOB_STATUS while this attempt owns the row, or raise LostOwnershipError."""
        self._owned_update(status, "SET #status = :status", {}, {})
        log.info("job %s: %s", self._uuid, status.value)

    def finish(
        self,
        status: JobStatus,
        exit_code: int,
        now: datetime | None = None,
        *,
        reason: str | None = None,
        usage: JobUsage | None = None,
    ) -> None:
        """Set the final status, END_TIME = now (so the row's TTL removes it), finish time and exit code.

        A failed job's `reason` (its first 1,000 characters) is recorded too, and what `usage` knows of
        the resources the job held (for pricing).
        """
        moment = datetime.now(UTC) if now is None else now
        expression = "SET #status = :status, #end = :end, #finish = :finish, #exit = :exit"
        values: dict[str, Any] = {
            ":end": {"N": str(int(moment.timestamp()))},
            ":finish": {"S": iso_now()},
            ":exit": {"N": str(exit_code)},
        }
        names = {"#end": Attr.END_TIME, "#finish": Attr.FINISH_TIME, "#exit": Attr.EXIT_CODE}
        if reason:
            expression += ", #reason = :reason"
            values[":reason"] = {"S": reason[:1000]}
            names["#reason"] = Attr.FAILURE_REASON
        if usage is not None:
            clauses, usage_names, usage_values = usage.update_parts()
            expression += "".join(f", {clause}" for clause in clauses)
            names |= usage_names
            values |= usage_values
        self._owned_update(status, expression, values, names, usage)
        log.info("job %s: %s (exit code %d)", self._uuid, status.value, exit_code)

    def _owned_update(
        self,
        status: JobStatus,
        expression: str,
        values: dict[str, Any],
        names: dict[str, str],
        usage: JobUsage | None = None,
    ) -> None:
        """Move the row to `status` from the one this attempt last wrote, while this attempt holds it.

        The move to an end status counts `usage` (its run time) in the same transaction.
        """
        old = self._status
        if old is None:
            # Not claimed through this object: the row as it stands is where the move starts.
            row = self.read()
            old, self._tag = row.status, special_value(row.inputs, TAG)
        move = GroupMove(GROUP_OF[old], GROUP_OF[status], self._tag, usage)
        if move.moves:
            expression += ", #group = :group"
            names = {**names, "#group": LIST_GROUP}
            values = {**values, ":group": {"S": list_group_value(move.after, self._uuid)}}
        try:
            self._write(
                {
                    "UpdateExpression": expression,
                    "ConditionExpression": (
                        "attribute_exists(#uuid) AND #attempt = :attempt AND #status = :old"
                    ),
                    "ExpressionAttributeNames": {
                        "#uuid": Attr.UUID,
                        "#status": Attr.JOB_STATUS,
                        "#attempt": Attr.ATTEMPT,
                        **names,
                    },
                    "ExpressionAttributeValues": {
                        ":attempt": {"N": str(self._attempt)},
                        ":old": {"S": old.value},
                        ":status": {"S": status.value},
                        **values,
                    },
                },
                move,
            )
        except _RefusedError:
            raise LostOwnershipError(
                f"job {self._uuid} is no longer held by attempt {self._attempt}: "
                "a later attempt took it over, or its row expired"
            ) from None
        self._status = status
