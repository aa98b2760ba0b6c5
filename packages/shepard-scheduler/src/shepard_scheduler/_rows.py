"""Job rows in DynamoDB: counted, conditional creation of one row, and reading attributes of a row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import (
    GROUP_OF,
    TAG,
    Attr,
    CountedWriteGaveUpError,
    CountedWriteRefusedError,
    GroupMove,
    JobRow,
    JobStatus,
    JobUsage,
    StatusGroup,
    iso_now,
    list_attributes,
    special_value,
    transact_counted,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]

LEASE: Final = Attr.SUBMIT_LEASE_UNTIL
"""Epoch milliseconds until which one invocation alone may claim and submit the row's job."""

TABLE_WRITE_ERRORS: Final = (ClientError, BotoCoreError, CountedWriteGaveUpError)
"""What a table write raises when AWS failed it (the job is left for a retry), not our own condition."""


def text_attribute(item: Item, name: str) -> str | None:
    """Return the string (or number, as text) stored under `name`, or None."""
    value: Any = item.get(name)
    if not isinstance(value, dict):
        return None
    found = value.get("S", value.get("N"))
    return None if found is None else str(found)


def row_tag(item: Item) -> str | None:
    """Return the TAG input of a row (the key in any case), or None when it has none."""
    names: Any = item.get(Attr.INPUT_KEYS, {})
    inputs = {name: text_attribute(item, name) or "" for name in names.get("SS", [])}
    return special_value(inputs, TAG)


def row_group(item: Item) -> StatusGroup | None:
    """Return the status group of a row's JOB_STATUS, or None for a status this version does not know."""
    try:
        return GROUP_OF[JobStatus(text_attribute(item, Attr.JOB_STATUS) or "")]
    except ValueError:
        return None


def transact_rows(
    client: DynamoDBClient,
    table_name: str,
    row_actions: Sequence[Mapping[str, Any]],
    moves: Sequence[GroupMove],
    **retry: Any,  # noqa: ANN401 - transact_counted's own retry settings
) -> None:
    """Apply `row_actions` and the counts of `moves` in one transaction (shepard_core.transact_counted)."""
    writer: Any = client  # a boto3 client is a TransactWriter; its typed stub spells the kwargs out
    transact_counted(writer, table_name, row_actions, moves, **retry)


def counted_new_row(item: Item, *, created: str | None = None) -> tuple[Item, GroupMove]:
    """Return a new row with its list attributes (created now by default) and the count its creation moves."""
    job_id = str(item[Attr.UUID]["S"])
    group = row_group(item)
    if group is None:
        raise ValueError(f"row {job_id} has no status a count knows: {item.get(Attr.JOB_STATUS)!r}")
    tag = row_tag(item)
    listed: Any = list_attributes(job_id, group, created or iso_now(), tag)
    return {**item, **listed}, GroupMove(None, group, tag)


class JobRowCreator:
    """The job table, seen from the scheduler: every write is conditional, so retries are safe."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        """Act on `table_name` through `client`."""
        self._client = client
        self._table = table_name

    def create(self, row: JobRow, *, lease_until_ms: int | None = None) -> Item | None:
        """Write `row` unless a row with its UUID exists; return that existing row instead, if any.

        The row is written with its list attributes and counted in its status group, in one
        transaction: a row that already exists is neither written nor counted again.
        """
        fresh: Any = row.to_item()
        if lease_until_ms is not None:
            fresh[LEASE] = {"N": str(lease_until_ms)}
        item, move = counted_new_row(fresh)
        put: Any = {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(#uuid)",
                "ExpressionAttributeNames": {"#uuid": Attr.UUID},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        try:
            transact_rows(self._client, self._table, [put], [move])
        except CountedWriteRefusedError as exc:
            return dict(exc.refused.get(0, {}))
        return None


def _number_attribute(item: Item, name: str) -> float | None:
    """Return the number stored under `name`, or None when there is none (or it is not a number)."""
    text = text_attribute(item, name)
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def ended_usage(item: Item, usage: JobUsage) -> JobUsage:
    """Return the usage a row holds once `usage` is written on it: its parts, else the row's own."""
    vcpus = _number_attribute(item, Attr.VCPUS)
    memory = _number_attribute(item, Attr.MEMORY_MIB)
    started = _number_attribute(item, Attr.RUN_STARTED)
    ended = _number_attribute(item, Attr.RUN_ENDED)
    return JobUsage(
        instance_type=usage.instance_type or text_attribute(item, Attr.INSTANCE_TYPE),
        capacity_type=usage.capacity_type or text_attribute(item, Attr.CAPACITY_TYPE),
        availability_zone=usage.availability_zone or text_attribute(item, Attr.AVAILABILITY_ZONE),
        vcpus=usage.vcpus if usage.vcpus is not None else vcpus,
        memory_mib=usage.memory_mib if usage.memory_mib is not None else _int(memory),
        started_ms=usage.started_ms if usage.started_ms is not None else _int(started),
        ended_ms=usage.ended_ms if usage.ended_ms is not None else _int(ended),
    )


def _int(number: float | None) -> int | None:
    """Return a number as an int, None kept."""
    return None if number is None else int(number)
