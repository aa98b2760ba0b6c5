"""`shepard logs --attempt N`: every attempt's log, how many there were, a clear error for one not made."""

from __future__ import annotations

import time
import uuid

import pytest
from shepard_cli._errors import CliError
from shepard_cli._log_attempts import attempts_of, chosen_attempt
from shepard_core import JobRow, JobStatus

GROUP = "/aws/batch/job"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def put_row(flock, batch_job_id, status=JobStatus.JOB_COMPLETE):
    """Put a job row for the Batch job; return its UUID."""
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=status,
        inputs={},
        input_zip_name="job.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        start_time="2026-01-01T00-00-00Z",
        batch_job_id=batch_job_id,
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row.uuid


def write_stream(flock, stream, lines):
    """Write `lines` to the log stream `stream` of Batch's log group."""
    logs = flock.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def ended(flock, batch_job_id):
    """Wait until moto's Batch has ended the job; return its DescribeJobs entry."""
    batch = flock.client("batch")
    for _ in range(200):
        job = batch.describe_jobs(jobs=[batch_job_id])["jobs"][0]
        if job["status"] in {"SUCCEEDED", "FAILED"}:
            return job
        time.sleep(0.05)
    raise AssertionError(f"Batch job {batch_job_id} did not end")


def record_earlier_attempt(batch_job_id, stream):
    """Give the moto server's Batch job an earlier attempt, lost with its host, that logged to `stream`."""
    from moto.batch.models import batch_backends

    job = batch_backends[ACCOUNT][REGION].get_job_by_id(batch_job_id)
    job.attempts.insert(
        0,
        {
            "container": {"logStreamName": stream, "networkInterfaces": []},
            "startedAt": 1765125600000,
            "stoppedAt": 1765125660000,
            "statusReason": "Host EC2 (instance i-0abc123def4567890) terminated.",
        },
    )


@pytest.fixture
def retried_job(flock, submit_batch_job):
    """Return the UUID of a job Batch ran twice: attempt 1 lost its host, attempt 2 succeeded."""
    batch_job_id = submit_batch_job("retried")
    latest = ended(flock, batch_job_id)["container"]["logStreamName"]
    record_earlier_attempt(batch_job_id, "test-worker/default/first-task")
    write_stream(flock, "test-worker/default/first-task", ["attempt one starts", "host lost"])
    write_stream(flock, latest, ["attempt two starts", "payload exited 0"])
    return put_row(flock, batch_job_id)


class TestAttempts:
    def test_the_latest_attempt_is_shown_and_how_many_there_were_is_said(self, run, retried_job):
        """Without --attempt the latest attempt's log is printed; stderr says of how many, how each ended."""
        result = run("logs", retried_job)
        assert result.exit_code == 0, result.output
        assert result.stdout == "attempt two starts\npayload exited 0\n"
        assert result.stderr.startswith("Attempt 2 of 2 (attempts 1: Host EC2 (instance i-0abc123def4567890)")
        assert "another with --attempt N" in result.stderr

    def test_an_earlier_attempt_s_log(self, run, retried_job):
        """--attempt 1 prints the first attempt's log, and only it."""
        result = run("logs", retried_job, "--attempt", "1")
        assert result.exit_code == 0, result.output
        assert result.stdout == "attempt one starts\nhost lost\n"
        assert result.stderr.startswith("Attempt 1 of 2")

    def test_following_an_ended_attempt_prints_it_and_returns(self, run, retried_job):
        """--follow with an ended attempt prints its log and returns at once."""
        result = run("logs", retried_job, "--attempt", "1", "--follow")
        assert result.exit_code == 0, result.output
        assert result.stdout == "attempt one starts\nhost lost\n"

    @pytest.mark.parametrize("number", ["3", "5"])
    def test_an_attempt_that_was_not_made_is_a_clear_error(self, run, retried_job, number):
        """--attempt beyond the attempts made says how many there were and what to pass."""
        result = run("logs", retried_job, "--attempt", number)
        assert result.exit_code == 1
        assert f"has 2 attempt(s), so it has no attempt {number}" in result.output
        assert "Pass --attempt 1 to 2" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize("number", ["0", "-1", "two"])
    def test_an_attempt_number_must_be_a_positive_integer(self, run, retried_job, number):
        """--attempt refuses 0, negatives and words before reading anything."""
        result = run("logs", retried_job, "--attempt", number)
        assert result.exit_code == 2
        assert "--attempt" in result.output

    def test_a_single_attempt_job_says_nothing_more(self, run, flock, submit_batch_job):
        """A job with one attempt prints its log alone; --attempt 1 names it as attempt 1 of 1."""
        batch_job_id = submit_batch_job("once")
        write_stream(flock, ended(flock, batch_job_id)["container"]["logStreamName"], ["only line"])
        job = put_row(flock, batch_job_id)
        plain = run("logs", job)
        assert (plain.stdout, plain.stderr) == ("only line\n", "")
        assert run("logs", job, "--attempt", "1").stderr.startswith("Attempt 1 of 1")
        assert "has 1 attempt(s), so it has no attempt 2" in run("logs", job, "--attempt", "2").output

    def test_a_job_not_started_has_no_attempt_to_show(self):
        """--attempt on a job Batch has not started says no attempt was made yet."""
        described = {"jobId": "j", "status": "RUNNABLE", "attempts": []}
        with pytest.raises(CliError) as raised:
            chosen_attempt(described, "job-1", 1)
        assert raised.value.cause == (
            "job job-1 has made no attempt yet (AWS Batch status RUNNABLE), so it has no attempt 1"
        )


class TestArrayChild:
    def test_an_array_child_s_attempts_are_found_like_any_job_s(self, run, flock, submit_batch_job):
        """A child of an array (`<array id>:<index>`) has its own attempts, each with its own log."""
        array_id = submit_batch_job("array", size=3)
        child = f"{array_id}:2"
        latest = ended(flock, child)["container"]["logStreamName"]
        record_earlier_attempt(child, "test-worker/default/child-2-first-task")
        write_stream(flock, "test-worker/default/child-2-first-task", ["child 2, attempt 1"])
        write_stream(flock, latest, ["child 2, attempt 2"])
        job = put_row(flock, child)
        assert run("logs", job, "--attempt", "1").stdout == "child 2, attempt 1\n"
        second = run("logs", job)
        assert second.stdout == "child 2, attempt 2\n"
        assert second.stderr.startswith("Attempt 2 of 2")


class TestAttemptsOfDescribeJobs:
    def test_an_attempt_under_way_is_counted_though_batch_lists_only_ended_ones(self):
        """AWS lists ended attempts only: a RUNNING job's current attempt comes from its container."""
        described = {
            "jobId": "j",
            "status": "RUNNING",
            "jobDefinition": "arn:aws:batch:us-east-1:1:job-definition/def:3",
            "attempts": [
                {
                    "container": {"logStreamName": "def/default/task-1", "exitCode": 137},
                    "stoppedAt": 2,
                    "statusReason": "Host EC2 (instance i-1) terminated.",
                }
            ],
            "container": {"logStreamName": "def/default/task-2", "taskArn": "arn:aws:ecs:r:1:task/c/task-2"},
        }
        attempts = attempts_of(described)
        assert [(a.number, a.streams, a.ended) for a in attempts] == [
            (1, ["def/default/task-1"], True),
            (2, ["def/default/task-2", "def/default/task-2"], False),
        ]
        assert attempts[0].describe() == "exit code 137, Host EC2 (instance i-1) terminated."
        assert attempts[1].describe() == "running"

    def test_an_attempt_listed_without_a_stop_is_the_one_under_way(self):
        """An emulator lists the running attempt without stoppedAt: it is not counted twice."""
        described = {"jobId": "j", "status": "RUNNING", "attempts": [{"container": {"logStreamName": "s"}}]}
        assert [(a.number, a.ended) for a in attempts_of(described)] == [(1, False)]

    def test_a_job_not_started_has_no_attempt(self):
        """A RUNNABLE job has made no attempt."""
        assert attempts_of({"jobId": "j", "status": "RUNNABLE", "attempts": []}) == []
