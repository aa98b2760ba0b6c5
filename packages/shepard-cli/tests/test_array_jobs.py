"""status, logs, cancel and query act on each job of an array: its own child, never its siblings."""

from __future__ import annotations

import json
import time
import uuid

from shepard_cli._jobs import cancel_job
from shepard_core import JobRow, JobStatus, manifest_key


def _put(flock, status, *, batch_job_id=None, **inputs):
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=status,
        inputs=inputs,
        input_zip_name=f"{uuid.uuid4()}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        start_time="2026-01-01T00-00-00Z",
        batch_job_id=batch_job_id,
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row


def _put_manifest(flock, token, job_ids):
    flock.client("dynamodb").put_item(
        TableName=flock.table,
        Item={
            "UUID": {"S": manifest_key(token, 0)},
            "SHEPARD_MANIFEST_JOBS": {"L": [{"S": job_id} for job_id in job_ids]},
            "END_TIME": {"N": "2000000000"},
        },
    )


def _status(flock, batch_job_id):
    return flock.client("batch").describe_jobs(jobs=[batch_job_id])["jobs"][0]


class TestQueryWithArrays:
    def test_manifest_items_are_neither_rows_nor_warnings(self, run, flock):
        """Query lists each job of an array once and says nothing of the array's manifest item."""
        jobs = [_put(flock, JobStatus.SUBMITTED, batch_job_id=f"arr:{i}") for i in range(3)]
        _put_manifest(flock, "a" * 32, [job.uuid for job in jobs])
        result = run("query", "--output", "json")
        assert result.exit_code == 0, result.output
        shown = [view["uuid"] for view in json.loads(result.output)]
        assert sorted(shown) == sorted(job.uuid for job in jobs)
        table = run("query")
        assert "SHEPARD_ARRAY#" not in table.output
        assert "not Shepard job rows" not in table.output

    def test_a_manifest_key_is_not_a_job(self, run, flock):
        """Status on a manifest item's key says it is an array's manifest, in one line."""
        _put_manifest(flock, "a" * 32, ["x"])
        result = run("status", manifest_key("a" * 32, 0))
        assert result.exit_code == 1
        assert "is an array's manifest, not a job" in result.output


class TestStatusOfAChild:
    def test_status_describes_the_jobs_own_child(self, run, flock, submit_batch_job):
        """Status of a job carried by child 1 shows that child's id, its array and its index."""
        array_id = submit_batch_job("shepard-array", size=3)
        row = _put(flock, JobStatus.SUBMITTED, batch_job_id=f"{array_id}:1", A="1")
        document = json.loads(run("status", row.uuid, "--output", "json").output)
        assert document["batch"]["job_id"] == f"{array_id}:1"
        assert document["batch"]["array_job_id"] == array_id
        assert document["batch"]["array_index"] == 1
        assert document["batch"]["status"] == "SUCCEEDED"


class TestLogsOfAChild:
    def test_logs_print_only_the_childs_stream(self, run, flock, submit_batch_job):
        """Logs of a job prints its child's stream, not a sibling's."""
        array_id = submit_batch_job("shepard-array", size=2)
        logs = flock.client("logs")
        logs.create_log_group(logGroupName="/aws/batch/job")
        now = int(time.time() * 1000)
        for index in (0, 1):
            stream = _status(flock, f"{array_id}:{index}")["container"]["logStreamName"]
            if stream not in {
                s["logStreamName"]
                for s in logs.describe_log_streams(logGroupName="/aws/batch/job")["logStreams"]
            }:
                logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)
            logs.put_log_events(
                logGroupName="/aws/batch/job",
                logStreamName=stream,
                logEvents=[{"timestamp": now + index, "message": f"child {index}"}],
            )
        row = _put(flock, JobStatus.JOB_COMPLETE, batch_job_id=f"{array_id}:1")
        result = run("logs", row.uuid)
        assert result.exit_code == 0, result.output
        assert result.output == "child 1\n"


class TestCancelAChild:
    def test_a_queued_child_is_cancelled_alone(self, flock, hold_batch_job, batch_job_gate):
        """Cancelling a job whose child is queued calls CancelJob on that child only, never on the array."""
        # GIVEN an array whose child 0 is held unended (moto's simple Batch runs children one by one)
        held = hold_batch_job("shepard-array", size=2)
        child = held.job_id
        batch = flock.client("batch")
        row = _put(flock, JobStatus.SUBMITTED, batch_job_id=child)
        calls: list[tuple[str, str]] = []
        batch.meta.events.register(
            "before-parameter-build.batch.*",
            lambda model, params, **_: calls.append((model.name, params.get("jobId", ""))),
        )
        # WHEN the job is cancelled
        message = cancel_job(flock.client("dynamodb"), batch, flock.table, row.uuid)
        batch_job_gate.release()
        array_id = held.submitted()
        # THEN only the child was cancelled, with CancelJob
        assert child == f"{array_id}:0"
        assert [call for call in calls if call[0] in {"CancelJob", "TerminateJob"}] == [("CancelJob", child)]
        assert f"child 0 of array {array_id}" in message
        assert _status(flock, child)["statusReason"] == f"Cancelled with shepard cancel {row.uuid}"
        assert (
            _status(flock, f"{array_id}:1").get("statusReason") != f"Cancelled with shepard cancel {row.uuid}"
        )

    def test_a_running_child_is_terminated(self, flock, submit_batch_job):
        """A job whose child is RUNNING is ended with TerminateJob on that child (CancelJob leaves it)."""
        array_id = submit_batch_job("shepard-array", size=2)
        row = _put(flock, JobStatus.IN_PROGRESS, batch_job_id=f"{array_id}:1")
        batch = flock.client("batch")
        calls: list[tuple[str, str]] = []
        running = {"status": "RUNNING"}

        def as_running(parsed, model, **_):
            if model.name == "DescribeJobs":
                for job in parsed.get("jobs", []):
                    job.update(running)

        batch.meta.events.register("after-call.batch.DescribeJobs", as_running)
        batch.meta.events.register(
            "before-parameter-build.batch.*",
            lambda model, params, **_: calls.append((model.name, params.get("jobId", ""))),
        )
        message = cancel_job(flock.client("dynamodb"), batch, flock.table, row.uuid)
        assert [call for call in calls if call[0] in {"CancelJob", "TerminateJob"}] == [
            ("TerminateJob", f"{array_id}:1")
        ]
        assert f"child 1 of array {array_id}" in message
