"""Job rows in DynamoDB: conditional creation of one row, and reading attributes of a row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError
from shepard_core import CONDITION_FAILED_ERROR, Attr, JobRow, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]

LEASE: Final = Attr.SUBMIT_LEASE_UNTIL
"""Epoch milliseconds until which one invocation alone may claim and submit the row's job."""


def _condition_failed(exc: ClientError) -> bool:
    return error_code(exc) == CONDITION_FAILED_ERROR


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


class JobRowCreator:
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
