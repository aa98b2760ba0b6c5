"""The S3-event scheduler: an SQS-triggered Lambda handler that schedules one job per uploaded zip."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from shepard_scheduler._aws import aws_clients
from shepard_scheduler._config import SchedulerConfig
from shepard_scheduler._core import Scheduler
from shepard_scheduler._notifications import read_notices
from shepard_scheduler._observability import Tally, log_outcome, logger
from shepard_scheduler._outcome import MalformedMessageError, Outcome, OutcomeKind

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _schedule_message(
    record: SQSRecord, scheduler: Scheduler, config: SchedulerConfig, deadline: float, tally: Tally
) -> None:
    receive_count = record.attributes.approximate_receive_count
    for notice in read_notices(record):
        ref = notice.ref
        if notice.skip_reason is not None or ref is None:
            log_outcome(
                Outcome(kind=OutcomeKind.IGNORED, reason=notice.skip_reason), event_name=notice.event_name
            )
            continue
        if ref.bucket != config.inputs_bucket:
            logger.warning(
                "event from a bucket other than the inputs bucket ignored",
                extra={"bucket": ref.bucket, "key": ref.key, "inputs_bucket": config.inputs_bucket},
            )
            continue
        job_id = ref.job_id
        logger.set_correlation_id(job_id)
        try:
            outcome = scheduler.schedule_s3_object(ref, deadline=deadline)
            tally.count(outcome)
            log_outcome(outcome, job_id=job_id, input_zip_name=ref.key, message_id=record.message_id)
        except Exception:
            tally.count_failure()
            logger.exception(
                "job not scheduled; the message will be redelivered",
                extra={
                    "input_zip_name": ref.key,
                    "receive_count": receive_count,
                    "message_id": record.message_id,
                },
            )
            raise
        finally:
            logger.set_correlation_id(None)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Schedule the job zips an SQS batch of S3 event notifications names; report failed messages.

    Returns the partial batch response: only messages that hit an error worth retrying are listed in
    `batchItemFailures`; rejected, duplicate and test events are acknowledged.
    """
    config = SchedulerConfig.from_env(os.environ)
    clients = aws_clients(os.environ)
    scheduler = Scheduler(
        config, s3_client=clients.s3, dynamodb_client=clients.dynamodb, batch_client=clients.batch
    )
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    logger.append_keys(project=config.project_name)
    tally = Tally()
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:
        try:
            _schedule_message(record, scheduler, config, deadline, tally)
        except MalformedMessageError as exc:
            tally.count_failure()
            logger.error(
                "message is not an S3 event notification; it goes to the dead-letter queue after its retries",
                extra={"message_id": record.message_id, "reason": str(exc)},
            )
            raise

    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor)
    finally:
        tally.publish(config.project_name)
