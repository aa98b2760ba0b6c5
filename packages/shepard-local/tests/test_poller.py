"""The queue poller: batches of the SQS event source mapping and what it deletes."""

from __future__ import annotations

from typing import Any

from shepard_local._poller import BATCH_SIZE, QueuePoller

MESSAGES = [
    {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "Attributes": {"ApproximateReceiveCount": "1"}},
    {"MessageId": "m2", "ReceiptHandle": "r2", "Body": "{}"},
]


class FakeSqs:
    """An SQS client that hands out its messages up to MaxNumberOfMessages at a time and records deletes."""

    def __init__(self, count: int) -> None:
        self.messages = [{"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": "{}"} for n in range(count)]
        self.deleted: list[list[str]] = []

    def receive_message(self, **request: Any) -> dict[str, Any]:
        batch = self.messages[: request["MaxNumberOfMessages"]]
        self.messages = self.messages[len(batch) :]
        return {"Messages": batch}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> None:  # noqa: N803
        self.deleted.append([entry["ReceiptHandle"] for entry in Entries])


def poller(sqs: FakeSqs, handler: Any) -> QueuePoller:
    """Return a poller on the fake queue."""
    return QueuePoller(
        sqs,  # type: ignore[arg-type]
        queue_url="http://q",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
        function_name="scheduler",
        handler=handler,
        region="us-east-1",
    )


class TestQueuePoller:
    def test_a_batch_holds_at_most_ten_messages_and_only_unreported_ones_are_deleted(self):
        """An invocation gets up to 10 records; the messages the handler reports failed stay queued."""
        # GIVEN 13 messages and a handler that fails m3
        sqs = FakeSqs(13)
        events: list[dict[str, Any]] = []

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            events.append(event)
            assert context.function_name == "scheduler"
            return {"batchItemFailures": [{"itemIdentifier": "m3"}] if len(events) == 1 else []}

        running = poller(sqs, handler)

        # WHEN the poller polls until the queue is empty
        counts = [running.poll_once() for _ in range(3)]

        # THEN it handed over 10 then 3 records and deleted every message but m3
        assert counts == [BATCH_SIZE, 3, 0]
        assert [len(event["Records"]) for event in events] == [10, 3]
        deleted = [handle for call in sqs.deleted for handle in call]
        assert sorted(deleted) == sorted(f"r{n}" for n in range(13) if n != 3)
        assert (running.invocations, running.messages_deleted, running.messages_failed) == (2, 12, 1)

    def test_a_handler_that_raises_returns_the_whole_batch(self):
        """When the handler raises, nothing is deleted: every message comes back after its timeout."""
        sqs = FakeSqs(2)

        def handler(event: dict[str, Any], context: Any) -> None:
            raise RuntimeError("boom")

        running = poller(sqs, handler)
        assert running.poll_once() == 2
        assert sqs.deleted == []
        assert running.messages_failed == 2


class TestMappingBatching:
    def test_a_window_gathers_up_to_the_batch_size_into_one_invocation(self):
        """With BatchSize 25 and a window, 30 queued messages make one invocation of 25, then one of 5."""
        sqs = FakeSqs(30)
        sizes: list[int] = []

        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            sizes.append(len(event["Records"]))
            return {"batchItemFailures": []}

        running = QueuePoller(
            sqs,  # type: ignore[arg-type]
            queue_url="http://q",
            queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
            function_name="scheduler",
            handler=handler,
            region="us-east-1",
            batch_size=25,
            window_seconds=0.3,
        )
        assert [running.poll_once(), running.poll_once()] == [25, 5]
        assert sizes == [25, 5]
        assert sum(len(chunk) for chunk in sqs.deleted) == 30
        assert max(len(chunk) for chunk in sqs.deleted) <= BATCH_SIZE


class TestS3TestEvent:
    def test_the_test_event_is_counted_apart_from_uploads(self, aws_endpoint: str):
        """On moto server, S3's s3:TestEvent and one upload: one upload message done, one test event named."""
        import boto3
        from shepard_local._commands import scheduler_line

        # GIVEN a bucket notifying a queue (S3 sends its test event then) and one upload
        sqs = boto3.client("sqs", endpoint_url=aws_endpoint)
        s3 = boto3.client("s3", endpoint_url=aws_endpoint)
        queue_url = sqs.create_queue(QueueName="uploads-test-event")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        s3.create_bucket(Bucket="uploads-test-event")
        s3.put_bucket_notification_configuration(
            Bucket="uploads-test-event",
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        s3.put_object(Bucket="uploads-test-event", Key="job.zip", Body=b"zip")
        seen: list[str] = []

        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            seen.extend(record["body"] for record in event["Records"])
            return {"batchItemFailures": []}

        polling = QueuePoller(
            sqs,
            queue_url=queue_url,
            queue_arn=arn,
            function_name="scheduler",
            handler=handler,
            region="us-east-1",
        )
        # WHEN the poller has handled both messages
        while len(seen) < 2:
            assert polling.poll_once() > 0
        # THEN the test event is counted on its own and `local status` names it
        assert (polling.messages_deleted, polling.test_events) == (1, 1)
        line = scheduler_line(
            {
                "scheduler_invocations": polling.invocations,
                "messages_deleted": polling.messages_deleted,
                "messages_failed": polling.messages_failed,
                "s3_test_events": polling.test_events,
            }
        )
        assert "1 upload message(s) done, 0 failed" in line
        assert "1 s3:TestEvent (S3 sends one when the bucket's notification is set up)" in line

    def test_a_fresh_flock_shows_no_upload_done(self):
        """Only the test event handled: the line says no upload message was done."""
        from shepard_local._commands import scheduler_line

        line = scheduler_line(
            {"scheduler_invocations": 1, "messages_deleted": 0, "messages_failed": 0, "s3_test_events": 1}
        )
        assert "0 upload message(s) done" in line
