"""The kit's Lambda context is shepard-flock's, and its fixture gives a minute."""

from __future__ import annotations

import shepard_flock
from shepard_testing import LambdaContext, sqs_event_from_messages


class TestLambdaContext:
    def test_the_kit_hands_out_the_flock_s_emulation(self):
        """The test kit and the local flock share one Lambda context and one SQS-event builder."""
        assert LambdaContext is shepard_flock.LambdaContext
        assert sqs_event_from_messages is shepard_flock.sqs_event_from_messages

    def test_fixture_gives_a_minute(self, lambda_context):
        """The `lambda_context` fixture has about a minute to go."""
        assert 59_000 < lambda_context.get_remaining_time_in_millis() <= 60_000
