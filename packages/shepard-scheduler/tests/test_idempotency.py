"""The scheduling core against moto: one row and one Batch job per S3 object, however it is delivered."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from shepard_core import JobRow, JobStatus
from shepard_scheduler import s3_events
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._core import S3ObjectRef
from shepard_scheduler._outcome import JobInFlightError, OutcomeKind
from shepard_scheduler._rows import JobRowCreator

INPUTS = json.dumps({"test": "hello"})


def _ref(flock, key):
    etag = flock.s3.head_object(Bucket="shepard-inputs", Key=key)["ETag"]
    return S3ObjectRef(bucket="shepard-inputs", key=key, etag=etag.strip('"'))


def _interrupted_row(flock, ref, *, lease_until_ms):
    """Write the row an invocation that died after its conditional put would have left."""
    row = JobRow(
        uuid=ref.job_id,
        status=JobStatus.NOT_YET_INITIATED,
        inputs={"test": "hello"},
        input_zip_name=ref.key,
        is_invoked=False,
        end_time=int(time.time()) + 86400,
    )
    assert JobRowCreator(flock.dynamodb, "shepard-jobs").create(row, lease_until_ms=lease_until_ms) is None


class TestConcurrentDelivery:
    def test_concurrent_deliveries_make_one_job(self, flock, make_scheduler):
        """Four invocations scheduling the same object at once make one row and one Batch job."""
        # GIVEN one upload and four schedulers with their own clients
        flock.upload("race.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "race.zip")
        schedulers = [make_scheduler() for _ in range(4)]
        barrier = threading.Barrier(len(schedulers))
        results: list[object] = []

        def deliver(scheduler):
            barrier.wait()
            try:
                results.append(scheduler.schedule_s3_object(ref, deadline=time.time() + 60))
            except JobInFlightError as exc:
                results.append(exc)

        # WHEN they all deliver the same notification at the same moment
        threads = [threading.Thread(target=deliver, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # THEN exactly one submitted; the others saw a duplicate or a job in flight (and will retry)
        kinds = [r.kind if not isinstance(r, Exception) else "in flight" for r in results]
        assert kinds.count(OutcomeKind.SCHEDULED) == 1
        assert set(kinds) <= {OutcomeKind.SCHEDULED, OutcomeKind.DUPLICATE, "in flight"}
        assert len(flock.rows()) == 1
        assert len(flock.jobs()) == 1
        # AND a retry of any of them finds the job done
        again = schedulers[0].schedule_s3_object(ref, deadline=time.time() + 60)
        assert again.kind is OutcomeKind.DUPLICATE
        assert again.batch_job_id == flock.rows()[0]["SHEPARD_BATCH_JOB_ID"]


class TestInterruptedSubmission:
    def test_row_without_batch_job_is_completed(self, flock, make_scheduler):
        """A row left without a Batch job id by a crashed invocation is submitted on redelivery, once."""
        # GIVEN the row a crashed invocation left (its lease ran out with it)
        flock.upload("crash.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "crash.zip")
        _interrupted_row(flock, ref, lease_until_ms=int(time.time() * 1000) - 1)
        # WHEN the message is redelivered
        outcome = make_scheduler().schedule_s3_object(ref, deadline=time.time() + 60)
        # THEN the job is submitted and recorded, and no second row appears
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert outcome.resumed
        [row] = flock.rows()
        [job] = flock.jobs()
        assert row["SHEPARD_BATCH_JOB_ID"] == job["jobId"]
        assert row["JOB_STATUS"] == "submitted"

    def test_job_submitted_but_not_recorded_is_fenced_by_a_new_claim(self, flock, make_scheduler):
        """A Batch job submitted by an invocation that died before recording it loses the row's claim."""
        # GIVEN a crash after SubmitJob and before the row was updated: the row holds the old token
        flock.upload("late.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "late.zip")
        _interrupted_row(flock, ref, lease_until_ms=int(time.time() * 1000) - 1)
        old_token = "0" * 32
        flock.dynamodb.update_item(
            TableName="shepard-jobs",
            Key={"UUID": {"S": ref.job_id}},
            UpdateExpression="SET SHEPARD_ARRAY_CLAIM = :t",
            ExpressionAttributeValues={":t": {"S": old_token}},
        )
        orphan = flock.batch.submit_job(
            jobName=f"shepard-{old_token}", jobQueue="shepard-job-queue", jobDefinition="shepard-job"
        )["jobId"]
        # WHEN the message is redelivered
        outcome = make_scheduler().schedule_s3_object(ref, deadline=time.time() + 60)
        # THEN a new job holds a new claim on the row; the orphan's token no longer matches it
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert outcome.resumed
        row = flock.row(ref.job_id)
        assert row["SHEPARD_BATCH_JOB_ID"] == outcome.batch_job_id != orphan
        assert row["SHEPARD_ARRAY_CLAIM"] != old_token
        [job] = [job for job in flock.jobs() if job["jobId"] == outcome.batch_job_id]
        assert job["environment"]["SHEPARD_ARRAY_CLAIM"] == row["SHEPARD_ARRAY_CLAIM"]

    def test_live_lease_defers_to_its_holder(self, flock, make_scheduler):
        """While another invocation's lease is live, a redelivery submits nothing and asks to be retried."""
        flock.upload("busy.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "busy.zip")
        _interrupted_row(flock, ref, lease_until_ms=int((time.time() + 60) * 1000))
        with pytest.raises(JobInFlightError, match=ref.job_id):
            make_scheduler().schedule_s3_object(ref, deadline=time.time() + 60)
        assert flock.jobs() == []

    def test_handler_reports_in_flight_job_for_redelivery(self, flock, context):
        """The S3-event handler lists a message whose job is in flight elsewhere in batchItemFailures."""
        flock.upload("busy.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "busy.zip")
        _interrupted_row(flock, ref, lease_until_ms=int((time.time() + 60) * 1000))
        event = flock.job_messages()
        response = s3_events.handler(event, context)
        assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    def test_crash_between_put_and_submit_recovers_through_the_handler(self, flock, context):
        """An invocation that dies after its put, redelivered after its deadline, makes one job."""
        # GIVEN an invocation whose SubmitJob never returns (its process dies: here, a BaseException)
        flock.upload("dies.zip", {"inputs.txt": INPUTS})
        event = flock.job_messages()
        batch = aws_clients(os.environ).batch

        class Killed(BaseException):
            pass

        def die(**_):
            raise Killed

        batch.meta.events.register("before-send.batch.SubmitJob", die)
        context.remaining_ms = 1
        with pytest.raises(Killed):
            s3_events.handler(event, context)
        batch.meta.events.unregister("before-send.batch.SubmitJob", die)
        [row] = flock.rows()
        assert row["JOB_STATUS"] == "not_yet_initiated"
        # WHEN SQS redelivers the message after the visibility timeout
        context.remaining_ms = 60_000
        response = s3_events.handler(event, context)
        # THEN the row is completed with one Batch job
        assert response == {"batchItemFailures": []}
        [row] = flock.rows()
        [job] = flock.jobs()
        assert row["SHEPARD_BATCH_JOB_ID"] == job["jobId"]
