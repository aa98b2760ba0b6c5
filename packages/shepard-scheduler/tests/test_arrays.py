"""Batches of uploads become array jobs: one SubmitJob, one claim per row, a manifest, each row its child."""

from __future__ import annotations

import json
import os
import time

import pytest
from shepard_core import JobStatus, manifest_location, parse_child_job_id
from shepard_scheduler import s3_events
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._core import S3ObjectRef
from shepard_scheduler._outcome import OutcomeKind

INPUTS = json.dumps({"test": "hello"})


class _Calls:
    """Counts the calls one operation of a client makes (a botocore `before-call` hook)."""

    def __init__(self, client, operation):
        self.count = 0
        client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", self)

    def __call__(self, **_):
        self.count += 1


def _upload_many(flock, count, prefix="many"):
    for number in range(count):
        flock.upload(f"{prefix}/{number}.zip", {"inputs.txt": json.dumps({"N": str(number)})})


def _array_of(flock, row):
    """Return the array (or plain) job id a row's Batch job id names, and the child's index."""
    return parse_child_job_id(row["SHEPARD_BATCH_JOB_ID"])


def _job_for_index(flock, token, index):
    """Return the job UUID the manifest of claim `token` names for child `index`, as a child reads it."""
    key, position = manifest_location(token, index)
    return flock.manifests()[key][position]


def _assert_each_row_owned_once(flock):
    """Every submitted row names its own child, and only the array holding the row's claim lists it there."""
    for row in flock.rows():
        if row["JOB_STATUS"] == JobStatus.REJECTED.value:
            continue
        parent, index = _array_of(flock, row)
        [job] = flock.batch.describe_jobs(jobs=[parent])["jobs"]
        environment = {pair["name"]: pair["value"] for pair in job["container"]["environment"]}
        assert environment["SHEPARD_ARRAY_CLAIM"] == row["SHEPARD_ARRAY_CLAIM"]
        if index is not None:
            assert int(row["SHEPARD_ARRAY_INDEX"]) == index
            assert _job_for_index(flock, row["SHEPARD_ARRAY_CLAIM"], index) == row["UUID"]
        else:
            assert environment["UUID"] == row["UUID"]


class TestOneArrayPerBatch:
    def test_batch_of_uploads_is_one_array_job(self, flock, context):
        """Five uploads in one batch make one SubmitJob: an array of five whose children the rows name."""
        # GIVEN five uploads delivered in one batch
        _upload_many(flock, 5)
        event = flock.job_messages()
        submits = _Calls(aws_clients(os.environ).batch, "SubmitJob")
        # WHEN the scheduler handles the batch
        response = s3_events.handler(event, context)
        # THEN one SubmitJob made one array of five, and each row records its own child
        assert response == {"batchItemFailures": []}
        assert submits.count == 1
        rows = flock.rows()
        assert len(rows) == 5
        parents = {_array_of(flock, row)[0] for row in rows}
        assert len(parents) == 1
        [array] = flock.batch.describe_jobs(jobs=list(parents))["jobs"]
        assert array["arrayProperties"]["size"] == 5
        assert sorted(int(row["SHEPARD_ARRAY_INDEX"]) for row in rows) == list(range(5))
        assert {row["JOB_STATUS"] for row in rows} == {"submitted"}
        assert all("SHEPARD_SUBMIT_LEASE_UNTIL" not in row for row in rows)
        # AND the only override is the claim token; the manifest lists the jobs by index, with a TTL
        environment = {pair["name"] for pair in array["container"]["environment"]} - {"AWS_BATCH_JOB_ID"}
        assert environment == {"SHEPARD_ARRAY_CLAIM"}
        [(key, jobs)] = flock.manifests().items()
        assert key == f"SHEPARD_ARRAY#{rows[0]['SHEPARD_ARRAY_CLAIM']}#0"
        assert len(jobs) == 5
        [manifest] = [item for item in flock.items() if item["UUID"]["S"] == key]
        assert int(manifest["END_TIME"]["N"]) > time.time() + 13 * 86400
        _assert_each_row_owned_once(flock)

    def test_more_than_one_transaction_of_rows(self, flock, context):
        """A batch of 120 uploads (two claim transactions) is still one array with every row recorded."""
        _upload_many(flock, 120)
        event = flock.job_messages()
        transactions = _Calls(aws_clients(os.environ).dynamodb, "TransactWriteItems")
        response = s3_events.handler(event, context)
        assert response == {"batchItemFailures": []}
        rows = flock.rows()
        assert len(rows) == 120
        assert len({_array_of(flock, row)[0] for row in rows}) == 1
        # two to claim the rows and two to record their children
        assert transactions.count == 4
        _assert_each_row_owned_once(flock)

    def test_mixed_batch_rejects_the_invalid_and_arrays_the_rest(self, flock, context):
        """Invalid zips in a batch are rejected with reports; the valid ones still form one array."""
        _upload_many(flock, 3)
        flock.upload("bad.zip", {"inputs.txt": json.dumps({"UUID": "mine"})})
        response = s3_events.handler(flock.job_messages(), context)
        assert response == {"batchItemFailures": []}
        statuses = sorted(row["JOB_STATUS"] for row in flock.rows())
        assert statuses == ["rejected", "submitted", "submitted", "submitted"]
        assert flock.report_keys() == ["rejected/bad.zip.json"]
        _assert_each_row_owned_once(flock)


class TestExactlyOnce:
    def test_same_record_twice_in_one_batch_is_one_job(self, flock, context):
        """An S3 event delivered twice in one batch claims its row once and becomes one child."""
        _upload_many(flock, 2)
        event = flock.job_messages()
        doubled = {"Records": [*event["Records"], {**event["Records"][0], "messageId": "again"}]}
        submits = _Calls(aws_clients(os.environ).batch, "SubmitJob")
        response = s3_events.handler(doubled, context)
        assert response == {"batchItemFailures": []}
        assert submits.count == 1
        assert len(flock.rows()) == 2
        [jobs] = flock.manifests().values()
        assert sorted(jobs) == sorted(row["UUID"] for row in flock.rows())

    def test_redelivered_batch_submits_nothing(self, flock, context):
        """A batch delivered again (SQS redelivery, or the event in another batch) schedules nothing new."""
        _upload_many(flock, 3)
        event = flock.job_messages()
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        before = {row["UUID"]: row["SHEPARD_BATCH_JOB_ID"] for row in flock.rows()}
        submits = _Calls(aws_clients(os.environ).batch, "SubmitJob")
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        assert submits.count == 0
        assert {row["UUID"]: row["SHEPARD_BATCH_JOB_ID"] for row in flock.rows()} == before

    def test_lambda_dying_before_submit_is_resumed_once(self, flock, context):
        """Rows claimed by an invocation that died before SubmitJob are re-claimed and submitted once."""
        # GIVEN an invocation that dies inside SubmitJob, after claiming the rows and writing the manifest
        _upload_many(flock, 3)
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
        dead_tokens = {row["SHEPARD_ARRAY_CLAIM"] for row in flock.rows()}
        assert {row["JOB_STATUS"] for row in flock.rows()} == {"not_yet_initiated"}
        # WHEN the batch is redelivered after the visibility timeout
        context.remaining_ms = 60_000
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        # THEN every row holds a new claim, owned by one new array
        rows = flock.rows()
        assert {row["JOB_STATUS"] for row in rows} == {"submitted"}
        assert not {row["SHEPARD_ARRAY_CLAIM"] for row in rows} & dead_tokens
        assert len({_array_of(flock, row)[0] for row in rows}) == 1
        _assert_each_row_owned_once(flock)

    def test_lost_submit_job_response_leaves_the_first_array_without_rows(self, flock, context):
        """An array whose SubmitJob answer was lost owns no row after the retry: rows hold the new token."""
        # GIVEN a SubmitJob that reaches Batch but whose answer never reaches the scheduler
        _upload_many(flock, 3)
        event = flock.job_messages()
        batch = aws_clients(os.environ).batch
        lost = []

        def lose(parsed, **_):
            lost.append(parsed["jobId"])
            raise ConnectionError("answer lost")

        batch.meta.events.register("after-call.batch.SubmitJob", lose)
        first = s3_events.handler(event, context)
        batch.meta.events.unregister("after-call.batch.SubmitJob", lose)
        # THEN every message is left for redelivery and the rows' leases are released
        assert len(first["batchItemFailures"]) == 3
        assert all("SHEPARD_SUBMIT_LEASE_UNTIL" not in row for row in flock.rows())
        old_token = flock.rows()[0]["SHEPARD_ARRAY_CLAIM"]
        # WHEN SQS redelivers them
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        # THEN the rows name children of the new array, and the lost array's token is on no row
        rows = flock.rows()
        assert {_array_of(flock, row)[0] for row in rows}.isdisjoint(lost)
        assert old_token not in {row["SHEPARD_ARRAY_CLAIM"] for row in rows}
        # AND a child of the lost array reading its manifest finds a job whose row it may not claim
        orphan_job = _job_for_index(flock, old_token, 0)
        assert flock.row(orphan_job)["SHEPARD_ARRAY_CLAIM"] != old_token
        _assert_each_row_owned_once(flock)

    def test_row_a_worker_started_is_not_recorded_over(self, flock, context):
        """A row a child already claimed before the scheduler records it keeps the worker's status."""
        # GIVEN a worker that claims the first row as soon as the array exists
        _upload_many(flock, 2)
        event = flock.job_messages()
        batch = aws_clients(os.environ).batch
        started = []

        def worker_starts(parsed, **_):
            [row] = [r for r in flock.rows() if r["UUID"] not in started][:1]
            flock.dynamodb.update_item(
                TableName="shepard-jobs",
                Key={"UUID": {"S": row["UUID"]}},
                UpdateExpression="SET JOB_STATUS = :s",
                ConditionExpression="SHEPARD_ARRAY_CLAIM = :t",
                ExpressionAttributeValues={
                    ":s": {"S": "in_progress"},
                    ":t": {"S": row["SHEPARD_ARRAY_CLAIM"]},
                },
            )
            started.append(row["UUID"])

        batch.meta.events.register("after-call.batch.SubmitJob", worker_starts)
        response = s3_events.handler(event, context)
        batch.meta.events.unregister("after-call.batch.SubmitJob", worker_starts)
        # THEN both messages succeed; the started row keeps its status, the other is recorded
        assert response == {"batchItemFailures": []}
        [worker_row] = [row for row in flock.rows() if row["UUID"] in started]
        [other] = [row for row in flock.rows() if row["UUID"] not in started]
        assert worker_row["JOB_STATUS"] == "in_progress"
        assert "SHEPARD_BATCH_JOB_ID" not in worker_row
        assert other["JOB_STATUS"] == "submitted"

    def test_started_row_without_batch_id_is_never_reclaimed(self, flock, make_scheduler):
        """A row a worker started (status moved on, lease gone) is a duplicate, never a second claim."""
        flock.upload("running.zip", {"inputs.txt": INPUTS})
        etag = flock.s3.head_object(Bucket="shepard-inputs", Key="running.zip")["ETag"].strip('"')
        ref = S3ObjectRef(bucket="shepard-inputs", key="running.zip", etag=etag)
        flock.dynamodb.put_item(
            TableName="shepard-jobs",
            Item={
                "UUID": {"S": ref.job_id},
                "JOB_STATUS": {"S": "in_progress"},
                "SHEPARD_ARRAY_CLAIM": {"S": "f" * 32},
                "END_TIME": {"N": str(int(time.time()) + 86400)},
            },
        )
        outcome = make_scheduler().schedule_s3_object(ref, deadline=time.time() + 60)
        assert outcome.kind is OutcomeKind.DUPLICATE
        assert flock.row(ref.job_id)["SHEPARD_ARRAY_CLAIM"] == "f" * 32
        assert flock.jobs() == []

    def test_failed_submit_fails_every_message_of_the_array(self, flock, context, throttle):
        """When the array's SubmitJob fails, every message of it is redelivered and the leases released."""
        _upload_many(flock, 3)
        event = flock.job_messages()
        throttle(aws_clients(os.environ).batch, "SubmitJob", None)
        response = s3_events.handler(event, context)
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        assert failed == {record["messageId"] for record in event["Records"]}
        assert all("SHEPARD_SUBMIT_LEASE_UNTIL" not in row for row in flock.rows())
        assert {row["JOB_STATUS"] for row in flock.rows()} == {"not_yet_initiated"}
