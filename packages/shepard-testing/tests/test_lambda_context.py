"""The Lambda context answers what handlers and Powertools ask of it."""

from __future__ import annotations

from shepard_testing import LambdaContext


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

    def test_fixture_gives_a_minute(self, lambda_context):
        """The `lambda_context` fixture has about a minute to go."""
        assert 59_000 < lambda_context.get_remaining_time_in_millis() <= 60_000
