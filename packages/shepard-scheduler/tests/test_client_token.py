"""A request carrying a client token: repeating it (a new Lambda request id each time) runs no job twice."""

from __future__ import annotations

import json

import pytest
from shepard_scheduler import endpoint
from shepard_scheduler._client_token import InvalidClientTokenError, open_tokened_request
from shepard_testing import LambdaContext


def _call(event):
    """Invoke the endpoint as a new Lambda request (its own request id) and return status and body."""
    response = endpoint.handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _http(body: str):
    return {"requestContext": {"http": {"method": "POST"}}, "body": body, "isBase64Encoded": False}


def _arrays_and_plain_jobs(flock):
    """Return the Batch jobs the scheduler submitted (array parents and plain jobs, not children)."""
    return [job for job in flock.jobs() if ":" not in job["jobId"]]


class TestOpenTokenedRequest:
    def test_plain_requests_carry_no_token(self):
        """An inputs object, a list, or an object with other fields is a plain request."""
        assert open_tokened_request(b'{"A": "1"}') is None
        assert open_tokened_request(b'[{"A": "1"}]') is None
        assert open_tokened_request(b'{"client_token": "t", "jobs": {}, "A": "1"}') is None
        # an inputs object may name variables client_token and jobs: their values are text
        assert open_tokened_request(b'{"client_token": "t", "jobs": "1"}') is None

    def test_jobs_are_kept_as_sent(self):
        """The jobs' text is kept byte for byte (duplicate keys and number spellings too)."""
        request = open_tokened_request(b' {"jobs": [{"A": 1.50, "A": 2}] , "client_token": "run-1"} ')
        assert request is not None
        assert (request.token, request.jobs) == ("run-1", b'[{"A": 1.50, "A": 2}]')

    @pytest.mark.parametrize("token", ['""', '"has space"', '"' + "x" * 65 + '"', "7", "null", '"\\u00e9"'])
    def test_unusable_tokens_are_refused(self, token):
        """A token that is empty, too long, not text or outside letters, digits and ._:- is refused."""
        with pytest.raises(InvalidClientTokenError):
            open_tokened_request(f'{{"client_token": {token}, "jobs": {{}}}}'.encode())


class TestRepeatedRequest:
    def test_single_job_repeated_runs_once(self, flock):
        """The same token and job sent twice (new Lambda request ids) make one row and one Batch job."""
        request = {"client_token": "tok-1", "jobs": {"SAMPLE": "s1"}}
        first = _call(request)
        second = _call(request)
        assert first[0] == second[0] == 200
        assert first[1]["uuid"] == second[1]["uuid"]
        assert first[1]["batch_job_id"] == second[1]["batch_job_id"]
        assert (first[1]["duplicate"], second[1]["duplicate"]) == (False, True)
        [row] = flock.rows()
        assert row["SAMPLE"] == "s1"
        assert "client_token" not in row
        assert len(flock.jobs()) == 1

    def test_list_repeated_runs_each_job_once(self, flock):
        """A list sent twice with one token answers the same jobs, as duplicates, with one array in all."""
        body = json.dumps({"client_token": "tok-2", "jobs": [{"N": "0"}, {"N": "1"}, {"N": "2"}]})
        first = _call(_http(body))
        second = _call(_http(body))
        assert first[0] == second[0] == 200
        assert [job["uuid"] for job in first[1]["jobs"]] == [job["uuid"] for job in second[1]["jobs"]]
        assert all(job["duplicate"] for job in second[1]["jobs"])
        assert len(flock.rows()) == 3
        assert len(_arrays_and_plain_jobs(flock)) == 1

    def test_list_with_a_poison_job_repeated(self, flock):
        """A repeated list with an invalid job answers 207 both times; nothing is submitted twice."""
        body = '{"client_token": "tok-3", "jobs": [{"N": "0"}, {"A": "\\ud800"}]}'
        first = _call(_http(body))
        second = _call(_http(body))
        assert first[0] == second[0] == 207
        assert first[1]["rejections"][0]["uuid"] == second[1]["rejections"][0]["uuid"]
        assert second[1]["jobs"][0]["duplicate"] is True
        assert len(_arrays_and_plain_jobs(flock)) == 1

    def test_without_a_token_each_request_is_new(self, flock):
        """Without a token, two requests (two Lambda request ids) are two jobs, as before."""
        first = _call({"SAMPLE": "s1"})
        second = _call({"SAMPLE": "s1"})
        assert first[1]["uuid"] != second[1]["uuid"]
        assert len(flock.jobs()) == 2

    def test_the_same_token_with_other_jobs_is_another_request(self, flock):
        """A token reused with other jobs schedules those jobs: the token and the jobs name a request."""
        first = _call({"client_token": "tok-4", "jobs": {"SAMPLE": "s1"}})
        second = _call({"client_token": "tok-4", "jobs": {"SAMPLE": "s2"}})
        assert first[1]["uuid"] != second[1]["uuid"]
        assert second[1]["duplicate"] is False
        assert sorted(row["SAMPLE"] for row in flock.rows()) == ["s1", "s2"]

    def test_an_unusable_token_is_refused_before_anything_is_written(self, flock):
        """A request whose token is unusable answers 400 InvalidClientToken and writes nothing."""
        status, body = _call({"client_token": "no spaces please", "jobs": {"A": "1"}})
        assert (status, body["error"]) == (400, "InvalidClientToken")
        assert flock.rows() == []
        assert flock.jobs() == []
