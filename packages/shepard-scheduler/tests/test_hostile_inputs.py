"""Inputs that can never run end as a rejected row plus a report (S3) or a 400 answer (endpoint)."""

from __future__ import annotations

import json

import pytest
from shepard_core import MAX_ITEM_BYTES, ROW_RESERVE_BYTES, rejection_report_key
from shepard_scheduler import endpoint, s3_events

# Each case: the inputs.txt text, and the error class the rejection names.
HOSTILE_INPUTS = {
    "nested 1,000 deep": (
        '{"A": ' + "[" * 1_000 + "]" * 1_000 + "}",
        "NestedValueError|TooDeeplyNestedError",
    ),
    "nested 100,000 deep": ('{"A": ' + "[" * 100_000 + "]" * 100_000 + "}", "TooDeeplyNestedError"),
    "row over DynamoDB's item limit": (
        json.dumps({f"N{i}_" + "n" * 57_000: "" for i in range(4)}),
        "RowTooLargeError",
    ),
    "value exec cannot pass": (json.dumps({"SEQ": "A" * 200_000}), "ValueTooLongError"),
    "LD_PRELOAD": (json.dumps({"LD_PRELOAD": "/job/evil.so"}), "StartupVariableError"),
    "BASH_ENV": (json.dumps({"bash_env": "/job/evil.sh"}), "StartupVariableError"),
    "QUICK_DEPLOY_DIRECTORY ..": (
        json.dumps({"QUICK_DEPLOY_DIRECTORY": "../other"}),
        "InvalidPathValueError",
    ),
    "QUICK_DEPLOY_DIRECTORY absolute": (
        json.dumps({"QUICK_DEPLOY_DIRECTORY": "/etc"}),
        "InvalidPathValueError",
    ),
}


def _rejected_row(flock):
    [row] = flock.rows()
    assert row["JOB_STATUS"] == "rejected"
    assert "SHEPARD_BATCH_JOB_ID" not in row
    return row


@pytest.mark.parametrize("case", list(HOSTILE_INPUTS))
class TestS3Path:
    def test_hostile_inputs_are_rejected_with_row_and_report(self, flock, context, case):
        """A job zip whose inputs can never run gets a rejected row and a report, is never dead-lettered."""
        # GIVEN a job zip whose inputs.txt breaks one rule
        text, errors = HOSTILE_INPUTS[case]
        key = "hostile/" + case.replace(" ", "_").replace(",", "") + ".zip"
        flock.upload(key, {"inputs.txt": text})
        # WHEN the scheduler handles its message
        response = flock.poll(s3_events.handler, context)
        # THEN the message is acknowledged, no Batch job exists, and the row and report name the rule
        assert response == {"batchItemFailures": []}
        assert flock.jobs() == []
        assert flock.dead_letters() == []
        row = _rejected_row(flock)
        report = flock.report(rejection_report_key(key))
        assert report["error"] in errors.split("|")
        assert report["reason"] == row["SHEPARD_REJECTION_REASON"]
        assert "Traceback" not in report["reason"]


@pytest.mark.parametrize("case", list(HOSTILE_INPUTS))
class TestEndpoint:
    def test_hostile_inputs_answer_400(self, flock, context, case):
        """A request whose inputs can never run is answered 400 naming the rule, never 500 "retry"."""
        text, errors = HOSTILE_INPUTS[case]
        event = {"requestContext": {"http": {"method": "POST"}}, "body": text, "isBase64Encoded": False}
        response = endpoint.handler(event, context)
        body = json.loads(response["body"])
        assert response["statusCode"] == 400
        assert body["error"] in errors.split("|")
        assert "retry" not in body["message"]
        assert _rejected_row(flock)["SHEPARD_REJECTION_REASON"] == body["message"]


class TestEndpointDirectInvocation:
    @pytest.mark.parametrize("depth", [500, 2_000, 20_000])
    def test_deeply_nested_invocation_answers_400(self, flock, context, depth):
        """A direct invocation nested deeply is answered 400 with a rejected row, never an exception."""
        nested: object = "x"
        for _ in range(depth):
            nested = [nested]
        response = endpoint.handler({"A": nested}, context)
        body = json.loads(response["body"])
        assert response["statusCode"] == 400
        assert body["error"] in {"NestedValueError", "TooDeeplyNestedError"}
        _rejected_row(flock)


class TestObjectKeys:
    @pytest.mark.parametrize(
        "key",
        ["x" * 252 + ".zip", "batches/" + "é" * 126 + ".zip", "deep/" * 10 + "y" * 300],
        ids=["256-byte-name", "multibyte-name", "deep-long-name"],
    )
    def test_key_whose_file_name_no_file_system_holds_is_rejected(self, flock, context, key):
        """An object key whose file name is over 255 bytes is rejected at scheduling, not at staging."""
        flock.upload(key, {"inputs.txt": '{"A": "1"}'})
        response = flock.poll(s3_events.handler, context)
        assert response == {"batchItemFailures": []}
        assert flock.jobs() == []
        row = _rejected_row(flock)
        assert "255 bytes" in row["SHEPARD_REJECTION_REASON"]
        assert flock.report(rejection_report_key(key))["error"] == "UnusablePathError"

    def test_key_with_a_255_byte_file_name_is_scheduled(self, flock, context):
        """A file name of exactly 255 bytes is scheduled."""
        flock.upload("ok/" + "z" * 251 + ".zip", {"inputs.txt": '{"A": "1"}'})
        flock.poll(s3_events.handler, context)
        assert [row["JOB_STATUS"] for row in flock.rows()] == ["submitted"]


class TestRowLimit:
    def test_largest_accepted_row_is_stored_and_submitted(self, flock, context):
        """Inputs that fill exactly the room a row keeps for them are stored by DynamoDB and submitted."""
        room = MAX_ITEM_BYTES - ROW_RESERVE_BYTES - len("SHEPARD_INPUT_KEYS")
        names = [f"N{i}_" + "n" * 46_470 for i in range(3)]
        values = ["v" * 40_000] * 2 + ["v" * (room - 2 * sum(map(len, names)) - 80_000)]
        flock.upload("big/row.zip", {"inputs.txt": json.dumps(dict(zip(names, values, strict=True)))})
        response = flock.poll(s3_events.handler, context)
        assert response == {"batchItemFailures": []}
        [row] = flock.rows()
        assert row["JOB_STATUS"] == "submitted"
        assert row[names[2]] == values[2]
