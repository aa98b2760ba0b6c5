"""The batching endpoint against moto: direct invocations and HTTP requests in, responses and jobs out."""

from __future__ import annotations

import base64
import json
import os

import pytest
from shepard_core import MAX_INPUTS_BYTES, api_rejection_report_key
from shepard_scheduler import endpoint
from shepard_scheduler._aws import aws_clients


def _call(event, context):
    response = endpoint.handler(event, context)
    return response["statusCode"], json.loads(response["body"])


class TestScheduleRequest:
    def test_inputs_object_becomes_one_submitted_job(self, flock, context, events):
        """A direct invocation with an inputs object answers 200 with the job's UUID and Batch job id."""
        # GIVEN the original Shepard CLI's batch_via_api payload
        payload = events.load("endpoint_inputs")
        # WHEN the endpoint is invoked with it
        status, body = _call(payload, context)
        # THEN a job is submitted and its row holds the inputs, marked as invoked
        assert status == 200
        assert body["job_status"] == "submitted"
        assert body["duplicate"] is False
        row = flock.row(body["uuid"])
        assert row["JOB_STATUS"] == "submitted"
        assert row["IS_INVOKED"] == "True"
        assert row["INPUT_ZIP_NAME"] == ""
        assert (row["test"], row["tag"], row["COUNT"], row["VERBOSE"]) == (
            payload["test"],
            "api_run",
            "3",
            "True",
        )
        [job] = flock.jobs()
        assert job["jobId"] == body["batch_job_id"]
        assert job["jobName"] == f"shepard-{row['SHEPARD_ARRAY_CLAIM']}"
        assert job["environment"] == {"UUID": body["uuid"], "SHEPARD_ARRAY_CLAIM": row["SHEPARD_ARRAY_CLAIM"]}

    def test_function_url_request_body_is_the_inputs(self, flock, context, events):
        """A function-URL request's JSON body is scheduled as the inputs."""
        status, body = _call(events.load("function_url_request"), context)
        assert status == 200
        row = flock.row(body["uuid"])
        assert (row["test"], row["QUICK_DEPLOY_DIRECTORY"]) == ("from a function URL", "hello")

    def test_base64_api_gateway_body_is_decoded(self, flock, context, events):
        """An API Gateway request with a base64-encoded body is decoded before validation."""
        status, body = _call(events.load("api_gateway_request_base64"), context)
        assert status == 200
        assert flock.row(body["uuid"])["test"] == "from API Gateway"

    def test_retried_invocation_returns_the_same_job(self, flock, context, events):
        """The same request id invoked twice answers with one job, the second time marked duplicate."""
        first = _call(events.load("endpoint_inputs"), context)
        second = _call(events.load("endpoint_inputs"), context)
        assert first[0] == second[0] == 200
        assert second[1]["duplicate"] is True
        assert second[1]["batch_job_id"] == first[1]["batch_job_id"]
        assert len(flock.jobs()) == 1

    def test_each_request_is_its_own_job(self, flock, context, events):
        """Two invocations with the same payload but different request ids make two jobs."""
        first = _call(events.load("endpoint_inputs"), context)
        context.aws_request_id = "another-request"
        second = _call(events.load("endpoint_inputs"), context)
        assert first[1]["uuid"] != second[1]["uuid"]
        assert len(flock.jobs()) == 2

    def test_empty_object_schedules_a_job(self, flock, context):
        """An empty inputs object is valid: the job runs with no variables of its own."""
        status, body = _call({}, context)
        assert status == 200
        assert flock.row(body["uuid"])["JOB_STATUS"] == "submitted"


class TestRejectRequest:
    def test_reserved_keyword_answers_400_with_row_and_report(self, flock, context):
        """A reserved keyword answers 400 and leaves a rejected row and a report, submitting nothing."""
        status, body = _call({"test": "x", "PATH": "/usr/bin"}, context)
        assert status == 400
        assert body["error"] == "ReservedKeywordError"
        assert "PATH" in body["message"]
        assert "inputs.txt" not in body["message"]
        assert body["report_key"] == api_rejection_report_key(body["uuid"])
        row = flock.row(body["uuid"])
        assert row["JOB_STATUS"] == "rejected"
        assert row["IS_INVOKED"] == "True"
        report = flock.report(body["report_key"])
        assert json.loads(report["payload"]) == {"test": "x", "PATH": "/usr/bin"}
        assert flock.jobs() == []

    def test_non_object_payload_answers_400(self, flock, context):
        """A payload that is not a JSON object answers 400 NotAnObjectError."""
        status, body = _call("a", context)
        assert (status, body["error"]) == (400, "NotAnObjectError")

    def test_invalid_json_body_answers_400(self, flock, context, events):
        """A function-URL request whose body is not JSON answers 400 InvalidJSONError."""
        request = events.load("function_url_request")
        request["body"] = "{not json"
        status, body = _call(request, context)
        assert (status, body["error"]) == (400, "InvalidJSONError")
        assert flock.jobs() == []

    def test_nested_value_answers_400(self, flock, context):
        """A payload with an object as a value answers 400 NestedValueError."""
        status, body = _call({"config": {"a": 1}}, context)
        assert (status, body["error"]) == (400, "NestedValueError")


def _body(text):
    return {"requestContext": {"http": {"method": "POST"}}, "body": text, "isBase64Encoded": False}


BAD_REQUESTS = {
    "not an object": ("a", "NotAnObjectError"),
    "bad JSON": (_body("{not json"), "InvalidJSONError"),
    "nested value": ({"config": {"a": 1}}, "NestedValueError"),
    "null value": ({"a": None}, "NullValueError"),
    "invalid key": ({"1abc": "x"}, "InvalidKeyError"),
    "duplicate key": (_body('{"a": "1", "a": "2"}'), "DuplicateKeyError"),
    "not UTF-8": (
        {**_body(base64.b64encode(b'{"a": "\xff"}').decode()), "isBase64Encoded": True},
        "InputsEncodingError",
    ),
    "reserved keyword": ({"job_status": "done"}, "ReservedKeywordError"),
    "too big": ({"BIG": "x" * (MAX_INPUTS_BYTES + 1)}, "InputsTooLargeError"),
}


class TestEveryRejection:
    @pytest.mark.parametrize("case", list(BAD_REQUESTS))
    def test_invalid_request_answers_400_with_row_and_report(self, flock, context, case):
        """Every invalid request answers 400 and leaves a rejected row and a report, submitting nothing."""
        # GIVEN a request that cannot be a job
        event, error = BAD_REQUESTS[case]
        # WHEN the endpoint handles it
        status, body = _call(event, context)
        # THEN it answers 400 naming the problem, and the row and the report say why
        assert (status, body["error"]) == (400, error)
        row = flock.row(body["uuid"])
        assert row["JOB_STATUS"] == "rejected"
        assert row["SHEPARD_REJECTION_REASON"] == body["message"]
        report = flock.report(api_rejection_report_key(body["uuid"]))
        assert (report["error"], report["reason"]) == (error, body["message"])
        assert len(report["payload"]) <= MAX_INPUTS_BYTES
        assert report["payload_truncated"] is (case == "too big")
        assert flock.jobs() == []


class TestEndpointFailures:
    def test_throttled_submit_answers_500_and_retry_succeeds(self, flock, context, events, throttle):
        """A SubmitJob throttled past botocore's retries answers 500; the retried request then succeeds."""
        hook = throttle(aws_clients(os.environ).batch, "SubmitJob", 3)
        status, body = _call(events.load("endpoint_inputs"), context)
        assert status == 500
        assert body["error"] == "TooManyRequestsException"
        assert hook.throttled == 3
        status, body = _call(events.load("endpoint_inputs"), context)
        assert status == 200
        assert len(flock.jobs()) == 1

    def test_failure_is_logged_with_the_job_id(self, flock, context, events, throttle, log_lines):
        """A request that fails with an AWS error is logged as an error carrying its job id."""
        throttle(aws_clients(os.environ).batch, "SubmitJob", None)
        status, _ = _call(events.load("endpoint_inputs"), context)
        assert status == 500
        [entry] = [e for e in log_lines() if e["message"] == "job not scheduled"]
        assert entry["level"] == "ERROR"
        assert entry["correlation_id"] == flock.rows()[0]["UUID"]

    def test_missing_configuration_answers_500(self, flock, context, monkeypatch):
        """Without its environment variables the endpoint answers 500 naming what is missing."""
        monkeypatch.delenv("SHEPARD_TABLE_NAME")
        status, body = _call({"a": "b"}, context)
        assert status == 500
        assert body["error"] == "ConfigError"
        assert "SHEPARD_TABLE_NAME is not set" in body["message"]
