"""What the Lambda service gives a handler, emulated: an invocation context and the SQS event shape."""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REGION: Final = "us-east-1"
"""The region a local or test flock answers for."""
ACCOUNT: Final = "123456789012"
"""The account a local or test flock answers for."""
TIMEOUT_SECONDS: Final = 60.0
"""The invocation timeout a context counts down from unless told otherwise."""


@dataclasses.dataclass
class LambdaContext:
    """The attributes and method of Lambda's context that handlers and Powertools read.

    The remaining time counts down from `timeout_seconds`, unless `remaining_ms` pins it.
    """

    function_name: str = "shepard-scheduler"
    region: str = REGION
    account: str = ACCOUNT
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    timeout_seconds: float = TIMEOUT_SECONDS
    remaining_ms: int | None = None
    aws_request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = dataclasses.field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN."""
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """The function's log group."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """This invocation's log stream."""
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the invocation's timeout."""
        if self.remaining_ms is not None:
            return self.remaining_ms
        left = self._started + self.timeout_seconds - time.monotonic()
        return max(0, int(left * 1000))


def sqs_event_from_messages(
    messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str | None = None
) -> dict[str, Any]:
    """Return the event an SQS event source mapping hands its function for ReceiveMessage's `messages`."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": dict(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region or queue_arn.split(":")[3],
            }
            for message in messages
        ]
    }


def failed_message_ids(response: object, batch: list[dict[str, Any]]) -> set[str]:
    """Return the ids of the messages a partial-batch response reports failed (all, if it is malformed)."""
    every = {message["MessageId"] for message in batch}
    if not isinstance(response, dict):
        return every
    failures = response.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return every
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in every:
            # Lambda treats an unknown or empty identifier as a failure of the whole batch.
            return every
        failed.add(identifier)
    return failed
