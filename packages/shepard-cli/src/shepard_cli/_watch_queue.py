"""Uploads waiting for the scheduler: the depth of the flock's upload queue and the age of its oldest message.

`watch` counts job rows, and an upload has no row until the scheduler takes it; these figures show the
uploads still in the queue. Depth comes from SQS (messages waiting, and those being scheduled now); the
oldest message's age from CloudWatch's ApproximateAgeOfOldestMessage (published once a minute, so it
lags; unknown where CloudWatch has no datapoint). Nothing is received from the queue, so the scheduler
is never disturbed.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sqs import SQSClient

QUEUE_OUTPUT: Final = "SchedulerQueueUrl"
"""The stack output naming the queue of upload events."""
AGE_LOOKBACK: Final = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Backlog:
    """The uploads in the scheduler's queue: waiting, being scheduled, and the oldest one's age."""

    queue_url: str
    waiting: int
    in_flight: int
    oldest_age_seconds: float | None = None

    @property
    def total(self) -> int:
        """Return the uploads the scheduler has not yet made jobs of."""
        return self.waiting + self.in_flight

    def to_json(self) -> dict[str, Any]:
        """Return the backlog as a JSON-ready dict."""
        return {**dataclasses.asdict(self), "total": self.total}


def scheduler_queue_url(cloudformation: CloudFormationClient, stack: str) -> str | None:
    """Return the stack's upload queue URL (its SchedulerQueueUrl output), or None when it has none."""
    stacks = cloudformation.describe_stacks(StackName=stack).get("Stacks", [])
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == QUEUE_OUTPUT and output.get("OutputValue"):
            return str(output["OutputValue"])
    return None


def _oldest_age(cloudwatch: CloudWatchClient, queue_name: str, now: datetime) -> float | None:
    """Return the latest ApproximateAgeOfOldestMessage of the queue within AGE_LOOKBACK, or None."""
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - AGE_LOOKBACK,
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )
    points = sorted(answer.get("Datapoints", []), key=lambda point: point["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None


def read_backlog(
    sqs: SQSClient, cloudwatch: CloudWatchClient | None, queue_url: str, now: datetime
) -> Backlog:
    """Return the queue's backlog: its depth from SQS and, when CloudWatch is given, its oldest age."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    ).get("Attributes", {})
    age = None
    if cloudwatch is not None:
        import botocore.exceptions

        try:
            age = _oldest_age(cloudwatch, queue_url.rstrip("/").rsplit("/", 1)[-1], now)
        except botocore.exceptions.ClientError:  # without CloudWatch access the depth is still shown
            age = None
    return Backlog(
        queue_url=queue_url,
        waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        oldest_age_seconds=age,
    )
