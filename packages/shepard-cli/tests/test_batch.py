import io
import itertools
import json
import random
import re
import threading
import zipfile
from pathlib import Path

import botocore.exceptions
import pytest
from shepard_cli import _batch
from shepard_cli._aws import Aws
from shepard_cli._errors import CliError

UUID_ZIP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.zip\Z")


def _job(folder, inputs, **files):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inputs.txt").write_text(inputs if isinstance(inputs, str) else json.dumps(inputs))
    for name, text in files.items():
        path = folder / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _zip_members(flock, key):
    body = flock.client("s3").get_object(Bucket=flock.inputs_bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


class TestReadJob:
    def test_folder_without_inputs_is_refused(self, tmp_path):
        """A folder without inputs.txt is refused with what to add."""
        tmp_path.joinpath("job").mkdir()
        with pytest.raises(CliError, match=r"has no inputs\.txt"):
            _batch.read_job(tmp_path / "job")

    @pytest.mark.parametrize(
        ("inputs", "message"),
        [
            ('{"A": ', "not valid JSON"),
            ('{"UUID": "x"}', "reserved keyword"),
            ('{"A": [1]}', "is a list"),
            ("[]", "holds a list"),
        ],
    )
    def test_bad_inputs_are_refused(self, tmp_path, inputs, message):
        """An inputs.txt that shepard-core rejects is refused with its message."""
        with pytest.raises(CliError, match=message):
            _batch.read_job(_job(tmp_path / "job", inputs))


class TestZipJob:
    def test_zip_holds_the_folder_tree(self, tmp_path):
        """The zip holds every file of the folder at its relative path, inputs.txt at the root."""
        job = _batch.read_job(_job(tmp_path / "job", {"A": "1"}, data__x_txt="x", top="t"))
        _batch.zip_job(job, tmp_path / "out.zip")
        with zipfile.ZipFile(tmp_path / "out.zip") as archive:
            assert sorted(archive.namelist()) == ["data/x_txt", "inputs.txt", "top"]

    def test_override_replaces_inputs(self, tmp_path):
        """A parameter set's inputs.txt replaces the folder's in the zip."""
        job = _batch.JobSpec(_job(tmp_path / "job", {"A": "1"}), b'{"A": "2"}')
        _batch.zip_job(job, tmp_path / "out.zip")
        with zipfile.ZipFile(tmp_path / "out.zip") as archive:
            assert archive.namelist() == ["inputs.txt"]
            assert archive.read("inputs.txt") == b'{"A": "2"}'

    def test_zip64_when_limits_are_passed(self, tmp_path, monkeypatch):
        """A zip past the classic limits is written with zip64 records and reads back whole."""
        # GIVEN zip limits scaled down so a small folder passes them (the code path is the same)
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1024)
        monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 10)
        folder = _job(tmp_path / "job", {})
        for i in range(20):
            (folder / f"f{i}").write_bytes(random.Random(i).randbytes(2048))  # noqa: S311 - filler
        # WHEN zipped
        _batch.zip_job(_batch.read_job(folder), tmp_path / "out.zip")
        # THEN the zip64 end record is there and every member reads back
        data = (tmp_path / "out.zip").read_bytes()
        assert b"PK\x06\x06" in data[-200:]
        with zipfile.ZipFile(tmp_path / "out.zip") as archive:
            assert len(archive.namelist()) == 21
            assert archive.read("f3") == random.Random(3).randbytes(2048)  # noqa: S311


class TestZipKey:
    def test_default_is_a_uuid(self):
        """Without an override the key is a fresh UUID zip name."""
        assert UUID_ZIP.match(_batch.zip_key(None))

    def test_override_gets_a_zip_suffix(self):
        """An override without .zip gets it."""
        assert _batch.zip_key("my-job") == "my-job.zip"

    @pytest.mark.parametrize("name", ["/abs", "../up", "a/../b"])
    def test_unsafe_overrides_are_refused(self, name):
        """Overrides that are not plain names are refused."""
        with pytest.raises(CliError, match="cannot name a job zip"):
            _batch.zip_key(name)


class TestBatchCommand:
    def test_batch_uploads_a_uuid_named_zip(self, run, flock, tmp_path):
        """Batch zips the folder and uploads it under a UUID name to the profile's inputs bucket."""
        folder = _job(tmp_path / "job", {"SAMPLE": "1"}, data="d")
        result = run("batch", "--path_to_local_folder_to_batch", str(folder))
        assert result.exit_code == 0, result.output
        (key,) = flock.keys(flock.inputs_bucket)
        assert UUID_ZIP.match(key)
        assert f"s3://{flock.inputs_bucket}/{key}" in result.stdout
        assert _zip_members(flock, key) == {"inputs.txt": b'{"SAMPLE": "1"}', "data": b"d"}

    def test_folder_as_an_argument(self, run, flock, tmp_path):
        """A job folder given as an argument is batched like --path-to-local-folder-to-batch."""
        folder = _job(tmp_path / "job", {"SAMPLE": "2"})
        result = run("batch", str(folder))
        assert result.exit_code == 0, result.output
        (key,) = flock.keys(flock.inputs_bucket)
        assert _zip_members(flock, key) == {"inputs.txt": b'{"SAMPLE": "2"}'}

    def test_several_folders_as_arguments(self, run, flock, tmp_path):
        """Several job folders given as arguments are batched as one job each."""
        folders = [str(_job(tmp_path / f"job{i}", {"I": str(i)})) for i in range(3)]
        result = run("batch", *folders)
        assert result.exit_code == 0, result.output
        assert len(flock.keys(flock.inputs_bucket)) == 3

    def test_bad_job_never_leaves_the_laptop(self, run, flock, tmp_path):
        """A job with a bad inputs.txt is refused and nothing is uploaded."""
        folder = _job(tmp_path / "job", '{"UUID": "mine"}')
        result = run("batch", "--path-to-local-folder-to-batch", str(folder))
        assert result.exit_code == 1
        assert "reserved keyword" in result.output
        assert "nothing was uploaded" in result.output
        assert flock.keys(flock.inputs_bucket) == []

    def test_zip_name_override(self, run, flock, tmp_path):
        """--zip_name_override names the uploaded zip."""
        folder = _job(tmp_path / "job", {})
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--zip_name_override", "named")
        assert result.exit_code == 0, result.output
        assert flock.keys(flock.inputs_bucket) == ["named.zip"]

    def test_options_before_the_command_as_in_the_original_usage(self, run, flock, tmp_path):
        """The original Shepard's usage `shepard_cli [OPTIONS] [COMMAND]` works: command options go first."""
        flock.client("s3").create_bucket(Bucket="other")
        folder = _job(tmp_path / "job", {})
        result = run(
            "--s3_bucket_to_upload_to",
            "other",
            "--endpoint-url",
            flock.endpoint,
            f"--path_to_local_folder_to_batch={folder}",
            "batch",
            "--zip-name-override",
            "first",
        )
        assert result.exit_code == 0, result.output
        assert flock.keys("other") == ["first.zip"]
        # AND an option the command does not take is refused by the command
        refused = run("--json_payload", "{}", "batch", str(folder))
        assert refused.exit_code == 2
        assert "No such option '--json_payload'" in refused.output

    def test_bucket_flag_beats_the_profile(self, run, flock, tmp_path):
        """--s3_bucket_to_upload_to wins over the profile's bucket."""
        flock.client("s3").create_bucket(Bucket="other")
        folder = _job(tmp_path / "job", {})
        result = run(
            "batch", "--path-to-local-folder-to-batch", str(folder), "--s3_bucket_to_upload_to", "other"
        )
        assert result.exit_code == 0, result.output
        assert len(flock.keys("other")) == 1
        assert flock.keys(flock.inputs_bucket) == []

    def test_many_folders_in_parallel(self, run, flock, tmp_path):
        """--many batches each folder as its own job."""
        folders = [_job(tmp_path / f"job{i}", {"I": str(i)}) for i in range(5)]
        args = [arg for folder in folders for arg in ("--many", str(folder))]
        result = run("batch", *args, "--parallel", "3")
        assert result.exit_code == 0, result.output
        keys = flock.keys(flock.inputs_bucket)
        assert len(keys) == 5
        assert sorted(_zip_members(flock, k)["inputs.txt"] for k in keys) == [
            json.dumps({"I": str(i)}).encode() for i in range(5)
        ]

    def test_many_jobs_upload_at_the_same_time(self, flock, tmp_path, gate):
        """With parallel=3, three jobs' uploads are in flight at once."""
        # GIVEN an S3 client whose PutObject calls wait until three of them are running together
        jobs = [_batch.read_job(_job(tmp_path / f"job{i}", {"I": str(i)})) for i in range(3)]
        s3 = flock.client("s3")
        together = threading.Barrier(3, timeout=20)
        s3.meta.events.register("before-call.s3.PutObject", gate(together))
        # WHEN the jobs are batched three at a time
        done = _batch.batch_jobs(s3, flock.inputs_bucket, jobs, parallel=3)
        # THEN every upload got past the barrier, so they overlapped, and all arrived
        assert len(done) == 3
        assert len(flock.keys(flock.inputs_bucket)) == 3

    def test_failed_upload_among_many_names_the_jobs_batched(self, run, flock, tmp_path, monkeypatch):
        """When one upload of several fails, the jobs uploaded are listed and the failure is one line."""
        # GIVEN S3 clients on which the second PutObject is refused
        calls = itertools.count(1)
        original = Aws.client

        def refuse_second(**_):
            if next(calls) == 2:
                raise botocore.exceptions.ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
                )

        def client(self, service):
            made = original(self, service)
            made.meta.events.register("before-call.s3.PutObject", refuse_second)
            return made

        monkeypatch.setattr(Aws, "client", client)
        folders = [str(_job(tmp_path / f"job{i}", {"I": str(i)})) for i in range(3)]
        # WHEN three jobs are batched
        result = run("batch", *folders, "--parallel", "1")
        # THEN the two that arrived are in the record, with a note and the refusal in one line each
        assert result.exit_code == 1
        keys = flock.keys(flock.inputs_bucket)
        assert len(keys) == 2
        (record,) = Path.cwd().glob("shepard-batch-*.tsv")
        batched = record.read_text().splitlines()[1:]
        assert sorted(line.split("\t")[2] for line in batched) == keys
        assert "2 of 3 job(s) were batched (in " in result.stderr
        assert "Error: AWS refused PutObject: AccessDenied" in result.stderr
        assert "Traceback" not in result.output

    def test_many_refuses_everything_when_one_job_is_bad(self, run, flock, tmp_path):
        """One bad folder among many stops the batch before any upload."""
        good = _job(tmp_path / "good", {})
        bad = _job(tmp_path / "bad", "nope")
        result = run("batch", "--many", str(good), "--many", str(bad))
        assert result.exit_code == 1
        assert flock.keys(flock.inputs_bucket) == []

    def test_tsv_parameter_sets_over_one_folder(self, run, flock, tmp_path):
        """A TSV makes one job per line, its cells overriding the folder's inputs.txt."""
        folder = _job(tmp_path / "job", {"A": "base", "B": "keep"})
        table = tmp_path / "params.tsv"
        table.write_text("A\tC\nx\t1\ny\t\n")
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--many", str(table))
        assert result.exit_code == 0, result.output
        inputs = sorted(
            (json.loads(_zip_members(flock, k)["inputs.txt"]) for k in flock.keys(flock.inputs_bucket)),
            key=lambda d: d["A"],
        )
        assert inputs == [{"A": "x", "B": "keep", "C": "1"}, {"A": "y", "B": "keep"}]

    def test_tsv_with_reserved_name_is_refused(self, run, flock, tmp_path):
        """A TSV column naming a reserved keyword is refused with its line, before any upload."""
        folder = _job(tmp_path / "job", {})
        table = tmp_path / "params.tsv"
        table.write_text("OK\tjob_status\n1\t2\n")
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--many", str(table))
        assert result.exit_code == 1
        assert "params.tsv line 1, column 2" in result.output
        assert flock.keys(flock.inputs_bucket) == []

    def test_tsv_with_ragged_line_is_refused(self, run, flock, tmp_path):
        """A TSV line with the wrong number of cells is refused."""
        folder = _job(tmp_path / "job", {})
        table = tmp_path / "params.tsv"
        table.write_text("A\tB\n1\n")
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--many", str(table))
        assert result.exit_code == 1
        assert "line 2 has 1 cell(s) but the header has 2" in result.output

    def test_large_zip_is_uploaded_in_parts(self, run, flock, tmp_path, monkeypatch):
        """A zip above the multipart threshold is uploaded in parts and arrives whole."""
        monkeypatch.setattr(_batch, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
        folder = _job(tmp_path / "job", {})
        blob = random.Random(7).randbytes(12 * 1024 * 1024)  # noqa: S311 - incompressible bytes, not a key
        (folder / "blob").write_bytes(blob)
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--zip-name-override", "big")
        assert result.exit_code == 0, result.output
        head = flock.client("s3").head_object(Bucket=flock.inputs_bucket, Key="big.zip")
        assert head["ETag"].strip('"').endswith("-3")
        assert _zip_members(flock, "big.zip")["blob"] == blob

    def test_override_with_many_is_refused(self, run, flock, tmp_path):
        """--zip-name-override cannot name several zips."""
        a, b = _job(tmp_path / "a", {}), _job(tmp_path / "b", {})
        result = run("batch", "--many", str(a), "--many", str(b), "--zip-name-override", "x")
        assert result.exit_code == 1
        assert "names one zip" in result.output
