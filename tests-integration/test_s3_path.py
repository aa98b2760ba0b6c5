"""Jobs dropped into the inputs bucket: many at once, and the same notification delivered again."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from flock_testkit import SETTLED, Flock

MANY = 200


@pytest.mark.long  # 200 jobs through the flock: about 30 s, run by `nox -s integration_long`
class TestManyJobs:
    @pytest.mark.slow
    def test_every_job_of_a_large_batch_runs_once_and_leaves_exactly_one_output(self, flock: Flock):
        """200 zips uploaded at once become 200 rows, 200 Batch jobs run once each and 200 output zips."""
        # GIVEN 200 job zips dropped into the inputs bucket at once
        keys = {f"many/job-{n:03d}.zip" for n in range(MANY)}
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda key: flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": key}),
                    sorted(keys),
                )
            )

        # WHEN every job has settled
        def settled() -> dict[str, dict[str, object]] | None:
            rows = flock.rows_for(keys)
            done = len(rows) == MANY and all(row["JOB_STATUS"] in SETTLED for row in rows.values())
            return rows if done else None

        rows = flock.wait_for(settled, timeout=300, what=f"{MANY} jobs to settle", interval=5)

        # THEN each completed once, with exactly one output zip, and nothing is left in the queues
        assert {row["JOB_STATUS"] for row in rows.values()} == {"job_complete"}
        uuids = {str(row["UUID"]) for row in rows.values()}
        assert len(uuids) == MANY
        outputs = flock.outputs_by_job()
        assert all(len(outputs.get(uuid, [])) == 1 for uuid in uuids)
        executor = flock.executor_jobs()
        batch_jobs = [str(row["SHEPARD_BATCH_JOB_ID"]) for row in rows.values()]
        assert len(set(batch_jobs)) == MANY
        assert all(len(executor[batch_job]["attempts"]) == 1 for batch_job in batch_jobs)
        sqs = flock.client("sqs")
        for name in (flock.state.names.queue, flock.state.names.dead_letter_queue):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            assert attributes == {
                "ApproximateNumberOfMessages": "0",
                "ApproximateNumberOfMessagesNotVisible": "0",
            }


class TestDuplicateNotifications:
    def test_a_notification_delivered_again_makes_no_second_job(self, flock: Flock):
        """The same S3 notification sent three more times leaves one row, one Batch job and one output."""
        # GIVEN a job zip whose upload was scheduled and ran
        key = "duplicates/job.zip"
        flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": "duplicate"})
        row = flock.wait_for(
            lambda: next((r for r in flock.rows_for({key}).values() if r["JOB_STATUS"] in SETTLED), None),
            timeout=60,
            what="the job to settle",
        )
        # WHEN its notification (naming the object's version, as S3's does) is delivered three more times
        head = flock.client("s3").head_object(Bucket=flock.state.names.inputs_bucket, Key=key)
        notification = {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-01-01T00:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {
                            "name": flock.state.names.inputs_bucket,
                            "arn": f"arn:aws:s3:::{flock.state.names.inputs_bucket}",
                        },
                        "object": {
                            "key": "duplicates/job.zip".replace("/", "%2F"),
                            "size": head["ContentLength"],
                            "eTag": head["ETag"].strip('"'),
                            "versionId": head["VersionId"],
                            "sequencer": "0055AED6DCD90281E5",
                        },
                    },
                }
            ]
        }
        sqs = flock.client("sqs")
        url = sqs.get_queue_url(QueueName=flock.state.names.queue)["QueueUrl"]
        for _ in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(notification))

        def drained() -> bool:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            return (
                attributes["ApproximateNumberOfMessages"]
                == "0"
                == attributes["ApproximateNumberOfMessagesNotVisible"]
            )

        flock.wait_for(drained, timeout=60, what="the queue to drain")

        # THEN there is still one row, one Batch job and one output for that zip
        rows = [r for r in flock.rows().values() if r.get("INPUT_ZIP_NAME") == key]
        assert len(rows) == 1
        assert rows[0]["JOB_STATUS"] == "job_complete"
        assert flock.executor_job_of(str(row["UUID"]))["status"] == "SUCCEEDED"
        assert len(flock.outputs_by_job()[row["UUID"]]) == 1
