"""The local flock behaves like AWS: each upload is a job of its own; a flock runs only its own images."""

from __future__ import annotations

import io
import json
import os
import shutil
from typing import TYPE_CHECKING, Any

import pytest
from boto3.s3.transfer import TransferConfig
from flock_testkit import EXAMPLES, SETTLED, Flock, flock_down, flock_up, job_zip
from shepard_local._demo import worker_image

if TYPE_CHECKING:
    from pathlib import Path


MIB = 1024 * 1024
QUICK_DEPLOYED = {"QUICK_DEPLOY_DIRECTORY": "hello"}


def _settled_rows(flock: Flock, key: str, count: int) -> list[dict[str, Any]] | None:
    rows = [row for row in flock.rows().values() if row.get("INPUT_ZIP_NAME") == key]
    return rows if len(rows) >= count and all(row["JOB_STATUS"] in SETTLED for row in rows) else None


def _queue_drained(flock: Flock) -> bool:
    sqs = flock.client("sqs")
    url = sqs.get_queue_url(QueueName=flock.state.names.queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"]
        == "0"
        == attributes["ApproximateNumberOfMessagesNotVisible"]
    )


class TestEveryUploadIsAJob:
    @pytest.mark.parametrize("when", ["back-to-back", "after-the-first-ran"])
    def test_the_same_bytes_uploaded_twice_to_one_key_run_twice(self, flock: Flock, when: str):
        """Two PUTs of identical bytes to one key are two jobs, each with its own output, as on AWS."""
        # GIVEN one job zip's bytes
        key = f"twice/{when}.zip"
        data = job_zip({**QUICK_DEPLOYED, "NAME": key})
        s3 = flock.client("s3")

        # WHEN they are uploaded to the same key twice (right away, or once the first job has run)
        s3.put_object(Bucket=flock.state.names.inputs_bucket, Key=key, Body=data)
        if when == "after-the-first-ran":
            flock.wait_for(lambda: _settled_rows(flock, key, 1), timeout=120, what="the first job to settle")
        s3.put_object(Bucket=flock.state.names.inputs_bucket, Key=key, Body=data)

        # THEN two jobs ran to completion, each with exactly one output zip
        rows = flock.wait_for(lambda: _settled_rows(flock, key, 2), timeout=120, what="both jobs to settle")
        flock.wait_for(lambda: _queue_drained(flock), timeout=60, what="the queue to drain")
        rows = [row for row in flock.rows().values() if row.get("INPUT_ZIP_NAME") == key]
        assert len(rows) == 2
        assert {row["JOB_STATUS"] for row in rows} == {"job_complete"}
        outputs = flock.outputs_by_job()
        assert all(len(outputs.get(str(row["UUID"]), [])) == 1 for row in rows)

    def test_one_multipart_upload_is_one_job(self, flock: Flock):
        """A zip uploaded in parts is one job, though the emulator sends two events for it."""
        # GIVEN a 12 MiB job zip
        key = "twice/multipart.zip"
        data = job_zip({**QUICK_DEPLOYED, "NAME": key}, {"noise.bin": os.urandom(12 * MIB)})

        # WHEN it is uploaded in 5 MiB parts
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
        flock.client("s3").upload_fileobj(
            io.BytesIO(data), flock.state.names.inputs_bucket, key, Config=config
        )

        # THEN one job ran, once
        flock.wait_for(lambda: _settled_rows(flock, key, 1), timeout=120, what="the job to settle")
        flock.wait_for(lambda: _queue_drained(flock), timeout=60, what="the queue to drain")
        rows = [row for row in flock.rows().values() if row.get("INPUT_ZIP_NAME") == key]
        assert [row["JOB_STATUS"] for row in rows] == ["job_complete"]
        assert len(flock.outputs_by_job()[str(rows[0]["UUID"])]) == 1


def _run_container_job(flock: Flock, key: str) -> dict[str, Any]:
    job = EXAMPLES / "hello-container" / "job"
    data = job_zip(
        json.loads((job / "inputs.txt").read_text()), {"words.txt": (job / "words.txt").read_bytes()}
    )
    flock.client("s3").put_object(Bucket=flock.state.names.inputs_bucket, Key=key, Body=data)
    rows = flock.wait_for(lambda: _settled_rows(flock, key, 1), timeout=180, what=f"the job {key} to settle")
    return rows[0]


def _greeting(flock: Flock, job_uuid: str) -> str:
    (key,) = flock.outputs_by_job()[job_uuid]
    return flock.zip_members(flock.state.names.outputs_bucket, key)["greeting.txt"].decode()


def _deploy(flock: Flock, carrier: str, payload: Path = EXAMPLES / "hello-container" / "payload") -> None:
    flock.cli(
        "--profile",
        "local",
        "deploy",
        "--path-to-docker-folder",
        str(payload),
        "--worker-image",
        carrier,
    )


@pytest.mark.requires_docker
@pytest.mark.slow
@pytest.mark.long  # two flocks and two image builds: about 3 minutes, run by `nox -s integration_long`
class TestEachFlockRunsItsOwnImages:
    def test_a_new_flock_does_not_run_the_image_an_earlier_flock_was_given(self, tmp_path: Path):
        """A flock started where another ran (same folder, prefix, registry) runs only what it was given."""
        carrier = worker_image()
        if carrier is None:
            pytest.fail("the engine lacks the base images scripts/docker-engine.sh imports")
        # GIVEN a flock that was given the container example and ran a job in it
        first = flock_up(tmp_path, prefix="shepard-images", window_seconds=1, runtime="docker")
        try:
            if not first.state.registry:
                pytest.fail("no registry answers at 127.0.0.1:5000 (scripts/docker-engine.sh starts one)")
            _deploy(first, carrier)
            ran = _run_container_job(first, "first.zip")
            assert ran["JOB_STATUS"] == "job_complete", first.error_report(str(ran["UUID"]))
        finally:
            flock_down(first)

        # WHEN a new flock starts in the same folder with the same prefix, and a job needing an image arrives
        second = flock_up(tmp_path, prefix="shepard-images", window_seconds=1, runtime="docker")
        try:
            assert second.state.registry == first.state.registry
            assert second.state.names.ecr_repo != first.state.names.ecr_repo
            undeployed = _run_container_job(second, "before-deploy.zip")

            # THEN the job is not run in the earlier flock's image: it fails, saying what it needs
            assert undeployed["JOB_STATUS"] == "job_failed"
            assert str(undeployed["UUID"]) not in second.outputs_by_job()
            assert second.error_zips_of(str(undeployed["UUID"]))

            # AND once the payload is deployed to this flock, the same job runs in it
            _deploy(second, carrier)
            deployed = _run_container_job(second, "after-deploy.zip")
            assert deployed["JOB_STATUS"] == "job_complete", second.error_report(str(deployed["UUID"]))
            assert _greeting(second, str(deployed["UUID"])) == "Hello, container payload!\n"

            # AND a changed payload deployed right after runs in the very next job
            changed = tmp_path / "changed-payload"
            shutil.copytree(EXAMPLES / "hello-container" / "payload", changed)
            script = changed / "hello.py"
            script.write_text(
                script.read_text().replace('f"{greeting}, {name}!\\n"', 'f"{greeting} again, {name}!\\n"')
            )
            _deploy(second, carrier, changed)
            redeployed = _run_container_job(second, "after-redeploy.zip")
            assert redeployed["JOB_STATUS"] == "job_complete", second.error_report(str(redeployed["UUID"]))
            assert _greeting(second, str(redeployed["UUID"])) == "Hello again, container payload!\n"
        finally:
            flock_down(second)
