"""The batching endpoint given a JSON list of jobs: each judged alone, the valid ones run as one array."""

from __future__ import annotations

import json
import os

from shepard_core import api_rejection_report_key, job_id_for_api_request, parse_child_job_id
from shepard_scheduler import endpoint
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._request_list import split_job_list


def _call(event, context):
    response = endpoint.handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def _submits():
    calls = []
    aws_clients(os.environ).batch.meta.events.register(
        "before-call.batch.SubmitJob", lambda **_: calls.append(1)
    )
    return calls


class TestSplitJobList:
    def test_object_is_not_a_list(self):
        """A JSON object (or text that is not JSON) is no list: it stays one job."""
        assert split_job_list(b'{"a": "1"}') is None
        assert split_job_list(b"[not json") is None
        assert split_job_list(b'[{"a": "1"}] trailing') is None

    def test_elements_keep_their_text(self):
        """Each element comes back as sent: duplicate keys and number spellings kept for validation."""
        payload = b' [ {"a": "1", "a": "2"} , {"n": 1.50}, "x" ] '
        assert split_job_list(payload) == [b'{"a": "1", "a": "2"}', b'{"n": 1.50}', b'"x"']

    def test_empty_list(self):
        """An empty list is a list of no jobs."""
        assert split_job_list(b" [ ] ") == []


class TestJobList:
    def test_list_becomes_one_array_and_every_job_is_answered(self, flock, context):
        """Three job objects in one call make one array; the answer gives each job's UUID and child id."""
        # GIVEN a direct invocation listing three jobs
        calls = _submits()
        status, body = _call([{"N": "0"}, {"N": "1"}, {"N": "2"}], context)
        # THEN one SubmitJob made an array of three, and each answer names its row and child
        assert status == 200, body
        assert len(calls) == 1
        jobs = body["jobs"]
        assert [job["position"] for job in jobs] == [0, 1, 2]
        request_id = context.aws_request_id
        assert [job["uuid"] for job in jobs] == [
            job_id_for_api_request(f"{request_id}#{n}") for n in range(3)
        ]
        parents = {parse_child_job_id(job["batch_job_id"])[0] for job in jobs}
        assert len(parents) == 1
        for position, job in enumerate(jobs):
            row = flock.row(job["uuid"])
            assert row["N"] == str(position)
            assert row["SHEPARD_BATCH_JOB_ID"] == job["batch_job_id"]
            assert row["IS_INVOKED"] == "True"
            assert job["duplicate"] is False

    def test_retried_list_returns_the_same_jobs(self, flock, context):
        """A retried list answers the same UUIDs and Batch ids, as duplicates, and submits nothing."""
        first = _call([{"N": "0"}, {"N": "1"}], context)
        calls = _submits()
        second = _call([{"N": "0"}, {"N": "1"}], context)
        assert first[0] == second[0] == 200
        assert not calls
        assert [j["batch_job_id"] for j in second[1]["jobs"]] == [j["batch_job_id"] for j in first[1]["jobs"]]
        assert all(job["duplicate"] for job in second[1]["jobs"])

    def test_invalid_jobs_are_rejected_by_position_and_the_others_scheduled(self, flock, context):
        """A list with invalid jobs answers 207: each invalid one rejected by position, the rest one array."""
        status, body = _call([{"ok": "1"}, {"PATH": "/x"}, {"ok": "2"}, "not an object"], context)
        assert status == 207
        assert body["error"] == "Rejected"
        rejections = body["rejections"]
        assert [(r["position"], r["error"]) for r in rejections] == [
            (1, "ReservedKeywordError"),
            (3, "NotAnObjectError"),
        ]
        assert "PATH" in rejections[0]["message"]
        assert [job["position"] for job in body["jobs"]] == [0, 2]
        statuses = {row["UUID"]: row["JOB_STATUS"] for row in flock.rows()}
        assert {statuses[r["uuid"]] for r in rejections} == {"rejected"}
        assert {statuses[job["uuid"]] for job in body["jobs"]} == {"submitted"}
        report = flock.report(api_rejection_report_key(rejections[0]["uuid"]))
        assert (report["position"], report["request_id"]) == (1, context.aws_request_id)
        assert len([job for job in flock.jobs() if "size" in job.get("arrayProperties", {})]) == 1

    def test_too_many_jobs_answers_400_without_rows(self, flock, context):
        """A list of more than 1,000 jobs (or none) answers 400 and writes nothing."""
        status, body = _call([{}] * 1001, context)
        assert (status, body["error"]) == (400, "TooManyJobs")
        status, body = _call([], context)
        assert (status, body["error"]) == (400, "EmptyJobList")
        assert flock.rows() == []

    def test_http_body_list(self, flock, context, events):
        """A function-URL request whose body is a JSON list schedules every job in it."""
        request = events.load("function_url_request")
        request["body"] = json.dumps([{"a": "1"}, {"a": "2"}])
        status, body = _call(request, context)
        assert status == 200, body
        assert len(body["jobs"]) == 2
