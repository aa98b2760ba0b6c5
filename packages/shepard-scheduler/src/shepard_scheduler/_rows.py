"""Job rows in DynamoDB: conditional creation, the submit lease, and recording the Batch job id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import Attr, JobRow, JobStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]

LEASE: Final = Attr.SUBMIT_LEASE_UNTIL
"""Epoch milliseconds until which one invocation alone may submit the row's Batch job."""

_CONDITION_FAILED: Final = "ConditionalCheckFailedException"


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED


def _old_item(exc: ClientError) -> Item:
    item: Any = exc.response.get("Item", {})
    return dict(item)


def text_attribute(item: Item, name: str) -> str | None:
    """Return the string (or number, as text) stored under `name`, or None."""
    value: Any = item.get(name)
    if not isinstance(value, dict):
        return None
    found = value.get("S", value.get("N"))
    return None if found is None else str(found)


class JobTable:
    """The job table, seen from the scheduler: every write is conditional, so retries are safe."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        """Act on `table_name` through `client`."""
        self._client = client
        self._table = table_name

    def create(self, row: JobRow, *, lease_until_ms: int | None = None) -> Item | None:
        """Write `row` unless a row with its UUID exists; return that existing row instead, if any."""
        item: dict[str, Any] = dict(row.to_item())
        if lease_until_ms is not None:
            item[LEASE] = {"N": str(lease_until_ms)}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(#uuid)",
                ExpressionAttributeNames={"#uuid": Attr.UUID},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return _old_item(exc)
            raise
        return None

    def take_over(self, job_id: str, *, lease_until_ms: int, now_ms: int) -> Item | None:
        """Take the submit lease of a row that has no Batch job id and no live lease.

        Returns None when the lease is ours, else the row as it stands (with a Batch job id, or a live
        lease held by another invocation).
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key={Attr.UUID: {"S": job_id}},
                UpdateExpression="SET #lease = :mine",
                ConditionExpression=(
                    "attribute_exists(#uuid) AND attribute_not_exists(#batch) "
                    "AND (attribute_not_exists(#lease) OR #lease < :now)"
                ),
                ExpressionAttributeNames={"#uuid": Attr.UUID, "#batch": Attr.BATCH_JOB_ID, "#lease": LEASE},
                ExpressionAttributeValues={":mine": {"N": str(lease_until_ms)}, ":now": {"N": str(now_ms)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return _old_item(exc)
            raise
        return None

    def release(self, job_id: str, *, lease_until_ms: int) -> None:
        """Give up our submit lease so a redelivery may proceed at once; best effort, never raises."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={Attr.UUID: {"S": job_id}},
                UpdateExpression="REMOVE #lease",
                ConditionExpression="#lease = :mine",
                ExpressionAttributeNames={"#lease": LEASE},
                ExpressionAttributeValues={":mine": {"N": str(lease_until_ms)}},
            )
        except (ClientError, BotoCoreError):
            # The lease expires by itself at the invocation's deadline.
            return

    def record_submission(self, job_id: str, *, batch_job_id: str, submit_time: str) -> str | None:
        """Record the Batch job id on the row (status `submitted` unless the job already moved on).

        Returns None when recorded, or the Batch job id another invocation recorded first.
        """
        names = {"#batch": Attr.BATCH_JOB_ID, "#submit": Attr.SUBMIT_TIME, "#lease": LEASE}
        values: dict[str, Any] = {":batch": {"S": batch_job_id}, ":submit": {"S": submit_time}}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={Attr.UUID: {"S": job_id}},
                UpdateExpression="SET #batch = :batch, #submit = :submit, #status = :submitted REMOVE #lease",
                ConditionExpression="attribute_not_exists(#batch) AND #status = :waiting",
                ExpressionAttributeNames={**names, "#status": Attr.JOB_STATUS},
                ExpressionAttributeValues={
                    **values,
                    ":submitted": {"S": JobStatus.SUBMITTED.value},
                    ":waiting": {"S": JobStatus.NOT_YET_INITIATED.value},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            recorded = text_attribute(_old_item(exc), Attr.BATCH_JOB_ID)
            if recorded is not None:
                return recorded
        else:
            return None
        # The worker already moved the status on: record the id and leave its status alone.
        try:
            self._client.update_item(
                TableName=self._table,
                Key={Attr.UUID: {"S": job_id}},
                UpdateExpression="SET #batch = :batch, #submit = :submit REMOVE #lease",
                ConditionExpression="attribute_not_exists(#batch)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            return text_attribute(_old_item(exc), Attr.BATCH_JOB_ID)
        return None
