"""Run-again messages on the scheduler's queue against moto: the row they name is submitted to Batch once."""

from __future__ import annotations

import json
import uuid

import pytest
from shepard_core import Attr, JobRow, JobStatus, job_id_for_run_again, run_again_message
from shepard_scheduler import s3_events
from shepard_testing import ResourceNames

GOOD_INPUTS = json.dumps({"SAMPLE": "s1", "TAG": "run1"})


def _run_again_row(flock, *, status=JobStatus.NOT_YET_INITIATED, **changes) -> str:
    """Write a run-again row as `shepard retry` does (an upload of the inputs bucket); return its UUID."""
    flock.upload("batches/job.zip", {"inputs.txt": GOOD_INPUTS})
    version = flock.s3.head_object(Bucket="shepard-inputs", Key="batches/job.zip").get("VersionId")
    job_id = job_id_for_run_again(str(uuid.uuid4()), "request-1")
    fields = {
        "uuid": job_id,
        "status": status,
        "inputs": {"SAMPLE": "s1", "TAG": "run1"},
        "input_zip_name": "batches/job.zip",
        "input_zip_version": version,
        "is_invoked": False,
        "end_time": 2_000_000_000,
        "run_again_of": str(uuid.uuid4()),
        **changes,
    }
    flock.dynamodb.put_item(TableName=ResourceNames().table, Item=JobRow(**fields).to_item())
    return job_id


def _send(flock, body: str) -> None:
    flock.sqs.send_message(QueueUrl=flock.queue_url, MessageBody=body)


@pytest.fixture
def quiet_flock(flock):
    """The flock with its queue emptied of S3's test event and of upload events the tests make by hand."""
    flock.job_messages()
    return flock


def _handle(flock, context):
    event = flock.job_messages()
    return event, s3_events.handler(event, context)


class TestRunAgainMessage:
    def test_the_named_row_is_submitted_to_batch(self, quiet_flock, context):
        """A run-again message gets its row claimed and submitted: a Batch job running that job's UUID."""
        job_id = _run_again_row(quiet_flock)
        quiet_flock.job_messages()  # the upload's own event is not what is tested here
        _send(quiet_flock, run_again_message(job_id))
        _, response = _handle(quiet_flock, context)
        assert response == {"batchItemFailures": []}
        row = quiet_flock.row(job_id)
        assert row["JOB_STATUS"] == "submitted"
        assert row[Attr.RUN_AGAIN_OF]
        [job] = quiet_flock.jobs()
        assert job["jobId"] == row[Attr.BATCH_JOB_ID]
        assert job["environment"]["UUID"] == job_id

    def test_a_repeated_message_submits_nothing_more(self, quiet_flock, context):
        """The same message twice (a repeated request): one Batch job."""
        job_id = _run_again_row(quiet_flock)
        quiet_flock.job_messages()
        for _ in range(2):
            _send(quiet_flock, run_again_message(job_id))
            _, response = _handle(quiet_flock, context)
            assert response == {"batchItemFailures": []}
        assert len(quiet_flock.jobs()) == 1
        assert quiet_flock.row(job_id)["JOB_STATUS"] == "submitted"

    def test_run_again_and_upload_of_one_batch_share_an_array(self, quiet_flock, context):
        """A run-again message and an upload event in one batch become one array of two children."""
        job_id = _run_again_row(quiet_flock)
        quiet_flock.job_messages()
        quiet_flock.upload("batches/other.zip", {"inputs.txt": GOOD_INPUTS})
        _send(quiet_flock, run_again_message(job_id))
        event, response = _handle(quiet_flock, context)
        assert len(event["Records"]) == 2
        assert response == {"batchItemFailures": []}
        rows = quiet_flock.rows()
        assert sorted(row["JOB_STATUS"] for row in rows) == ["submitted", "submitted"]
        assert {row["SHEPARD_ARRAY_INDEX"] for row in rows} == {"0", "1"}
        assert len({row[Attr.BATCH_JOB_ID].split(":")[0] for row in rows}) == 1

    def test_a_row_that_is_gone_is_acknowledged(self, quiet_flock, context):
        """A message naming no row is acknowledged and submits nothing."""
        _send(quiet_flock, run_again_message(str(uuid.uuid4())))
        _, response = _handle(quiet_flock, context)
        assert response == {"batchItemFailures": []}
        assert quiet_flock.jobs() == []

    @pytest.mark.parametrize("status", [JobStatus.JOB_FAILED, JobStatus.IN_PROGRESS, JobStatus.REJECTED])
    def test_a_row_that_is_not_waiting_is_left_alone(self, quiet_flock, context, status):
        """A row that ran (or was rejected) already is not submitted again."""
        job_id = _run_again_row(quiet_flock, status=status)
        quiet_flock.job_messages()
        _send(quiet_flock, run_again_message(job_id))
        _, response = _handle(quiet_flock, context)
        assert response == {"batchItemFailures": []}
        assert quiet_flock.jobs() == []
        assert quiet_flock.row(job_id)["JOB_STATUS"] == status.value

    @pytest.mark.parametrize(
        "body",
        [
            {"type": "shepard.run-again.v2", "job": "0b7e4a1c-2f7d-4c39-9f59-4d8c1b7a0e11"},
            {"type": "shepard.run-again.v1", "job": "not-a-uuid"},
            {"type": "shepard.run-again.v1"},
            {"type": "shepard.run-again.v1", "job": "0b7e4a1c-2f7d-4c39-9f59-4d8c1b7a0e11", "more": 1},
        ],
    )
    def test_a_malformed_run_again_message_fails_alone(self, quiet_flock, context, body):
        """A run-again message that cannot be read is failed (for the dead-letter queue); the rest go on."""
        quiet_flock.upload("batches/other.zip", {"inputs.txt": GOOD_INPUTS})
        _send(quiet_flock, json.dumps(body))
        event, response = _handle(quiet_flock, context)
        [bad] = [r["messageId"] for r in event["Records"] if "shepard.run-again" in r["body"]]
        assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
        assert [row["JOB_STATUS"] for row in quiet_flock.rows()] == ["submitted"]
