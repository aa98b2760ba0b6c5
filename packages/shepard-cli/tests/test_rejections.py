"""Rejected jobs: logs and status say what happened and where the report is; stale reports are not shown."""

import json
import uuid

from shepard_cli._rejections import rejected_job_message
from shepard_core import JobRow, JobStatus, api_rejection_report_key, rejection_report_key


def _row(flock, status, *, zip_name="job.zip", reason=None, is_invoked=False):
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=status,
        inputs={},
        input_zip_name="" if is_invoked else zip_name,
        is_invoked=is_invoked,
        end_time=2_000_000_000,
        start_time="2026-01-01T00-00-00Z",
        rejection_reason=reason,
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row


def _upload(flock, key, body):
    """Upload a zip to the inputs bucket and return its ETag without quotes, as S3 events give it."""
    etag = flock.client("s3").put_object(Bucket=flock.inputs_bucket, Key=key, Body=body)["ETag"]
    return etag.strip('"')


def _report(flock, key, *, job, reason, etag=None):
    document = {
        "uuid": job,
        "job_status": "rejected",
        "error": "InvalidJSONError",
        "reason": reason,
        "input_zip_name": key,
        "inputs_bucket": flock.inputs_bucket,
        "etag": etag,
        "version_id": None,
    }
    flock.client("s3").put_object(
        Bucket=flock.errors_bucket, Key=rejection_report_key(key), Body=json.dumps(document)
    )


class TestLogsOfARejectedJob:
    def test_says_what_happened_and_what_to_do(self, run, flock):
        """Logs of a rejected upload give the reason, the report's S3 URL and to upload fixed inputs."""
        row = _row(flock, JobStatus.REJECTED, zip_name="sub/bad.zip", reason="inputs.txt is not valid JSON")
        _report(flock, "sub/bad.zip", job=row.uuid, reason="inputs.txt is not valid JSON")
        result = run("logs", row.uuid)
        assert result.exit_code == 1
        assert result.output.count("\n") == 1
        assert f"job {row.uuid} was rejected when it was scheduled" in result.output
        assert "inputs.txt is not valid JSON" in result.output
        assert f"s3://{flock.errors_bucket}/rejected/sub/bad.zip.json" in result.output
        assert "fix the job's inputs and upload sub/bad.zip again" in result.output
        assert "try again" not in result.output
        assert "Traceback" not in result.output

    def test_endpoint_job_points_at_its_api_report(self, run, flock):
        """Logs of a rejected endpoint request name its api report and batch-via-api."""
        row = _row(flock, JobStatus.REJECTED, reason="'UUID' is a reserved keyword", is_invoked=True)
        result = run("logs", row.uuid)
        assert result.exit_code == 1
        assert api_rejection_report_key(row.uuid) in result.output
        assert "send it again with shepard batch-via-api" in result.output

    def test_report_of_a_later_upload_is_named_as_such(self, run, flock):
        """When the key's report now describes another upload, logs says so."""
        row = _row(flock, JobStatus.REJECTED, reason="bad")
        _report(flock, "job.zip", job="later-job", reason="worse")
        result = run("logs", row.uuid)
        assert "which now describes a later upload of the same key (job later-job)" in result.output

    def test_multi_line_reason_is_one_line(self, flock):
        """A reason spread over several lines is told on one line."""
        row = _row(flock, JobStatus.REJECTED, reason="first\nsecond\n")
        cause, hint = rejected_job_message(row, None, None)
        assert "\n" not in cause + hint
        assert cause.endswith("first second")
        assert "key rejected/job.zip.json of the flock's errors bucket" in hint

    def test_job_not_yet_submitted(self, run, flock):
        """Logs of a job the scheduler has not yet submitted says so, not that it was rejected."""
        row = _row(flock, JobStatus.NOT_YET_INITIATED)
        result = run("logs", row.uuid)
        assert result.exit_code == 1
        assert "has no AWS Batch job yet (status not_yet_initiated)" in result.output
        assert "rejected" not in result.output


class TestStatusOfARejectedJob:
    def test_status_names_the_report(self, run, flock):
        """Status of a rejected job names where its report is."""
        row = _row(flock, JobStatus.REJECTED, zip_name="a.zip", reason="bad")
        document = json.loads(run("status", row.uuid, "--output", "json").output)
        assert document["job"]["report"] == f"s3://{flock.errors_bucket}/rejected/a.zip.json"
        table = run("status", row.uuid).output
        assert f"s3://{flock.errors_bucket}/rejected/a.zip.json" in table


class TestStaleReports:
    def _rejected(self, run, flock):
        return json.loads(run("query", "--status", "rejected", "--output", "json").output)

    def test_report_of_the_current_upload_is_shown(self, run, flock):
        """A report whose upload is still the key's object is listed as a rejection."""
        etag = _upload(flock, "k.zip", b"v1")
        _report(flock, "k.zip", job="old", reason="bad v1", etag=etag)
        assert [(v["uuid"], v["reason"]) for v in self._rejected(run, flock)] == [("old", "bad v1")]

    def test_report_of_a_replaced_upload_is_not_shown(self, run, flock):
        """Once the key is uploaded again, the report of the earlier upload is no longer a rejection."""
        etag = _upload(flock, "k.zip", b"v1")
        _report(flock, "k.zip", job="old", reason="bad v1", etag=etag)
        _upload(flock, "k.zip", b"v2")
        assert self._rejected(run, flock) == []

    def test_new_row_of_the_key_never_takes_the_old_reason(self, run, flock):
        """The scheduled row of a new upload of a rejected key shows no rejection reason."""
        etag = _upload(flock, "k.zip", b"v1")
        _report(flock, "k.zip", job="old", reason="bad v1", etag=etag)
        _upload(flock, "k.zip", b"v2")
        new = _row(flock, JobStatus.IN_PROGRESS, zip_name="k.zip")
        (view,) = json.loads(run("query", "--output", "json").output)
        assert (view["uuid"], view["status"], view["reason"]) == (new.uuid, "in_progress", None)

    def test_report_whose_zip_was_deleted_is_shown(self, run, flock):
        """A report whose zip was deleted, not replaced, is still listed."""
        etag = _upload(flock, "k.zip", b"v1")
        _report(flock, "k.zip", job="old", reason="bad v1", etag=etag)
        flock.client("s3").delete_object(Bucket=flock.inputs_bucket, Key="k.zip")
        assert [v["uuid"] for v in self._rejected(run, flock)] == ["old"]

    def test_rejected_row_keeps_its_report_after_a_new_upload(self, run, flock):
        """The rejected row of the earlier upload still shows its reason beside the new job."""
        old = _row(flock, JobStatus.REJECTED, zip_name="k.zip")
        etag = _upload(flock, "k.zip", b"v1")
        _report(flock, "k.zip", job=old.uuid, reason="bad v1", etag=etag)
        _upload(flock, "k.zip", b"v2")
        new = _row(flock, JobStatus.SUBMITTED, zip_name="k.zip")
        views = {v["uuid"]: v for v in json.loads(run("query", "--output", "json").output)}
        assert views[old.uuid]["reason"] == "bad v1"
        assert views[new.uuid]["reason"] is None
