"""Run-again messages on the scheduler's queue: which job row each names, and that row as an admission."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shepard_core import JobRow, RunAgainMessageError, parse_run_again_message

from shepard_scheduler._array_submitter import Admission
from shepard_scheduler._outcome import MalformedMessageError, Outcome, OutcomeKind

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import SQSRecord
    from mypy_boto3_dynamodb import DynamoDBClient


def run_again_job(record: SQSRecord) -> str | None:
    """Return the job UUID a run-again message names, None for any other message (an S3 event).

    Raises MalformedMessageError for a message that says it is a run-again message but is not a valid one.
    """
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError):
        return None
    try:
        return parse_run_again_message(body)
    except RunAgainMessageError as exc:
        raise MalformedMessageError(f"message {record.message_id}: {exc}") from None


def run_again_admission(dynamodb: DynamoDBClient, table: str, job_id: str) -> Admission | Outcome:
    """Return the admission of the run-again row `job_id` as written, or why there is nothing to submit.

    The row was written whole by the run-again request (inputs, upload and its version); a row that is
    gone (expired) is ignored. Whether it may still be claimed is decided as for any existing row.
    """
    found = dynamodb.get_item(TableName=table, Key={"UUID": {"S": job_id}}, ConsistentRead=True).get("Item")
    if found is None:
        reason = "a run-again message names a job row that does not exist"
        return Outcome(kind=OutcomeKind.IGNORED, job_id=job_id, reason=reason)
    row = JobRow.from_item(dict(found))  # type: ignore[arg-type]
    return Admission(
        job_id=job_id,
        inputs=row.inputs,
        input_zip_name=row.input_zip_name,
        input_zip_version=row.input_zip_version,
        is_invoked=row.is_invoked,
    )
