"""No job makes its batch-mates fail: each invalid job is rejected alone and the valid ones are scheduled."""

from __future__ import annotations

import json
import os

import pytest
from botocore.exceptions import ClientError
from shepard_core import api_rejection_report_key, parse_child_job_id, rejection_report_key
from shepard_scheduler import endpoint, s3_events
from shepard_scheduler._aws import aws_clients

# Each rejection class: the job's inputs.txt text (None: no inputs.txt), and the error its rejection names.
POISON_INPUTS: dict[str, tuple[str | None, str]] = {
    "reserved keyword": ('{"PATH": "/x"}', "ReservedKeywordError"),
    "bad JSON": ('{"A": ', "InvalidJSONError"),
    "not an object": ('["A"]', "NotAnObjectError"),
    "list value": ('{"A": ["1"]}', "NestedValueError"),
    "null value": ('{"A": null}', "NullValueError"),
    "duplicate key": ('{"A": "1", "A": "2"}', "DuplicateKeyError"),
    "bad name": ('{"A-B": "1"}', "InvalidKeyError"),
    "loader variable": ('{"LD_PRELOAD": "/job/x.so"}', "StartupVariableError"),
    "lone surrogate": (r'{"A": "\ud800"}', "UnencodableValueError"),
    "lone surrogate among good values": (r'{"B": "ok", "A": "x\udfffy"}', "UnencodableValueError"),
    "NUL": (r'{"A": "x\u0000y"}', "InvalidValueError"),
    "NUL in a name": (r'{"A\u0000": "1"}', "InvalidKeyError"),
    "oversize value": (json.dumps({"A": "x" * 200_000}), "ValueTooLongError"),
    "bad quick-deploy folder": ('{"QUICK_DEPLOY_DIRECTORY": "../up"}', "InvalidPathValueError"),
    "missing inputs.txt": (None, "InputsNotFoundError"),
}
GOOD_INPUTS = ('{"N": "0"}', '{"N": "1"}')


def _good_rows_scheduled(flock, expected):
    """Assert the rows with an N input are submitted, all by one SubmitJob, and return them."""
    good = [row for row in flock.rows() if "N" in row]
    assert sorted(row["N"] for row in good) == sorted(expected)
    assert {row["JOB_STATUS"] for row in good} == {"submitted"}
    [array] = [job for job in flock.jobs() if "size" in job.get("arrayProperties", {})]
    assert array["arrayProperties"]["size"] == len(expected)
    assert {parse_child_job_id(row["SHEPARD_BATCH_JOB_ID"])[0] for row in good} == {array["jobId"]}
    return good


@pytest.mark.parametrize("case", list(POISON_INPUTS))
class TestS3BatchWithOnePoison:
    def test_poison_zip_is_rejected_alone(self, flock, context, case):
        """One invalid zip among valid ones is rejected with its reason; its batch-mates are scheduled."""
        # GIVEN two valid zips and one that breaks a rule, delivered in one batch
        text, error = POISON_INPUTS[case]
        flock.upload("good-0.zip", {"inputs.txt": GOOD_INPUTS[0]})
        flock.upload("bad.zip", {"inputs.txt": text} if text is not None else {"data.txt": "x"})
        flock.upload("good-1.zip", {"inputs.txt": GOOD_INPUTS[1]})
        # WHEN the scheduler handles the batch
        response = flock.poll(s3_events.handler, context)
        # THEN every message is acknowledged, the good jobs run as one array, the bad one is rejected
        assert response == {"batchItemFailures": []}
        assert flock.dead_letters() == []
        _good_rows_scheduled(flock, ["0", "1"])
        [bad] = [row for row in flock.rows() if row["INPUT_ZIP_NAME"] == "bad.zip"]
        assert bad["JOB_STATUS"] == "rejected"
        report = flock.report(rejection_report_key("bad.zip"))
        assert report["error"] == error
        assert report["reason"] == bad["SHEPARD_REJECTION_REASON"]


class TestS3BatchOfEveryPoison:
    def test_every_rejection_class_in_one_batch(self, flock, context):
        """A batch of a zip per rejection class, a non-zip and an unusable key schedules its two good jobs."""
        for number, (text, _) in enumerate(POISON_INPUTS.values()):
            flock.upload(f"bad-{number}.zip", {"inputs.txt": text} if text is not None else {"x": "1"})
        flock.s3.put_object(Bucket="shepard-inputs", Key="not-a-zip.zip", Body=b"plain text, no zip")
        flock.upload("jobs/..", {"inputs.txt": '{"A": "1"}'})
        flock.upload("good-0.zip", {"inputs.txt": GOOD_INPUTS[0]})
        flock.upload("good-1.zip", {"inputs.txt": GOOD_INPUTS[1]})
        response = s3_events.handler(flock.job_messages(), context)
        assert response == {"batchItemFailures": []}
        _good_rows_scheduled(flock, ["0", "1"])
        errors = {}
        for number, (_, error) in enumerate(POISON_INPUTS.values()):
            errors[f"bad-{number}.zip"] = error
        errors["not-a-zip.zip"] = "NotAZipError"
        errors["jobs/.."] = "UnusablePathError"
        for key, error in errors.items():
            assert flock.report(rejection_report_key(key))["error"] == error, key
        rejected = [row for row in flock.rows() if row["JOB_STATUS"] == "rejected"]
        assert len(rejected) == len(errors)


class TestRowRefusedByDynamoDB:
    def test_row_dynamodb_refuses_fails_only_its_own_job(self, flock, context):
        """A row DynamoDB refuses (here: any transaction holding it) leaves only its message for a retry."""
        flock.upload("good-0.zip", {"inputs.txt": GOOD_INPUTS[0]})
        flock.upload("refused.zip", {"inputs.txt": '{"N": "refused"}'})
        flock.upload("good-1.zip", {"inputs.txt": GOOD_INPUTS[1]})

        def refuse(params, **_):
            if "refused" in json.dumps(params, default=str):
                error = {"Error": {"Code": "ValidationException", "Message": "item refused"}}
                raise ClientError(error, "TransactWriteItems")

        aws_clients(os.environ).dynamodb.meta.events.register(
            "before-call.dynamodb.TransactWriteItems", refuse
        )
        event = flock.job_messages()
        response = s3_events.handler(event, context)
        [failure] = response["batchItemFailures"]
        [refused] = [r for r in event["Records"] if "refused.zip" in r["body"]]
        assert failure["itemIdentifier"] == refused["messageId"]
        _good_rows_scheduled(flock, ["0", "1"])


def _list_call(jobs, context):
    response = endpoint.handler(jobs, context)
    return response["statusCode"], json.loads(response["body"])


# A list with a broken element is no JSON list: the whole request is one invalid job (tested elsewhere).
LIST_CASES = [case for case, (text, _) in POISON_INPUTS.items() if text is not None and case != "bad JSON"]


@pytest.mark.parametrize("case", LIST_CASES)
class TestEndpointListWithOnePoison:
    def test_poison_job_is_rejected_alone(self, flock, context, case):
        """One invalid job in a request's list is rejected by position; the others are scheduled (207)."""
        text, error = POISON_INPUTS[case]
        body = f"[{GOOD_INPUTS[0]}, {text}, {GOOD_INPUTS[1]}]"
        event = {"requestContext": {"http": {"method": "POST"}}, "body": body, "isBase64Encoded": False}
        response = endpoint.handler(event, context)
        status, answer = response["statusCode"], json.loads(response["body"])
        assert status == 207, answer
        assert [job["position"] for job in answer["jobs"]] == [0, 2]
        [rejection] = answer["rejections"]
        assert (rejection["position"], rejection["error"]) == (1, error)
        _good_rows_scheduled(flock, ["0", "1"])
        row = flock.row(rejection["uuid"])
        assert row["JOB_STATUS"] == "rejected"
        assert row["SHEPARD_REJECTION_REASON"] == rejection["message"]
        report = flock.report(api_rejection_report_key(rejection["uuid"]))
        assert (report["error"], report["position"]) == (error, 1)


class TestEndpointDirectInvocationSurrogate:
    def test_direct_invocation_with_a_lone_surrogate(self, flock, context):
        """A direct invocation whose value holds a lone surrogate is rejected (400), never 500 or a raise."""
        status, answer = _list_call({"A": "\ud800"}, context)
        assert (status, answer["error"]) == (400, "UnencodableValueError")
        status, answer = _list_call([{"N": "0"}, {"A": "\udc00"}, {"N": "1"}], context)
        assert status == 207, answer
        assert [r["error"] for r in answer["rejections"]] == ["UnencodableValueError"]
        _good_rows_scheduled(flock, ["0", "1"])

    def test_all_invalid_list_answers_400(self, flock, context):
        """A list whose every job is invalid answers 400 naming each; nothing is submitted."""
        status, answer = _list_call([{"PATH": "1"}, {"A": "\ud800"}], context)
        assert status == 400
        assert answer["jobs"] == []
        assert [r["position"] for r in answer["rejections"]] == [0, 1]
        assert flock.jobs() == []
