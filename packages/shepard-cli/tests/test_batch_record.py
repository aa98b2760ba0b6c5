"""`batch --many` prints a summary and writes a record; `status`, `logs` and `cancel` take a zip's key."""

import json
from pathlib import Path

from shepard_core import JobRow, JobStatus, job_id_for_s3_object


def _job_folder(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "inputs.txt").write_text(json.dumps({"BASE": "1"}))
    return folder


def _record(path: Path) -> list[dict[str, str]]:
    header, *lines = path.read_text().splitlines()
    return [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]


def _scheduled(flock, key: str, status: JobStatus = JobStatus.JOB_COMPLETE) -> JobRow:
    """Put the row the scheduler makes for the current version of `key`, under the UUID it derives."""
    s3 = flock.client("s3")
    version = s3.head_object(Bucket=flock.inputs_bucket, Key=key)["VersionId"]
    row = JobRow(
        uuid=job_id_for_s3_object(flock.inputs_bucket, key, version_id=version),
        status=status,
        inputs={},
        input_zip_name=key,
        is_invoked=False,
        end_time=2_000_000_000,
        start_time="2026-01-01T00-00-00Z",
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row


class TestSummaryAndRecord:
    def test_many_prints_one_line_and_records_every_tsv_line(self, run, flock, tmp_path):
        """Twelve TSV lines give one summary line and a record mapping each line to its key and job UUID."""
        table = tmp_path / "params.tsv"
        table.write_text("SAMPLE\n" + "".join(f"s{n}\n" for n in range(12)))
        result = run(
            "batch", "--path-to-local-folder-to-batch", str(_job_folder(tmp_path)), "--many", str(table)
        )
        assert result.exit_code == 0, result.output
        (summary,) = result.stdout.splitlines()
        assert summary.startswith(f"Batched 12 job(s) to s3://{flock.inputs_bucket} in ")
        (record,) = Path.cwd().glob("shepard-batch-*.tsv")
        assert summary.endswith(f"are in {record}")
        rows = _record(record)
        # the rows follow the TSV's lines, and each names its upload and the UUID the scheduler derives
        assert [row["line"] for row in rows] == [str(n) for n in range(2, 14)]
        assert {row["source"] for row in rows} == {str(table)}
        versions = flock.client("s3").list_object_versions(Bucket=flock.inputs_bucket)["Versions"]
        by_key = {v["Key"]: v["VersionId"] for v in versions}
        assert sorted(by_key) == sorted(row["key"] for row in rows)
        for row in rows:
            assert row["version_id"] == by_key[row["key"]]
            assert row["job_uuid"] == job_id_for_s3_object(
                flock.inputs_bucket, row["key"], version_id=row["version_id"]
            )

    def test_record_path_can_be_chosen(self, run, flock, tmp_path):
        """--record names the record file; folders given with --many are recorded by folder."""
        folders = []
        for n in range(2):
            folder = tmp_path / f"job{n}"
            folder.mkdir()
            (folder / "inputs.txt").write_text("{}")
            folders += ["--many", str(folder)]
        record = tmp_path / "out" / "mine.tsv"
        record.parent.mkdir()
        result = run("batch", *folders, "--record", str(record))
        assert result.exit_code == 0, result.output
        assert sorted(row["source"] for row in _record(record)) == [
            str(tmp_path / "job0"),
            str(tmp_path / "job1"),
        ]
        assert all(row["line"] == "" for row in _record(record))
        assert list(Path.cwd().glob("shepard-batch-*.tsv")) == []

    def test_one_job_prints_its_key_and_uuid(self, run, flock, tmp_path):
        """A single job needs no record: its line names the key and the job UUID."""
        result = run("batch", str(_job_folder(tmp_path)), "--zip-name-override", "one")
        assert result.exit_code == 0, result.output
        version = flock.client("s3").head_object(Bucket=flock.inputs_bucket, Key="one.zip")["VersionId"]
        job = job_id_for_s3_object(flock.inputs_bucket, "one.zip", version_id=version)
        assert (
            result.stdout == f"Batched {tmp_path / 'job'} as s3://{flock.inputs_bucket}/one.zip (job {job})\n"
        )
        assert list(Path.cwd().glob("shepard-batch-*.tsv")) == []

    def test_unversioned_bucket_says_uuids_come_later(self, run, flock, tmp_path):
        """In a bucket without versioning the UUID cannot be known before the scheduler runs: it says so."""
        flock.client("s3").create_bucket(Bucket="plain")
        result = run("batch", str(_job_folder(tmp_path)), "--s3-bucket-to-upload-to", "plain")
        assert result.exit_code == 0, result.output
        assert "(job " not in result.stdout
        assert "is not versioned" in result.stderr


class TestJobByKey:
    def test_status_takes_a_key_or_an_s3_url(self, run, flock, tmp_path):
        """`status KEY` and `status s3://BUCKET/KEY` show the job of the key's current upload."""
        run("batch", str(_job_folder(tmp_path)), "--zip-name-override", "sample-7")
        row = _scheduled(flock, "sample-7.zip")
        for name in ("sample-7.zip", f"s3://{flock.inputs_bucket}/sample-7.zip"):
            document = json.loads(run("status", name, "--output", "json").output)
            assert document["job"]["uuid"] == row.uuid
            assert document["job"]["input_zip_name"] == "sample-7.zip"

    def test_a_key_uploaded_again_names_its_newest_job(self, run, flock, tmp_path):
        """A key uploaded twice names the job of the second upload, not the first."""
        folder = _job_folder(tmp_path)
        run("batch", str(folder), "--zip-name-override", "again")
        first = _scheduled(flock, "again.zip")
        run("batch", str(folder), "--zip-name-override", "again")
        second = _scheduled(flock, "again.zip", JobStatus.IN_PROGRESS)
        assert first.uuid != second.uuid
        document = json.loads(run("status", "again.zip", "--output", "json").output)
        assert document["job"]["uuid"] == second.uuid

    def test_cancel_and_logs_take_a_key(self, run, flock, tmp_path):
        """Cancel and logs find the job by its key too."""
        run("batch", str(_job_folder(tmp_path)), "--zip-name-override", "done")
        row = _scheduled(flock, "done.zip")
        cancelled = run("cancel", "done.zip")
        assert cancelled.output == f"Job {row.uuid} already ended (job_complete); nothing to cancel.\n"
        logs = run("logs", "done.zip")
        assert logs.exit_code == 1
        assert f"job {row.uuid} has no AWS Batch job yet" in logs.output

    def test_an_upload_not_yet_scheduled_says_so(self, run, flock, tmp_path):
        """A key whose upload has no row yet is named with its job UUID, said to wait for the scheduler."""
        run("batch", str(_job_folder(tmp_path)), "--zip-name-override", "waiting")
        result = run("status", "waiting.zip")
        assert result.exit_code == 1
        assert f"s3://{flock.inputs_bucket}/waiting.zip is uploaded but its job " in result.output
        assert "the scheduler has not taken the upload yet" in result.output

    def test_a_key_of_an_unversioned_bucket_is_found_in_the_table(self, run, flock, tmp_path):
        """Without a version id the key is looked up in the table's INPUT_ZIP_NAME instead."""
        flock.client("s3").create_bucket(Bucket="plain")
        row = JobRow(
            uuid="11111111-2222-4333-8444-555555555555",
            status=JobStatus.JOB_FAILED,
            inputs={},
            input_zip_name="old.zip",
            is_invoked=False,
            end_time=2_000_000_000,
            start_time="2026-01-01T00-00-00Z",
        )
        flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
        document = json.loads(run("status", "s3://plain/old.zip", "--output", "json").output)
        assert document["job"]["uuid"] == row.uuid
