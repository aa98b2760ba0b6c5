"""The scheduling core against moto: one row and one Batch job per S3 object, however it is delivered."""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
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


def _submit_requests(scheduler):
    """Count the SubmitJob requests `scheduler`'s Batch client sends (resends included)."""
    sent: list[int] = []
    scheduler._submitter._batch.meta.events.register(
        "before-send.batch.SubmitJob", lambda **_: sent.append(1)
    )
    return sent


class TestConcurrentDelivery:
    def test_concurrent_deliveries_make_one_job(self, flock, make_scheduler):
        """Deliveries arriving while the first is between its claim and its SubmitJob submit nothing."""
        # GIVEN one upload, four schedulers with their own clients, and the first one about to submit
        flock.upload("race.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "race.zip")
        first, *others = [make_scheduler() for _ in range(4)]
        during: list[object] = []

        def others_deliver(**_):
            for scheduler in others:
                try:
                    during.append(scheduler.schedule_s3_object(ref, deadline=time.time() + 60))
                except JobInFlightError as exc:
                    during.append(exc)

        hook = first._submitter._batch.meta.events
        hook.register("before-call.batch.SubmitJob", others_deliver, unique_id="others-deliver")
        # WHEN the others deliver the same notification at that moment, and the first then submits
        outcome = first.schedule_s3_object(ref, deadline=time.time() + 60)
        hook.unregister("before-call.batch.SubmitJob", unique_id="others-deliver")
        # THEN the first scheduled the job; each other one saw it in flight (and will be redelivered)
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert [type(result) for result in during] == [JobInFlightError] * len(others)
        assert len(flock.rows()) == 1
        assert len(flock.jobs()) == 1
        # AND every later delivery finds the job done
        for scheduler in (first, *others):
            again = scheduler.schedule_s3_object(ref, deadline=time.time() + 60)
            assert again.kind is OutcomeKind.DUPLICATE
            assert again.batch_job_id == outcome.batch_job_id == flock.rows()[0]["SHEPARD_BATCH_JOB_ID"]
        assert len(flock.jobs()) == 1


class TestSubmitJobResent:
    """botocore's retries must never resend a SubmitJob that AWS Batch may already have carried out."""

    @pytest.mark.parametrize(
        "failure",
        [
            pytest.param(lambda url: ConnectionClosedError(endpoint_url=url), id="connection closed"),
            pytest.param(lambda url: ReadTimeoutError(endpoint_url=url), id="read timeout"),
            pytest.param(None, id="500 after creating the job"),
        ],
    )
    def test_a_lost_answer_is_not_resent_and_the_redelivery_fences_the_orphan(
        self, flock, make_scheduler, failure
    ):
        """A SubmitJob that created its job but lost the answer is not resent; the orphan loses the claim."""
        # GIVEN a scheduler whose first SubmitJob reaches Batch but whose answer never arrives
        flock.upload("lost.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "lost.zip")
        scheduler = make_scheduler()
        sent = _submit_requests(scheduler)
        lost = []

        def create_then_lose_the_answer(request, **_):
            if lost:
                return None
            forwarded = urllib.request.Request(  # noqa: S310 - the moto server URL
                request.url, data=request.body, headers=dict(request.headers), method=request.method
            )
            urllib.request.urlopen(forwarded).close()  # noqa: S310
            lost.append(1)
            if failure is None:
                return AWSResponse(request.url, 500, {"x-amzn-ErrorType": "ServerException"}, _Body(b"{}"))
            raise failure(request.url)

        scheduler._submitter._batch.meta.events.register(
            "before-send.batch.SubmitJob", create_then_lose_the_answer
        )
        # WHEN it schedules the upload
        with pytest.raises((ClientError, ConnectionClosedError, ReadTimeoutError)):
            scheduler.schedule_s3_object(ref, deadline=time.time() + 60)
        # THEN the request was sent once: one Batch job exists, and the row waits with no Batch job id
        assert len(sent) == 1
        [orphan] = flock.jobs()
        row = flock.row(ref.job_id)
        assert row["JOB_STATUS"] == "not_yet_initiated"
        assert "SHEPARD_BATCH_JOB_ID" not in row
        assert orphan["environment"]["SHEPARD_ARRAY_CLAIM"] == row["SHEPARD_ARRAY_CLAIM"]
        # AND the redelivered message submits a job under a new claim, which the orphan no longer holds
        outcome = make_scheduler().schedule_s3_object(ref, deadline=time.time() + 60)
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert outcome.resumed
        row = flock.row(ref.job_id)
        tokens = {job["jobId"]: job["environment"]["SHEPARD_ARRAY_CLAIM"] for job in flock.jobs()}
        assert len(tokens) == 2
        assert [job_id for job_id, token in tokens.items() if token == row["SHEPARD_ARRAY_CLAIM"]] == [
            outcome.batch_job_id
        ]

    def test_a_throttled_submit_is_still_retried(self, flock, make_scheduler, throttle):
        """A throttled SubmitJob (certainly not carried out) is resent by botocore and makes one job."""
        flock.upload("slow.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "slow.zip")
        scheduler = make_scheduler()
        hook = throttle(scheduler._submitter._batch, "SubmitJob", 1)
        outcome = scheduler.schedule_s3_object(ref, deadline=time.time() + 60)
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert (hook.calls, hook.throttled) == (2, 1)
        assert len(flock.jobs()) == 1

    def test_a_connection_never_opened_is_still_retried(self, flock, make_scheduler):
        """A SubmitJob whose connection never opened (nothing reached Batch) is resent and makes one job."""
        flock.upload("refused.zip", {"inputs.txt": INPUTS})
        ref = _ref(flock, "refused.zip")
        scheduler = make_scheduler()
        refused = []

        def refuse_once(request, **_):
            if not refused:
                refused.append(1)
                raise EndpointConnectionError(endpoint_url=request.url)

        scheduler._submitter._batch.meta.events.register("before-send.batch.SubmitJob", refuse_once)
        outcome = scheduler.schedule_s3_object(ref, deadline=time.time() + 60)
        assert outcome.kind is OutcomeKind.SCHEDULED
        assert len(flock.jobs()) == 1


class _Body:
    """The raw body botocore reads from a response made by a test hook."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        """Yield the whole body at once."""
        yield self._body


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
