"""Feed the queue's messages to the scheduler handler in batches, as an SQS event source mapping does."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Final

from shepard_local._lambda import LambdaContext, failed_message_ids, sqs_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

BATCH_SIZE: Final = 10
WAIT_SECONDS: Final = 1

log = logging.getLogger(__name__)


class QueuePoller:
    """Receive batches from the queue, invoke the handler, delete only the messages it did not fail."""

    def __init__(  # noqa: PLR0913 - the mapping's settings, all keyword-only
        self,
        sqs: SQSClient,
        *,
        queue_url: str,
        queue_arn: str,
        function_name: str,
        handler: Callable[[dict[str, Any], Any], Any],
        region: str,
    ) -> None:
        """Poll `queue_url` for `handler` once started."""
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function_name = function_name
        self._handler = handler
        self._region = region
        self._stop = threading.Event()
        self.invocations = 0
        self.messages_deleted = 0
        self.messages_failed = 0

    def stop(self) -> None:
        """Ask every polling loop to end after its current batch."""
        self._stop.set()

    def run(self) -> None:
        """Poll until stopped."""
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("polling %s failed; retrying", self._queue_url)
                self._stop.wait(1)

    def poll_once(self) -> int:
        """Receive one batch and hand it to the handler; return how many messages it held."""
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = list(received.get("Messages", []))  # type: ignore[arg-type]
        if not messages:
            return 0
        event = sqs_event(messages, self._queue_arn, self._region)
        self.invocations += 1
        try:
            response = self._handler(event, LambdaContext(self._function_name, region=self._region))
        except Exception:
            log.exception("the scheduler raised; its %d messages return to the queue", len(messages))
            response = None
        failed = failed_message_ids(response, messages)
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), BATCH_SIZE):
            chunk = done[start : start + BATCH_SIZE]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.messages_deleted += len(done)
        self.messages_failed += len(failed)
        if failed:
            log.warning("%d of %d messages failed; SQS will redeliver them", len(failed), len(messages))
        return len(messages)
