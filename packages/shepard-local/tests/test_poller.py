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
