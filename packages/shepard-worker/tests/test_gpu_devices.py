"""What the engine gets for the worker's GPUs: the payload container's device requests, on a real engine.

The test engine has no GPU: containers are created, not started, and inspected; a whole job's start is
refused by the engine, and the job fails saying why.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

import pytest
from shepard_core import JobStatus
from shepard_worker import ExitCode, run_job
from shepard_worker._docker_runtime import DockerRuntime
from shepard_worker._payload_limits import PayloadLimits
from shepard_worker._runtime import PayloadSpec
from shepard_worker._workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.requires_docker

BUSYBOX = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
UUID_A = "GPU-3b2c1e8a-9f4d-4c21-8e5b-0a1b2c3d4e5f"
UUID_B = "GPU-71f0d9c6-5e2a-4b8f-a1c3-d4e5f6a7b8c9"
UUID_C = "GPU-0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b"
BATCH_JOB = "2f5c8a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b"


@pytest.fixture(scope="module")
def docker_client() -> Iterator[Any]:
    """Return a client of the test engine."""
    import docker

    client = docker.from_env()
    yield client
    client.close()


def _request(ids: list[str]) -> dict[str, Any]:
    return {"Driver": "nvidia", "Count": 0, "DeviceIDs": ids, "Capabilities": [["gpu"]], "Options": {}}


def _inspect_created(
    flock, docker_client, inputs: dict[str, str] | None = None, **env: str
) -> dict[str, Any]:
    """Create the job's payload container as the configured worker would, inspect it, and remove it."""
    config = flock.config(SHEPARD_RUNTIME="docker", SHEPARD_PAYLOAD_IMAGE=BUSYBOX, **env)
    runtime = DockerRuntime(
        image=config.payload_image,
        network_mode="host",
        limits=PayloadLimits(),
        visible_gpus=config.visible_gpus,
        on_batch=config.batch_job_id is not None,
    )
    workspace = Workspace.plan(config)
    workspace.create()
    spec = PayloadSpec(
        job_uuid=config.job_uuid, env={"UUID": config.job_uuid, **(inputs or {})}, workspace=workspace
    )
    container = runtime.create_container(spec)
    try:
        return dict(docker_client.api.inspect_container(container.id))
    finally:
        container.remove(force=True)
        runtime.close()


def _env(attrs: dict[str, Any]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in attrs["Config"]["Env"])


class TestDeviceRequests:
    @pytest.mark.parametrize(
        ("value", "ids"),
        [
            (UUID_A, [UUID_A]),
            ("0", ["0"]),
            (f"{UUID_A},{UUID_B},{UUID_C}", [UUID_A, UUID_B, UUID_C]),
            ("0,2,5,7", ["0", "2", "5", "7"]),
        ],
    )
    def test_the_payload_is_given_exactly_the_worker_s_gpus(self, flock, docker_client, value, ids) -> None:
        """One or several GPUs, by UUID or index: the engine gets one nvidia request for exactly those."""
        attrs = _inspect_created(
            flock, docker_client, NVIDIA_VISIBLE_DEVICES=value, AWS_BATCH_JOB_ID=BATCH_JOB
        )
        assert attrs["HostConfig"]["DeviceRequests"] == [_request(ids)]
        assert _env(attrs)["NVIDIA_VISIBLE_DEVICES"] == ",".join(ids)

    @pytest.mark.parametrize("value", [None, "", "void", "none", "all"])
    def test_a_worker_without_assigned_gpus_gives_none(self, flock, docker_client, value) -> None:
        """No variable, an empty one, void, none, and all on Batch: no device request, and GPUs hidden."""
        env = {"AWS_BATCH_JOB_ID": BATCH_JOB} | ({} if value is None else {"NVIDIA_VISIBLE_DEVICES": value})
        attrs = _inspect_created(flock, docker_client, **env)
        assert not attrs["HostConfig"]["DeviceRequests"]
        assert _env(attrs)["NVIDIA_VISIBLE_DEVICES"] == "void"

    def test_all_outside_batch_asks_for_every_gpu(self, flock, docker_client) -> None:
        """A worker outside Batch given every GPU (`--gpus all`) hands every GPU on (count -1)."""
        attrs = _inspect_created(flock, docker_client, NVIDIA_VISIBLE_DEVICES="all")
        [request] = attrs["HostConfig"]["DeviceRequests"]
        assert (request["Driver"], request["Count"], request["Capabilities"]) == ("nvidia", -1, [["gpu"]])
        assert not request["DeviceIDs"]

    def test_an_input_cannot_widen_the_payload_s_gpus(self, flock, docker_client) -> None:
        """A job input NVIDIA_VISIBLE_DEVICES=all is replaced by the worker's own GPUs (or void)."""
        attrs = _inspect_created(
            flock,
            docker_client,
            {"NVIDIA_VISIBLE_DEVICES": "all"},
            NVIDIA_VISIBLE_DEVICES="1",
            AWS_BATCH_JOB_ID=BATCH_JOB,
        )
        assert attrs["HostConfig"]["DeviceRequests"] == [_request(["1"])]
        assert _env(attrs)["NVIDIA_VISIBLE_DEVICES"] == "1"
        attrs = _inspect_created(
            flock, docker_client, {"NVIDIA_VISIBLE_DEVICES": "all"}, AWS_BATCH_JOB_ID=BATCH_JOB
        )
        assert not attrs["HostConfig"]["DeviceRequests"]
        assert _env(attrs)["NVIDIA_VISIBLE_DEVICES"] == "void"


class TestGpuJob:
    def test_an_engine_without_gpus_fails_the_job_saying_why(self, flock, docker_client) -> None:
        """An engine that cannot hand out GPUs fails the job with its reason and a hint, leaving nothing."""
        flock.schedule(inputs={})
        config = flock.config(
            SHEPARD_RUNTIME="docker",
            SHEPARD_PAYLOAD_IMAGE=BUSYBOX,
            NVIDIA_VISIBLE_DEVICES=f"{UUID_A},{UUID_B}",
            AWS_BATCH_JOB_ID=BATCH_JOB,
        )
        result = run_job(config, handle_signals=False, echo=io.BytesIO())
        assert result.exit_code is ExitCode.STAGING_FAILED
        assert 'could not select device driver "nvidia"' in (result.reason or "")
        assert "NVIDIA's driver and container toolkit" in (result.reason or "")
        assert flock.job().status is JobStatus.JOB_FAILED
        assert result.error_key is not None
        assert not docker_client.containers.list(all=True, filters={"label": "io.shepard.job=job-1"})
