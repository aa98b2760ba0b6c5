"""The worker image: built from local parts only, it runs `shepard-worker` and a whole nested job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shepard_core import JobStatus, OutputKind, output_object_name

pytestmark = pytest.mark.requires_docker

BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "docker" / "build.py"
TEST_TAG = "shepard-worker:test"

# What a Batch job definition's `privileged: true` grants, narrowed to what this machine's engine allows
# (its own bounding set lacks CAP_SYS_RESOURCE, so `privileged` itself is refused here).
NESTED_ENGINE_OPTIONS = {
    "cap_add": ["SYS_ADMIN", "NET_ADMIN"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
}


@pytest.fixture(scope="module")
def docker_client():
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="module")
def worker_image(docker_client) -> str:
    """Build the worker image with docker/build.py (about 40 s here)."""
    if shutil.which("uv") is None:
        pytest.fail("building the worker image needs uv on PATH (python3 -m pip install uv)")
    subprocess.run(  # noqa: S603 - a fixed argument list
        [sys.executable, str(BUILD_SCRIPT), "--tag", TEST_TAG],
        check=True,
        env={**os.environ, "SHEPARD_BASE_IMAGE": os.environ.get("SHEPARD_BASE_IMAGE", "local/bookworm-py:1")},
    )
    return TEST_TAG


def _run(client, image: str, command: list[str] | None = None, **options) -> tuple[int, str]:
    container = client.containers.run(image, command, detach=True, **options)
    try:
        code = container.wait(timeout=180)["StatusCode"]
        return code, container.logs().decode()
    finally:
        container.remove(force=True, v=True)


class TestWorkerImage:
    def test_shepard_worker_help_runs_inside(self, docker_client, worker_image) -> None:
        """`shepard-worker --help` runs in the image without starting an engine."""
        code, logs = _run(docker_client, worker_image, ["shepard-worker", "--help"], network_mode="none")
        assert code == 0, logs
        assert "143 stopped by SIGTERM" in logs

    def test_a_nested_job_runs_the_payload_tar_on_the_inner_engine(
        self, flock, docker_client, worker_image, tmp_path: Path
    ) -> None:
        """A job image (worker image + payload.tar) starts an inner engine, runs the payload, uploads."""
        # GIVEN a job image built the way the CLI's deploy builds it
        import docker

        busybox = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
        payload_context = tmp_path / "payload"
        payload_context.mkdir()
        (payload_context / "Dockerfile").write_text(
            f"FROM {busybox}\n"
            'CMD ["/bin/sh", "-c", "echo nested > \\"$ROOT_OUTPUT_NAME/where.txt\\"; echo \\"$UUID\\""]\n'
        )
        payload, _ = docker_client.images.build(path=str(payload_context), network_mode="none", rm=True)
        job_context = tmp_path / "job"
        job_context.mkdir()
        with (job_context / "payload.tar").open("wb") as tar:
            for chunk in payload.save():
                tar.write(chunk)
        (job_context / "Dockerfile").write_text(
            f"FROM {worker_image}\nCOPY payload.tar /opt/shepard/payload.tar\n"
        )
        job_image, _ = docker_client.images.build(path=str(job_context), network_mode="none", rm=True)
        flock.schedule(inputs={})
        env = {k: v for k, v in flock.env(SHEPARD_RUNTIME="docker").items() if k != "DOCKER_HOST"}
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        root = flock.mounts["root"]
        # WHEN Batch runs it
        code, logs = _run(
            docker_client,
            job_image.id,
            environment=env,
            network_mode="host",
            mounts=[
                docker.types.Mount(str(root), str(root), type="bind"),
                docker.types.Mount("/sys/fs/cgroup", "/sys/fs/cgroup", type="bind"),
            ],
            **NESTED_ENGINE_OPTIONS,
        )
        # THEN the payload ran on the inner engine and its outputs are in the outputs bucket
        assert code == 0, logs
        assert "job-1\n" in logs
        row = flock.job()
        assert row.status is JobStatus.JOB_COMPLETE
        key = output_object_name("job-1", row.start_time or "", OutputKind.ROOT)
        assert flock.zip(flock.OUTPUTS, key).read("where.txt") == b"nested\n"

    def test_sigterm_while_the_engine_starts_exits_143_without_touching_the_job(
        self, flock, docker_client, worker_image, tmp_path: Path
    ) -> None:
        """SIGTERM while the entrypoint waits for the inner engine ends the container at once with 143."""
        # GIVEN a worker container whose inner engine never comes up
        import docker

        never_up = tmp_path / "dockerd"
        never_up.write_text("#!/bin/sh\nexec sleep 600\n")
        never_up.chmod(0o755)
        flock.schedule(inputs={})
        env = {k: v for k, v in flock.env(SHEPARD_RUNTIME="docker").items() if k != "DOCKER_HOST"}
        container = docker_client.containers.run(
            worker_image,
            detach=True,
            environment=env,
            network_mode="none",
            mounts=[docker.types.Mount("/usr/local/bin/dockerd", str(never_up), type="bind", read_only=True)],
        )
        try:
            deadline = time.monotonic() + 30
            while "starting dockerd" not in container.logs().decode():
                assert time.monotonic() < deadline, container.logs().decode()
                time.sleep(0.1)
            # WHEN Batch sends SIGTERM
            container.kill(signal="SIGTERM")
            # THEN the container ends promptly with 143 and the job's row is untouched
            code = container.wait(timeout=15)["StatusCode"]
            logs = container.logs().decode()
        finally:
            container.remove(force=True, v=True)
        assert code == 128 + signal.SIGTERM, logs
        assert "SIGTERM before the worker started" in logs
        assert flock.job().status is JobStatus.SUBMITTED
