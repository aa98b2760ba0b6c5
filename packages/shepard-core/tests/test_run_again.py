"""The run-again contract: the new job's UUID, the row's links, and the scheduler message."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shepard_core import (
    RUN_AGAIN_MESSAGE_TYPE,
    Attr,
    JobRow,
    JobStatus,
    RunAgainMessageError,
    is_valid_batch_job_name,
    job_id_for_api_request,
    job_id_for_run_again,
    parse_run_again_message,
    run_again_message,
)

ORIGINAL = "0b7e4a1c-2f7d-4c39-9f59-4d8c1b7a0e11"


class TestJobIdForRunAgain:
    def test_one_request_gives_one_job(self):
        """The same original and request always give the same UUID, whatever the original's case."""
        assert job_id_for_run_again(ORIGINAL, "r1") == job_id_for_run_again(ORIGINAL.upper(), "r1")

    def test_another_request_or_original_gives_another_job(self):
        """Another request, or another original, gives another UUID; none is an API request's."""
        ids = {
            job_id_for_run_again(ORIGINAL, "r1"),
            job_id_for_run_again(ORIGINAL, "r2"),
            job_id_for_run_again("1" + ORIGINAL[1:], "r1"),
            job_id_for_api_request("r1"),
        }
        assert len(ids) == 4

    @pytest.mark.parametrize(("original", "request_id"), [("", "r"), (ORIGINAL, "")])
    def test_needs_both_parts(self, original, request_id):
        """An empty original or request id is refused."""
        with pytest.raises(ValueError, match="request id"):
            job_id_for_run_again(original, request_id)

    @given(st.text(min_size=1))
    def test_always_a_job_uuid_the_message_carries(self, request_id):
        """Any request id gives a UUID a run-again message carries and Batch takes as a name."""
        job = job_id_for_run_again(ORIGINAL, request_id)
        assert parse_run_again_message(json.loads(run_again_message(job))) == job
        assert is_valid_batch_job_name(job)


class TestRunAgainMessage:
    def test_round_trip(self):
        """A message names its type and the job; parsing gives the job back."""
        body = json.loads(run_again_message(ORIGINAL))
        assert body == {"type": RUN_AGAIN_MESSAGE_TYPE, "job": ORIGINAL}
        assert parse_run_again_message(body) == ORIGINAL

    @pytest.mark.parametrize(
        "body",
        [
            {"Records": []},
            {"Event": "s3:TestEvent"},
            {"type": "something.else", "Records": []},
            [1, 2],
            "text",
            None,
        ],
    )
    def test_other_bodies_are_not_run_again_messages(self, body):
        """S3 events and anything without a run-again type are left to the S3 event reader."""
        assert parse_run_again_message(body) is None

    @pytest.mark.parametrize(
        ("body", "match"),
        [
            ({"type": "shepard.run-again.v9", "job": ORIGINAL}, "version"),
            ({"type": RUN_AGAIN_MESSAGE_TYPE, "job": ORIGINAL.upper()}, "not a job UUID"),
            ({"type": RUN_AGAIN_MESSAGE_TYPE, "job": 7}, "not a job UUID"),
            ({"type": RUN_AGAIN_MESSAGE_TYPE}, "not a job UUID"),
            ({"type": RUN_AGAIN_MESSAGE_TYPE, "job": ORIGINAL, "x": 1}, "unknown fields"),
        ],
    )
    def test_bad_run_again_messages_are_refused(self, body, match):
        """A body typed as a run-again message but not a valid one says what is wrong."""
        with pytest.raises(RunAgainMessageError, match=match):
            parse_run_again_message(body)

    def test_only_job_uuids_are_sent(self):
        """A message is never made for something that is not a job UUID."""
        with pytest.raises(RunAgainMessageError):
            run_again_message("../etc")


class TestRowLinks:
    def test_both_links_round_trip_and_are_not_inputs(self):
        """RUN_AGAIN_OF (a string) and RUN_AGAIN_AS (a string set) survive a round trip, apart from inputs."""
        row = JobRow(
            uuid=ORIGINAL,
            status=JobStatus.JOB_FAILED,
            inputs={"A": "1"},
            input_zip_name="a.zip",
            is_invoked=False,
            end_time=1,
            run_again_of="x",
            run_again_as=("b", "a"),
        )
        item = row.to_item()
        assert item[Attr.RUN_AGAIN_OF] == {"S": "x"}
        assert item[Attr.RUN_AGAIN_AS] == {"SS": ["a", "b"]}
        back = JobRow.from_item(item)  # type: ignore[arg-type]
        assert (back.run_again_of, back.run_again_as, back.inputs) == ("x", ("a", "b"), {"A": "1"})

    def test_a_row_without_links_has_none(self):
        """A row never run again has neither attribute."""
        status = JobStatus.JOB_FAILED
        row = JobRow(uuid=ORIGINAL, status=status, inputs={}, input_zip_name="", is_invoked=True, end_time=1)
        assert Attr.RUN_AGAIN_AS not in row.to_item()
        assert JobRow.from_item(row.to_item()).run_again_as == ()  # type: ignore[arg-type]
