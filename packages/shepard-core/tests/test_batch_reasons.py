"""AWS Batch's reasons for a blocked or time-limit-cancelled job, in plain words."""

import pytest
from shepard_core import BLOCKED_REASONS, TIME_LIMIT_REASONS, blocked_reason_code, explain_batch_reason

CANCELLED_AT_MAX = (
    "Canceled by JobStateTimeLimit action due to reason: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
)


@pytest.mark.parametrize(
    ("said", "code"),
    [
        (
            "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested",
            "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        ),
        ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - too big", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"),
        (
            CANCELLED_AT_MAX,
            "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        ),
        ("Essential container in task exited", None),
        ("", None),
        (None, None),
    ],
)
def test_the_code_is_found_in_batch_s_text(said, code):
    """The blocked-reason code is read from anywhere in Batch's text; other text has none."""
    assert blocked_reason_code(said) == code


def test_a_time_limit_cancel_names_the_parameter_and_the_cause():
    """A job the queue's time limit cancelled is said so, with the parameter and the cause in plain words."""
    said = explain_batch_reason(
        "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
    )
    assert said == (
        "AWS Batch cancelled the job because it stayed RUNNABLE longer than the job queue's time limit "
        f"(RunnableTimeLimitMinutes): {BLOCKED_REASONS['CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY']}"
    )


def test_other_reasons_have_no_plain_words():
    """A reason no rule knows gets none (the caller shows Batch's own text)."""
    assert explain_batch_reason("Essential container in task exited") is None
    assert explain_batch_reason(None) is None


def test_every_time_limit_reason_has_plain_words():
    """Each reason the template's time limit acts on is a known blocked reason."""
    assert set(TIME_LIMIT_REASONS) <= set(BLOCKED_REASONS)
