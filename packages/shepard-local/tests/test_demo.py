"""The demo: its judgement of a run, the commands it shows, the record it reads, the images it removes."""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from shepard_cli._batch import BatchedJob, JobSpec
from shepard_cli._batch_record import record_lines
from shepard_local import demo_problems, local
from shepard_local._demo import Demo, read_batch_record, remove_images
from shepard_local._demo_summary import DemoJob, DemoResult
from shepard_local._state import FlockNames, FlockState

if TYPE_CHECKING:
    from pathlib import Path


class TestDemoCheck:
    def test_a_job_started_before_its_upload_is_a_problem(self, tmp_path: Path):
        """The demo's check refuses a start time earlier than the job's upload, so its medians hold."""
        job = DemoJob(label="S3 job", path="S3", uploaded_at=100.0, status="job_complete", started_at=99.5)
        result = DemoResult(mode="process", jobs=[job], retrieved=[], retrieve_dir=tmp_path, seconds=1.0)
        assert demo_problems(result) == ["S3 job started_at -0.50 s after its upload"]

    def test_settled_jobs_in_order_pass(self, tmp_path: Path):
        """Good jobs complete after their upload and the bad job is rejected: no problem."""
        good = DemoJob(
            label="S3 job",
            path="S3",
            uploaded_at=100.0,
            status="job_complete",
            started_at=100.5,
            outputs_at=103.0,
        )
        bad = DemoJob(label="bad job", path="S3", uploaded_at=100.0, status="rejected")
        result = DemoResult(
            mode="process", jobs=[good, bad], retrieved=[], retrieve_dir=tmp_path, seconds=1.0
        )
        assert demo_problems(result) == []


class TestDemoCommands:
    def test_echoed_commands_paste_back(self, tmp_path: Path):
        """A JSON payload is echoed shell-quoted: splitting the echoed line gives back the same arguments."""
        lines: list[str] = []
        demo = Demo(tmp_path, tmp_path / "work", echo=lines.append)
        args = ("batch-via-api", "--json-payload", '{"GREETING": "Hi", "NAME": "API job 1"}', "--help")
        done = demo.shepard_cli(*args)
        assert "--json-payload" in done.stdout
        (echoed,) = [line for line in lines if line.startswith("\n$ ")]
        assert shlex.split(echoed.removeprefix("\n$ ")) == ["shepard", *args]

    def test_output_is_shown_in_the_order_it_was_written(self, tmp_path: Path):
        """What a command writes on stderr before its stdout (a build log before "Deployed") comes first."""
        lines: list[str] = []
        demo = Demo(tmp_path, tmp_path / "work", echo=lines.append)
        script = (
            "import sys\n"
            "for n in range(3):\n"
            "    sys.stderr.write(f'build step {n}\\n')\n"
            "    print(f'result {n}')\n"
            "print('Deployed 127.0.0.1:5000/x:latest')\n"
        )
        demo.shepard = [sys.executable, "-c", script]
        done = demo.shepard_cli("deploy")
        shown = [line.strip() for line in lines[1:]]
        assert shown == [
            "build step 0",
            "result 0",
            "build step 1",
            "result 1",
            "build step 2",
            "result 2",
            "Deployed 127.0.0.1:5000/x:latest",
        ]
        assert "Deployed 127.0.0.1:5000/x:latest" in done.stdout

    def test_the_batch_record_is_read_by_its_header(self, tmp_path: Path):
        """The demo reads the record `shepard batch --record` writes: each TSV line's key and job UUID."""
        folder = tmp_path / "job"
        job = JobSpec(folder, b"{}", "names.tsv line 2", source=tmp_path / "names.tsv", line=2)
        record = tmp_path / "batched.tsv"
        record.write_text("\n".join(record_lines([BatchedJob(job, "k.zip", "v1", "uuid-1")])) + "\n")
        assert read_batch_record(record) == [
            {
                "source": str(tmp_path / "names.tsv"),
                "line": "2",
                "key": "k.zip",
                "version_id": "v1",
                "job_uuid": "uuid-1",
            }
        ]


@pytest.mark.requires_docker
class TestImageCleanup:
    def test_built_images_are_removed_and_others_kept(self):
        """remove_images removes the tags the demo built, skips missing ones, and leaves the base image."""
        import docker

        client = docker.from_env()
        base = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
        try:
            client.images.get(base)
        except docker.errors.ImageNotFound:
            pytest.skip(f"{base} is not in the engine")
        built = f"shepard-payload/demo-cleanup-{uuid.uuid4().hex[:12]}:latest"
        client.images.get(base).tag(built)
        problems: list[str] = []
        removed = remove_images([built, "shepard-payload/never-built:latest"], on_problem=problems.append)
        assert removed == [built]
        assert problems == []
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get(built)
        assert client.images.get(base) is not None


class TestQuickDeployLine:
    def test_one_file_is_one_file(self, tmp_path: Path, aws_endpoint: str):
        """`local quick-deploy` of a folder holding only run.sh says "Uploaded 1 file"."""
        import boto3

        state = FlockState(directory=tmp_path / "flock", names=FlockNames(), aws_endpoint=aws_endpoint)
        state.save()
        boto3.client("s3", endpoint_url=aws_endpoint).create_bucket(Bucket=state.names.quick_deploy_bucket)
        folder = tmp_path / "hello"
        folder.mkdir()
        (folder / "run.sh").write_text("echo hi\n")
        result = CliRunner().invoke(local, ["quick-deploy", "--dir", str(state.directory), str(folder)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Uploaded 1 file to s3://{state.names.quick_deploy_bucket}/hello/;")
