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

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shepard_scheduler._array_submitter import Result


def _pending_refs(
    records: list[SQSRecord], config: SchedulerConfig, tally: Tally, failed: list[str]
) -> list[tuple[SQSRecord, S3ObjectRef, float | None]]:
    """Return each (message, job zip, upload time) to schedule; log what is ignored, fail malformed ones."""
    pending: list[tuple[SQSRecord, S3ObjectRef, float | None]] = []
    for record in records:
        try:
            notices = read_notices(record)
        except MalformedMessageError as exc:
            tally.count_failure()
            failed.append(record.message_id)
            logger.error(
                "message is not an S3 event notification; it goes to the dead-letter queue after its retries",
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


def _report(  # noqa: PLR0913 - the message, its job zip and how scheduling it went
    record: SQSRecord,
    ref: S3ObjectRef,
    uploaded_at: float | None,
    result: Result,
    *,
    tally: Tally,
    failed: list[str],
) -> None:
    """Count and log how one job zip of a message ended; note the message if it must be redelivered."""
    job_id = ref.job_id
    logger.set_correlation_id(job_id)
    try:
        if isinstance(result, Exception):
            tally.count_failure()
            failed.append(record.message_id)
            logger.error(
                "job not scheduled; the message will be redelivered",
                exc_info=result,
                extra={
                    "input_zip_name": ref.key,
                    "receive_count": record.attributes.approximate_receive_count,
                    "message_id": record.message_id,
                },
            )
        else:
            tally.count(result, arrived_at=uploaded_at)
            log_outcome(result, job_id=job_id, input_zip_name=ref.key, message_id=record.message_id)
    finally:
        logger.set_correlation_id(None)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Schedule the job zips an SQS batch of S3 event notifications names, together; report failed messages.

    Every valid job of the batch goes into one array job (a lone job: a plain job). Returns the
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
        pending = _pending_refs(records, config, tally, failed)
        results = scheduler.schedule_s3_objects([ref for _, ref, _ in pending], deadline=deadline)
        for (record, ref, uploaded_at), result in zip(pending, results, strict=True):
            _report(record, ref, uploaded_at, result, tally=tally, failed=failed)
    finally:
        tally.publish(config.project_name)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in dict.fromkeys(failed)]}
