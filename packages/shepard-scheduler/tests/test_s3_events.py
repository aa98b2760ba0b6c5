"""The S3-event handler against moto: real notifications in, rows, Batch jobs and reports out."""

from __future__ import annotations

import json
import os
import time

import pytest
from shepard_core import (
    JOB_OVERRIDE_VARIABLES,
    MAX_INPUTS_BYTES,
    Attr,
    array_job_name,
    job_id_for_s3_object,
    rejection_report_key,
)
from shepard_scheduler import s3_events
from shepard_testing import ResourceNames, make_zip, s3_notification, s3_record, sqs_event

INPUTS_BUCKET = ResourceNames().inputs_bucket
GOOD_INPUTS = json.dumps({"test": "hello", "TAG": "run1", "COUNT": 3})


def _run(flock, context, event=None):
    event = flock.job_messages() if event is None else event
    return event, s3_events.handler(event, context)


def _count(document, name):
    value = document[name]
    return sum(value) if isinstance(value, list) else value


def _emf(capsys):
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]


class TestScheduleUpload:
    def test_upload_becomes_one_submitted_job(self, flock, context):
        """An uploaded job zip becomes one submitted Batch job named after its row's UUID."""
        # GIVEN a job zip uploaded to the inputs bucket (moto sends the notification to the queue)
        flock.upload("batches/job 1+2.zip", {"inputs.txt": GOOD_INPUTS, "data/x.txt": "x"})
        # WHEN the scheduler handles the queue's messages
        event, response = _run(flock, context)
        # THEN the job has one row, status submitted, with its inputs and its Batch job id
        assert response == {"batchItemFailures": []}
        etag = flock.s3.head_object(Bucket="shepard-inputs", Key="batches/job 1+2.zip")["ETag"]
        job_id = job_id_for_s3_object("shepard-inputs", "batches/job 1+2.zip", etag=etag)
        row = flock.row(job_id)
        assert row is not None
        assert row["JOB_STATUS"] == "submitted"
        assert row["INPUT_ZIP_NAME"] == "batches/job 1+2.zip"
        assert row["IS_INVOKED"] == "False"
        assert (row["test"], row["TAG"], row["COUNT"]) == ("hello", "run1", "3")
        assert "SHEPARD_SUBMIT_TIME" in row
        assert "SHEPARD_SUBMIT_LEASE_UNTIL" not in row
        assert int(row["END_TIME"]) > time.time() + 13 * 86400
        [job] = flock.jobs()
        assert job["jobId"] == row["SHEPARD_BATCH_JOB_ID"]
        # AND a lone job is a plain Batch job named after its claim, whose overrides name only the job
        token = row["SHEPARD_ARRAY_CLAIM"]
        assert job["jobName"] == array_job_name(token)
        assert "arrayProperties" not in job or not job["arrayProperties"].get("size")
        assert job["environment"] == {"UUID": job_id, "SHEPARD_ARRAY_CLAIM": token}
        assert set(job["environment"]) == JOB_OVERRIDE_VARIABLES
        assert len(event["Records"]) == 1

    def test_test_event_is_acknowledged(self, flock, context, events):
        """S3's test event is acknowledged and schedules nothing."""
        response = s3_events.handler(events.sqs(events.load("s3_test_event")), context)
        assert response == {"batchItemFailures": []}
        assert flock.rows() == []
        assert flock.jobs() == []

    def test_inputs_in_a_single_top_folder_are_found(self, flock, context):
        """A zip made from a folder (inputs.txt one level down) is scheduled like a flat one."""
        flock.upload("folder.zip", {"myjob/inputs.txt": GOOD_INPUTS, "myjob/run.py": "print()"})
        _, response = _run(flock, context)
        assert response == {"batchItemFailures": []}
        assert [row["JOB_STATUS"] for row in flock.rows()] == ["submitted"]

    def test_metrics_and_correlation_id_are_emitted(self, flock, context, capsys, log_lines):
        """One EMF document in the project's namespace counts the jobs, and logs carry the job id."""
        flock.upload("a.zip", {"inputs.txt": GOOD_INPUTS})
        flock.upload("b.zip", {"inputs.txt": "{"})
        capsys.readouterr()
        _run(flock, context)
        out = capsys.readouterr().out
        [job_id] = [row["UUID"] for row in flock.rows() if row["JOB_STATUS"] == "submitted"]
        scheduled = [entry for entry in log_lines() if entry["message"] == "job scheduled"]
        assert scheduled[0]["correlation_id"] == job_id
        [emf] = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
        assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ShepardTest"
        counts = [_count(emf, name) for name in ("JobsScheduled", "JobsRejected", "DuplicatesSkipped")]
        assert counts == [1, 1, 0]


def _oversized_inputs():
    return json.dumps({"BIG": "x" * (MAX_INPUTS_BYTES + 1)})


REJECTIONS = {
    "not a zip": (
        lambda flock, key: flock.s3.put_object(Bucket="shepard-inputs", Key=key, Body=b"hello"),
        "NotAZip",
    ),
    "empty object": (
        lambda flock, key: flock.s3.put_object(Bucket="shepard-inputs", Key=key, Body=b""),
        "NotAZip",
    ),
    "no inputs.txt": (lambda flock, key: flock.upload(key, {"data.txt": "x"}), "InputsNotFound"),
    "two inputs.txt": (
        lambda flock, key: flock.upload(key, {"a/inputs.txt": "{}", "b/inputs.txt": "{}"}),
        "Inputs",
    ),
    "bad JSON": (lambda flock, key: flock.upload(key, {"inputs.txt": '{"a": 1,}'}), "InvalidJSON"),
    "not an object": (lambda flock, key: flock.upload(key, {"inputs.txt": "[1, 2]"}), "NotAnObject"),
    "reserved keyword": (
        lambda flock, key: flock.upload(key, {"inputs.txt": '{"uuid": "mine"}'}),
        "ReservedKeyword",
    ),
    "nested value": (lambda flock, key: flock.upload(key, {"inputs.txt": '{"a": {"b": 1}}'}), "NestedValue"),
    "null value": (lambda flock, key: flock.upload(key, {"inputs.txt": '{"a": null}'}), "NullValue"),
    "invalid key": (lambda flock, key: flock.upload(key, {"inputs.txt": '{"1abc": "x"}'}), "InvalidKey"),
    "duplicate key": (
        lambda flock, key: flock.upload(key, {"inputs.txt": '{"a": "1", "a": "2"}'}),
        "DuplicateKey",
    ),
    "not UTF-8": (lambda flock, key: flock.upload(key, {"inputs.txt": b'{"a": "\xff"}'}), "InputsEncoding"),
    "too big": (lambda flock, key: flock.upload(key, {"inputs.txt": _oversized_inputs()}), "TooLarge"),
}


class TestRejectInvalidJobs:
    @pytest.mark.parametrize("case", list(REJECTIONS))
    def test_invalid_job_is_rejected_with_row_and_report(self, flock, context, case):
        """An invalid job zip gets a rejected row and a report in the errors bucket, and no Batch job."""
        # GIVEN an upload that cannot be a job
        upload, error = REJECTIONS[case]
        key = f"bad/{case.replace(' ', '_')}.zip"
        upload(flock, key)
        # WHEN the scheduler handles it
        _, response = _run(flock, context)
        # THEN the message is acknowledged, nothing is submitted, and the row and report say why
        assert response == {"batchItemFailures": []}
        assert flock.jobs() == []
        [row] = flock.rows()
        assert row["JOB_STATUS"] == "rejected"
        assert row["INPUT_ZIP_NAME"] == key
        assert row["SHEPARD_REJECTION_REASON"]
        assert "SHEPARD_BATCH_JOB_ID" not in row
        report = flock.report(rejection_report_key(key))
        assert report["uuid"] == row["UUID"]
        assert error in report["error"]
        assert report["reason"] == row["SHEPARD_REJECTION_REASON"]
        assert report["input_zip_name"] == key

    def test_reserved_keyword_reason_names_the_keyword(self, flock, context):
        """A reserved keyword's rejection reason names the keyword, so the user knows what to rename."""
        flock.upload("reserved.zip", {"inputs.txt": '{"Job_Status": "done", "ok": "1"}'})
        _run(flock, context)
        [row] = flock.rows()
        assert "Job_Status" in row["SHEPARD_REJECTION_REASON"]

    def test_rejected_zip_with_the_longest_key_gets_a_report_s3_can_store(self, flock, context):
        """A rejected zip with a key of S3's greatest length gets its report under a key S3 can store."""
        # GIVEN an invalid job zip whose key is 1024 bytes, too long for rejected/<key>.json as it is
        key = "bad/" + "k" * 1016 + ".zip"
        upload, _ = REJECTIONS["bad JSON"]
        upload(flock, key)
        # WHEN the scheduler handles it
        _, response = _run(flock, context)
        # THEN the message is acknowledged, the row is rejected and the report lies within S3's key limit
        assert response == {"batchItemFailures": []}
        [row] = flock.rows()
        assert row["JOB_STATUS"] == "rejected"
        [report_key] = flock.report_keys()
        assert len(report_key.encode()) <= 1024
        assert report_key == rejection_report_key(key)
        assert flock.report(report_key)["input_zip_name"] == key

    def test_rejection_redelivered_keeps_one_row_and_report(self, flock, context):
        """A rejected upload delivered again stays one rejected row with one report."""
        flock.upload("bad.zip", {"inputs.txt": "nope"})
        event = flock.job_messages()
        for _ in range(3):
            assert s3_events.handler(event, context) == {"batchItemFailures": []}
        assert [row["JOB_STATUS"] for row in flock.rows()] == ["rejected"]
        assert flock.report_keys() == ["rejected/bad.zip.json"]


class TestDuplicates:
    def test_same_message_three_times_makes_one_job(self, flock, context, capsys):
        """The same notification delivered three times makes one row and one Batch job."""
        flock.upload("dup.zip", {"inputs.txt": GOOD_INPUTS})
        event = flock.job_messages()
        for _ in range(3):
            assert s3_events.handler(event, context) == {"batchItemFailures": []}
        assert len(flock.rows()) == 1
        assert len(flock.jobs()) == 1
        skipped = [_count(doc, "DuplicatesSkipped") for doc in _emf(capsys)]
        assert skipped == [0, 1, 1]

    def test_multipart_upload_events_make_one_job(self, flock, context, events):
        """The two events moto sends for one multipart upload make one job."""
        # GIVEN a zip uploaded in three parts
        body = events.zip({"inputs.txt": GOOD_INPUTS, "payload.bin": os.urandom(11 * 1024 * 1024)})
        upload = flock.s3.create_multipart_upload(Bucket="shepard-inputs", Key="multi.zip")
        part = 5 * 1024 * 1024
        parts = []
        for number, start in enumerate(range(0, len(body), part), start=1):
            etag = flock.s3.upload_part(
                Bucket="shepard-inputs",
                Key="multi.zip",
                UploadId=upload["UploadId"],
                PartNumber=number,
                Body=body[start : start + part],
            )["ETag"]
            parts.append({"ETag": etag, "PartNumber": number})
        flock.s3.complete_multipart_upload(
            Bucket="shepard-inputs",
            Key="multi.zip",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
        )
        # WHEN the scheduler handles both notifications
        event, response = _run(flock, context)
        # THEN one job was made
        assert len(event["Records"]) == 2
        assert response == {"batchItemFailures": []}
        assert [row["JOB_STATUS"] for row in flock.rows()] == ["submitted"]
        assert len(flock.jobs()) == 1

    def test_reupload_of_same_key_is_a_new_job(self, flock, context):
        """Uploading different bytes under the same key schedules a second job."""
        flock.upload("same.zip", {"inputs.txt": GOOD_INPUTS})
        _run(flock, context)
        flock.upload("same.zip", {"inputs.txt": json.dumps({"test": "second"})})
        _run(flock, context)
        assert sorted(row["test"] for row in flock.rows()) == ["hello", "second"]
        assert len(flock.jobs()) == 2


class TestMixedBatches:
    def test_bad_messages_fail_alone(self, flock, context, events):
        """A batch of good, invalid and malformed messages reports only the malformed one as failed."""
        flock.upload("good.zip", {"inputs.txt": GOOD_INPUTS})
        flock.upload("invalid.zip", {"inputs.txt": '{"PATH": "/x"}'})
        good = flock.job_messages()["Records"]
        malformed = events.sqs("this is not an S3 notification")["Records"]
        test_event = events.sqs(events.load("s3_test_event"))["Records"]
        event = {"Records": [*good, *malformed, *test_event]}
        response = s3_events.handler(event, context)
        assert response == {"batchItemFailures": [{"itemIdentifier": malformed[0]["messageId"]}]}
        assert sorted(row["JOB_STATUS"] for row in flock.rows()) == ["rejected", "submitted"]
        assert len(flock.jobs()) == 1

    def test_events_for_other_buckets_and_deletions_are_ignored(self, flock, context, events):
        """Deletion events and objects outside the inputs bucket schedule nothing and are acknowledged."""
        foreign = events.load("s3_put_moto")
        foreign["Records"][0]["s3"]["bucket"]["name"] = "someone-elses-bucket"
        event = events.sqs(foreign, events.load("s3_delete_real"))
        assert s3_events.handler(event, context) == {"batchItemFailures": []}
        assert flock.rows() == []

    def test_object_deleted_before_scheduling_is_ignored(self, flock, context, log_lines):
        """A zip deleted before it was read is acknowledged with a warning and no row."""
        flock.upload("gone.zip", {"inputs.txt": GOOD_INPUTS})
        flock.s3.delete_object(Bucket="shepard-inputs", Key="gone.zip")
        _, response = _run(flock, context)
        assert response == {"batchItemFailures": []}
        assert flock.rows() == []
        assert flock.jobs() == []
        [warning] = [entry for entry in log_lines() if entry["level"] == "WARNING"]
        assert "gone.zip" in warning["reason"]

    def test_object_replaced_before_scheduling_schedules_only_the_new_version(self, flock, context):
        """When a key is overwritten before its first event is handled, only the new bytes become a job."""
        flock.upload("replaced.zip", {"inputs.txt": json.dumps({"test": "old"})})
        flock.upload("replaced.zip", {"inputs.txt": json.dumps({"test": "new"})})
        _, response = _run(flock, context)
        assert response == {"batchItemFailures": []}
        assert [row["test"] for row in flock.rows()] == ["new"]
        assert len(flock.jobs()) == 1

    @pytest.mark.parametrize("order", ["in order", "newest first"])
    def test_each_version_of_a_key_is_a_job_that_names_its_version(self, flock, context, order):
        """In a versioned bucket every upload to one key is its own job, and its row names its version."""
        # GIVEN a versioned inputs bucket into which one key was uploaded twice, with different inputs
        flock.s3.put_bucket_versioning(Bucket=INPUTS_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        uploads = []
        for word in ("first", "second"):
            body = make_zip({"inputs.txt": json.dumps({"test": word})})
            stored = flock.s3.put_object(Bucket=INPUTS_BUCKET, Key="versions/job.zip", Body=body)
            uploads.append((word, stored["VersionId"], stored["ETag"].strip('"'), len(body)))
        flock.receive()  # moto's own events, which name no version

        # WHEN their notifications, as S3 sends them, arrive (in either order)
        records = [
            s3_record(INPUTS_BUCKET, "versions/job.zip", size=size, etag=etag, version_id=version)
            for _, version, etag, size in uploads
        ]
        if order == "newest first":
            records.reverse()
        _, response = _run(flock, context, sqs_event(s3_notification(*records)))

        # THEN each upload is a job whose row names the version its inputs came from
        assert response == {"batchItemFailures": []}
        rows = {row["test"]: row for row in flock.rows()}
        assert {word: rows[word][Attr.INPUT_ZIP_VERSION] for word in rows} == {
            word: version for word, version, _, _ in uploads
        }
        assert len(rows) == 2

    def test_missing_configuration_fails_the_invocation(self, flock, context, events, monkeypatch):
        """Without its environment variables the handler raises a SchedulerConfigError naming each one."""
        from shepard_scheduler import SchedulerConfigError

        monkeypatch.delenv("SHEPARD_JOB_QUEUE")
        monkeypatch.setenv("SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES", "soon")
        with pytest.raises(SchedulerConfigError, match=r"SHEPARD_JOB_QUEUE is not set; .*'soon'"):
            s3_events.handler(events.sqs(events.load("s3_test_event")), context)
