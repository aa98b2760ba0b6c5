"""The S3-event scheduler: an SQS-triggered Lambda handler that schedules a batch of uploaded zips at once."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import SQSRecord

from shepard_scheduler._aws import aws_clients
from shepard_scheduler._config import SchedulerConfig
from shepard_scheduler._core import S3ObjectRef, Scheduler
from shepard_scheduler._notifications import read_notices
from shepard_scheduler._observability import Tally, log_outcome, logger
from shepard_scheduler._outcome import MalformedMessageError, Outcome, OutcomeKind
from shepard_scheduler._run_again import run_again_job

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shepard_scheduler._array_submitter import Result


def _pending_refs(
    records: list[SQSRecord],
    config: SchedulerConfig,
    tally: Tally,
    failed: list[str],
    run_again: list[tuple[SQSRecord, str]],
) -> list[tuple[SQSRecord, S3ObjectRef, float | None]]:
    """Return each (message, job zip, upload time) to schedule; log what is ignored, fail malformed ones.

    Each run-again message's (message, job UUID) goes to `run_again` instead.
    """
    pending: list[tuple[SQSRecord, S3ObjectRef, float | None]] = []
    for record in records:
        try:
            job_id = run_again_job(record)
            if job_id is not None:
                run_again.append((record, job_id))
                continue
            notices = read_notices(record)
        except MalformedMessageError as exc:
            tally.count_failure()
            failed.append(record.message_id)
            logger.error(
                "message is not an S3 event notification or a run-again message; "
                "it goes to the dead-letter queue after its retries",
                extra={"message_id": record.message_id, "reason": str(exc)},
            )
            continue
        for notice in notices:
            ref = notice.ref
            if notice.skip_reason is not None or ref is None:
                log_outcome(
                    Outcome(kind=OutcomeKind.IGNORED, reason=notice.skip_reason), event_name=notice.event_name
                )
            elif ref.bucket != config.inputs_bucket:
                logger.warning(
                    "event from a bucket other than the inputs bucket ignored",
                    extra={"bucket": ref.bucket, "key": ref.key, "inputs_bucket": config.inputs_bucket},
                )
            else:
                pending.append((record, ref, notice.event_time))
    return pending


def _report(  # noqa: PLR0913 - the message, its job and how scheduling it went
    record: SQSRecord,
    job_id: str,
    input_zip_name: str | None,
    uploaded_at: float | None,
    result: Result,
    *,
    tally: Tally,
    failed: list[str],
) -> None:
    """Count and log how one job of a message ended; note the message if it must be redelivered."""
    logger.set_correlation_id(job_id)
    try:
        if isinstance(result, Exception):
            tally.count_failure()
            failed.append(record.message_id)
            logger.error(
                "job not scheduled; the message will be redelivered",
                exc_info=result,
                extra={
                    "input_zip_name": input_zip_name,
                    "receive_count": record.attributes.approximate_receive_count,
                    "message_id": record.message_id,
                },
            )
        else:
            tally.count(result, arrived_at=uploaded_at)
            log_outcome(result, job_id=job_id, input_zip_name=input_zip_name, message_id=record.message_id)
    finally:
        logger.set_correlation_id(None)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Schedule the job zips an SQS batch of S3 event notifications names, together; report failed messages.

    A run-again message (shepard_core.run_again_message) names a job row a run-again request wrote: it
    is claimed and submitted like the other jobs. Every valid job of the batch goes into one array job
    (a lone job: a plain job). Returns the
    partial batch response: only messages that hit an error worth retrying (or are malformed) are
    listed in `batchItemFailures`; rejected, duplicate and test events are acknowledged.
    """
    config = SchedulerConfig.from_env(os.environ)
    clients = aws_clients(os.environ)
    scheduler = Scheduler(
        config, s3_client=clients.s3, dynamodb_client=clients.dynamodb, batch_client=clients.batch
    )
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    logger.append_keys(project=config.project_name)
    tally = Tally()
    failed: list[str] = []
    try:
        records = [SQSRecord(raw) for raw in event.get("Records", [])]
        again: list[tuple[SQSRecord, str]] = []
        pending = _pending_refs(records, config, tally, failed, again)
        results = scheduler.schedule_s3_objects(
            [ref for _, ref, _ in pending], deadline=deadline, run_again=[job_id for _, job_id in again]
        )
        for (record, ref, uploaded_at), result in zip(pending, results[: len(pending)], strict=True):
            _report(record, ref.job_id, ref.key, uploaded_at, result, tally=tally, failed=failed)
        for (record, job_id), result in zip(again, results[len(pending) :], strict=True):
            _report(record, job_id, None, None, result, tally=tally, failed=failed)
    finally:
        tally.publish(config.project_name)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in dict.fromkeys(failed)]}
