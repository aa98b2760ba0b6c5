"""Throttling and server errors: retried by botocore, then left to SQS redelivery; nothing is lost."""

from __future__ import annotations

import json
import os
import time

from shepard_scheduler import s3_events
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._core import S3ObjectRef
from shepard_scheduler._outcome import OutcomeKind

INPUTS = json.dumps({"test": "hello"})


def _ref(flock, key):
    etag = flock.s3.head_object(Bucket="shepard-inputs", Key=key)["ETag"]
    return S3ObjectRef(bucket="shepard-inputs", key=key, etag=etag.strip('"'))


class TestRetriedByBotocore:
    def test_throttled_submit_job_is_retried(self, flock, make_scheduler, throttle):
        """SubmitJob throttled twice succeeds on botocore's third try."""
        flock.upload("t.zip", {"inputs.txt": INPUTS})
        scheduler = make_scheduler()
        hook = throttle(scheduler._batch, "SubmitJob", 2)
        outcome = scheduler.schedule_s3_object(_ref(flock, "t.zip"), deadline=time.time() + 60)
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert (hook.calls, hook.throttled) == (3, 2)
        assert len(flock.jobs()) == 1

    def test_throttled_put_item_is_retried(self, flock, make_scheduler, throttle):
        """The claim (TransactWriteItems) throttled twice succeeds on botocore's third try."""
        flock.upload("t.zip", {"inputs.txt": INPUTS})
        scheduler = make_scheduler()
        hook = throttle(scheduler._table._client, "TransactWriteItems", 2)
        outcome = scheduler.schedule_s3_object(_ref(flock, "t.zip"), deadline=time.time() + 60)
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert hook.throttled == 2


class TestLeftToRedelivery:
    def test_persistent_submit_throttling_fails_the_array_and_redelivery_makes_it_once(
        self, flock, context, throttle
    ):
        """When the array's SubmitJob stays throttled its messages fail; their redelivery makes one array."""
        # GIVEN two uploads in one batch, and SubmitJob throttled for every try of the first attempt
        flock.upload("a.zip", {"inputs.txt": INPUTS})
        flock.upload("b.zip", {"inputs.txt": json.dumps({"test": "other"})})
        event = flock.job_messages()
        hook = throttle(aws_clients(os.environ).batch, "SubmitJob", 3)
        # WHEN the batch is handled
        response = s3_events.handler(event, context)
        # THEN both messages are reported failed; their rows wait without a Batch job or lease
        assert response == {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
        }
        assert hook.throttled == 3
        waiting = [row for row in flock.rows() if row["JOB_STATUS"] == "not_yet_initiated"]
        assert len(waiting) == 2
        assert all("SHEPARD_SUBMIT_LEASE_UNTIL" not in row for row in waiting)
        # WHEN SQS redelivers them
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        # THEN both jobs are children of one array, recorded once each
        rows = flock.rows()
        assert sorted(row["JOB_STATUS"] for row in rows) == ["submitted", "submitted"]
        assert len({row["SHEPARD_BATCH_JOB_ID"].rsplit(":", 1)[0] for row in rows}) == 1

    def test_persistent_put_item_throttling_fails_the_message(self, flock, context, throttle):
        """When the claim (TransactWriteItems) stays throttled the message fails and nothing is submitted."""
        flock.upload("a.zip", {"inputs.txt": INPUTS})
        event = flock.job_messages()
        throttle(aws_clients(os.environ).dynamodb, "TransactWriteItems", None)
        response = s3_events.handler(event, context)
        assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
        assert flock.rows() == []
        assert flock.jobs() == []

    def test_rejection_report_not_written_is_written_on_redelivery(self, flock, context, throttle):
        """When the rejection report cannot be written the message is redelivered, and the report follows."""
        # GIVEN an invalid upload, and the errors bucket refusing writes for every try of the first delivery
        flock.upload("bad.zip", {"inputs.txt": "{"})
        event = flock.job_messages()
        hook = throttle(aws_clients(os.environ).s3, "PutObject", 3)
        # WHEN the message is handled
        response = s3_events.handler(event, context)
        # THEN it is reported failed: the row says rejected, but the report is missing
        assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
        assert hook.throttled == 3
        assert [row["JOB_STATUS"] for row in flock.rows()] == ["rejected"]
        assert flock.report_keys() == []
        # WHEN SQS redelivers it
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        # THEN the report is written, still one rejected row, and nothing was submitted
        assert flock.report_keys() == ["rejected/bad.zip.json"]
        assert [row["JOB_STATUS"] for row in flock.rows()] == ["rejected"]
        assert flock.jobs() == []

    def test_failure_is_logged_with_its_reason(self, flock, context, throttle, log_lines):
        """A message left for redelivery is logged as an error with the AWS error and receive count."""
        flock.upload("a.zip", {"inputs.txt": INPUTS})
        event = flock.job_messages()
        throttle(aws_clients(os.environ).batch, "SubmitJob", None)
        s3_events.handler(event, context)
        [entry] = [e for e in log_lines() if e["message"].startswith("job not scheduled")]
        assert entry["level"] == "ERROR"
        assert entry["receive_count"] == "1"
        assert "TooManyRequestsException" in entry["exception"]


class TestDeadLetters:
    def test_persistently_failing_job_reaches_the_dlq_and_its_row_waits(self, flock, context, throttle):
        """A job whose SubmitJob never succeeds is dead-lettered after its retries; its row waits intact."""
        # GIVEN an upload and a Batch API that throttles every call
        flock.upload("stuck.zip", {"inputs.txt": INPUTS})
        throttle(aws_clients(os.environ).batch, "SubmitJob", None)
        # WHEN the event source mapping polls until the queue is empty
        for _ in range(4):
            flock.poll(s3_events.handler, context)
        # THEN the notification is in the DLQ, and the row holds the inputs without a Batch job or lease
        [dead] = flock.dead_letters()
        assert "stuck.zip" in dead
        [row] = flock.rows()
        assert (row["JOB_STATUS"], row["test"]) == ("not_yet_initiated", "hello")
        assert "SHEPARD_SUBMIT_LEASE_UNTIL" not in row
        assert flock.jobs() == []

    def test_malformed_message_reaches_the_dlq(self, flock, context):
        """A message that is not an S3 notification is retried maxReceiveCount times, then dead-lettered."""
        flock.sqs.send_message(QueueUrl=flock.queue_url, MessageBody="not a notification")
        for _ in range(4):
            flock.poll(s3_events.handler, context)
        assert "not a notification" in flock.dead_letters()
