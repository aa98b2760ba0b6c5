"""Feed the queue's messages to the scheduler handler in batches, as an SQS event source mapping does.

Like the mapping, the poller gathers up to `batch_size` messages (ReceiveMessage takes 10 at a time)
for at most `window_seconds` after the first one arrives, then invokes the handler once with them all.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_flock import LambdaContext, failed_message_ids, sqs_event_from_messages

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sqs import SQSClient

BATCH_SIZE: Final = 10
"""Messages per ReceiveMessage (SQS's maximum), and the batch size without a mapping to follow."""
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
        batch_size: int = BATCH_SIZE,
        window_seconds: float = 0,
    ) -> None:
        """Poll `queue_url` for `handler` once started: batches of `batch_size`, gathered `window_seconds`."""
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function_name = function_name
        self._handler = handler
        self._region = region
        self.batch_size = max(1, batch_size)
        self.window_seconds = max(0.0, window_seconds)
        self._stop = threading.Event()
        self.invocations = 0
        self.messages_deleted = 0
        """Messages done (handled and deleted), S3 test events left out."""
        self.messages_failed = 0
        self.test_events = 0
        """S3's `s3:TestEvent` messages, sent once when the bucket's notification is set up."""

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
        """Gather one batch and hand it to the handler; return how many messages it held."""
        messages = self._receive(WAIT_SECONDS)
        if not messages:
            return 0
        closes = time.monotonic() + self.window_seconds
        while len(messages) < self.batch_size and not self._stop.is_set():
            left = closes - time.monotonic()
            if left <= 0:
                break
            more = self._receive(min(WAIT_SECONDS, int(left)), self.batch_size - len(messages))
            if not more and left < WAIT_SECONDS:
                self._stop.wait(min(left, 0.1))
            messages.extend(more)
        event = sqs_event_from_messages(messages, queue_arn=self._queue_arn, region=self._region)
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
        tests = sum(is_s3_test_event(message) for message in done)
        self.test_events += tests
        self.messages_deleted += len(done) - tests
        self.messages_failed += len(failed)
        if failed:
            log.warning("%d of %d messages failed; SQS will redeliver them", len(failed), len(messages))
        return len(messages)

    def _receive(self, wait_seconds: int, wanted: int = BATCH_SIZE) -> list[dict[str, Any]]:
        received = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max(1, min(BATCH_SIZE, wanted)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(received.get("Messages", []))  # type: ignore[arg-type]


def is_s3_test_event(message: dict[str, Any]) -> bool:
    """Return whether an SQS message is the `s3:TestEvent` S3 sends when a notification is configured."""
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("Event") == "s3:TestEvent"
