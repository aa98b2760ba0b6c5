"""The Lambda service around a handler: the context, the SQS event shape, partial batch responses."""

from __future__ import annotations

import pytest
from shepard_flock import LambdaContext, failed_message_ids, sqs_event_from_messages

MESSAGES = [
    {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "Attributes": {"ApproximateReceiveCount": "1"}},
    {"MessageId": "m2", "ReceiptHandle": "r2", "Body": "{}"},
]


class TestFailedMessageIds:
    def test_reported_failures_are_the_only_failures(self):
        """Only the messages listed in batchItemFailures are failed."""
        response = {"batchItemFailures": [{"itemIdentifier": "m2"}]}
        assert failed_message_ids(response, MESSAGES) == {"m2"}

    def test_an_empty_list_fails_nothing(self):
        """An empty batchItemFailures acknowledges the whole batch."""
        assert failed_message_ids({"batchItemFailures": []}, MESSAGES) == set()

    @pytest.mark.parametrize(
        "response",
        [None, "ok", {"batchItemFailures": "m1"}, {"batchItemFailures": [{"itemIdentifier": "unknown"}]}],
    )
    def test_a_malformed_response_fails_the_whole_batch(self, response):
        """A response Lambda cannot read as a partial batch response fails every message, as Lambda does."""
        assert failed_message_ids(response, MESSAGES) == {"m1", "m2"}


class TestSqsEvent:
    def test_records_have_the_shape_lambda_delivers(self):
        """Each message becomes a record with Lambda's camel-case keys and the queue's ARN."""
        event = sqs_event_from_messages(
            MESSAGES, queue_arn="arn:aws:sqs:us-east-1:123456789012:q", region="us-east-1"
        )
        record = event["Records"][0]
        assert record["messageId"] == "m1"
        assert record["receiptHandle"] == "r1"
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].endswith(":q")
        assert record["attributes"] == {"ApproximateReceiveCount": "1"}


class TestLambdaContext:
    def test_names_derive_from_the_function(self):
        """The ARN, log group and request id follow the function name, region and account."""
        context = LambdaContext("fn", region="eu-west-1", account="111122223333")
        assert context.invoked_function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:fn"
        assert context.log_group_name == "/aws/lambda/fn"
        assert context.aws_request_id != LambdaContext("fn").aws_request_id

    def test_remaining_time_counts_down_from_the_timeout(self):
        """Without a pinned value the remaining time is at most the timeout, and never negative."""
        assert 0 < LambdaContext(timeout_seconds=2).get_remaining_time_in_millis() <= 2000
        assert LambdaContext(timeout_seconds=-1).get_remaining_time_in_millis() == 0

    def test_pinned_remaining_time_is_answered(self):
        """A pinned remaining time is what the context reports, and may be changed between calls."""
        context = LambdaContext(remaining_ms=1)
        assert context.get_remaining_time_in_millis() == 1
        context.remaining_ms = 60_000
        assert context.get_remaining_time_in_millis() == 60_000

    def test_the_context_counts_down_from_the_timeout(self):
        """The remaining time starts near the timeout and the ARN names the function."""
        context = LambdaContext("f")
        assert 0 < context.get_remaining_time_in_millis() <= 60_000
        assert context.invoked_function_arn.endswith(":function:f")
