"""The run-again job row: whether a job may be run again, and the counted transaction that makes the row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    GROUP_OF,
    TAG,
    Attr,
    GroupMove,
    JobRow,
    JobStatus,
    StatusGroup,
    iso_now,
    list_attributes,
    special_value,
    transact_counted,
    ttl_after_days,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

DAYS_TO_KEEP_UNLAUNCHED: Final = 7
"""How long a run-again row is kept (DynamoDB TTL) should it never launch: the template's default
DaysToKeepFailedLaunchIndexes, which the scheduler's own new rows get; its worker resets it when it ends."""


def refusal(row: JobRow, *, include_complete: bool) -> str | None:
    """Return why job `row` may not be run again, saying what to do instead; None when it may.

    A failed job (cancelled ones included: they end failed, with the cancel as their reason) may be;
    a completed one only with `include_complete`; a rejected one never (its upload would be rejected
    again); one still waiting or running not before it ends.
    """
    group = GROUP_OF[row.status]
    if group is StatusGroup.REJECTED:
        why = f": {row.rejection_reason}" if row.rejection_reason else ""
        return (
            f"job {row.uuid} was rejected and never ran{why}. Running the same upload again would be "
            "rejected again: fix inputs.txt (or the zip) as the reason says and upload the job again"
        )
    if group in {StatusGroup.SUBMITTED, StatusGroup.RUNNING}:
        return (
            f"job {row.uuid} has not ended (status {row.status.value}): cancel it first "
            f"(shepard cancel {row.uuid}), then run it again once it has failed"
        )
    if group is StatusGroup.COMPLETE and not include_complete:
        return f"job {row.uuid} completed; pass --include-complete to run a completed job again"
    if not row.is_invoked and not row.input_zip_name:
        return f"job {row.uuid} names no upload and no request: there is nothing to run again"
    return None


def allowed_statuses(*, include_complete: bool) -> frozenset[JobStatus]:
    """Return the statuses a job may have when it is run again."""
    return frozenset({JobStatus.JOB_FAILED, *([JobStatus.JOB_COMPLETE] if include_complete else [])})


def new_row_item(original: JobRow, new_uuid: str) -> dict[str, Any]:
    """Return the run-again row of `original` (attribute-value form): waiting, same inputs and upload."""
    row = JobRow(
        uuid=new_uuid,
        status=JobStatus.NOT_YET_INITIATED,
        inputs=original.inputs,
        input_zip_name=original.input_zip_name,
        input_zip_version=original.input_zip_version,
        is_invoked=original.is_invoked,
        end_time=ttl_after_days(DAYS_TO_KEEP_UNLAUNCHED),
        run_again_of=original.uuid,
    )
    tag = special_value(original.inputs, TAG)
    return {**row.to_item(), **list_attributes(new_uuid, StatusGroup.SUBMITTED, iso_now(), tag)}


def write_run_again_row(
    dynamodb: DynamoDBClient, table: str, original: JobRow, new_uuid: str, *, include_complete: bool
) -> None:
    """Create the run-again row and add its UUID to the original's SHEPARD_RUN_AGAIN_AS, counted, at once.

    Raises shepard_core.CountedWriteRefusedError: action 0 refused means the row exists already (a
    repeated request); action 1, that the original is gone or no longer in an allowed status.
    """
    wanted = allowed_statuses(include_complete=include_complete)
    statuses: Mapping[str, dict[str, str]] = {
        f":s{i}": {"S": status.value} for i, status in enumerate(sorted(wanted))
    }
    put = {
        "Put": {
            "TableName": table,
            "Item": new_row_item(original, new_uuid),
            "ConditionExpression": "attribute_not_exists(#uuid)",
            "ExpressionAttributeNames": {"#uuid": Attr.UUID},
        }
    }
    update = {
        "Update": {
            "TableName": table,
            "Key": {Attr.UUID: {"S": original.uuid}},
            "UpdateExpression": "ADD #as :new",
            "ConditionExpression": f"attribute_exists(#uuid) AND #status IN ({', '.join(statuses)})",
            "ExpressionAttributeNames": {
                "#uuid": Attr.UUID,
                "#status": Attr.JOB_STATUS,
                "#as": Attr.RUN_AGAIN_AS,
            },
            "ExpressionAttributeValues": {":new": {"SS": [new_uuid]}, **statuses},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    tag = special_value(original.inputs, TAG)
    writer: Any = dynamodb  # boto3's typed signature is narrower than the writer protocol's **kwargs
    transact_counted(writer, table, [put, update], [GroupMove(None, StatusGroup.SUBMITTED, tag)])
