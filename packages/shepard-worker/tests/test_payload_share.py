"""The payload's share of the machine, on a real engine: budget, pids bound, OOM reason, network, socket."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pytest
from shepard_core import JobStatus
from shepard_worker import ExitCode, run_job
from shepard_worker._docker_runtime import DockerRuntime
from shepard_worker._payload_limits import PayloadLimits, payload_budget

pytestmark = pytest.mark.requires_docker

BUSYBOX = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
HOST_INTERFACES = [path.name for path in Path("/sys/class/net").iterdir()]
READ_LIMITS = (
    'CMD ["/bin/sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max '
    "> $ROOT_OUTPUT_NAME/limits.txt || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max > "
    '$ROOT_OUTPUT_NAME/limits.txt"]\n'
)


@pytest.fixture(scope="module")
def docker_client():
    import docker

    client = docker.from_env()
    yield client
    client.close()


def build(client, tmp_path: Path, dockerfile: str) -> str:
    """Build an image FROM busybox and return its id."""
    context = tmp_path / f"context-{uuid.uuid4().hex[:8]}"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BUSYBOX}\n{dockerfile}")
    image, _ = client.images.build(path=str(context), rm=True, forcerm=True, network_mode="none")
    return str(image.id)


def run(flock, runtime: DockerRuntime | None = None, **env: str):
    config = flock.config(SHEPARD_RUNTIME="docker", **env)
    runtime = runtime or DockerRuntime.from_config(config)
    try:
        return run_job(config, runtime=runtime, handle_signals=False, echo=io.BytesIO())
    finally:
        runtime.close()


def output(flock, result, name: str) -> str:
    return flock.zip(flock.OUTPUTS, result.output_keys[0]).read(name).decode()


def fake_cgroup(root: Path, *, memory_max: int, memory_used: int, pids_max: int, pids_used: int) -> Path:
    """Write a cgroup v2 tree for a worker with these limits and this use; return its /proc/self/cgroup."""
    own = root / "job"
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text("memory pids\n")
    for name, value in {
        "memory.max": memory_max,
        "memory.current": memory_used,
        "pids.max": pids_max,
        "pids.current": pids_used,
    }.items():
        (own / name).write_text(f"{value}\n")
    proc = root / "proc-cgroup"
    proc.write_text("0::/job\n")
    return proc


class TestTheJobIsOneBudget:
    def test_the_payload_gets_what_the_worker_leaves_and_the_flocks_pids_bound(
        self, flock, docker_client, tmp_path: Path
    ) -> None:
        """A worker with 256 MiB and 100 pids, using 56 MiB and 10: the payload gets 200 MiB, and 40 pids."""
        # GIVEN a worker whose cgroup allows 256 MiB and 100 pids, of which it holds 56 MiB and 10 pids
        proc = fake_cgroup(
            tmp_path / "cgroup", memory_max=256 << 20, memory_used=56 << 20, pids_max=100, pids_used=10
        )
        budget = payload_budget(tmp_path / "cgroup", proc)
        image = build(docker_client, tmp_path, READ_LIMITS)
        flock.schedule(inputs={})
        config = flock.config(SHEPARD_RUNTIME="docker", SHEPARD_PAYLOAD_IMAGE=image, SHEPARD_PIDS_LIMIT="40")
        runtime = DockerRuntime(image=image, network_mode="host", limits=budget, pids_limit=config.pids_limit)
        # WHEN the job runs
        result = run(flock, runtime, SHEPARD_PAYLOAD_IMAGE=image)
        # THEN the payload's own cgroup holds what is left: 200 MiB, and pids bounded by the flock's 40
        assert result.exit_code is ExitCode.OK, result.reason
        memory, pids = output(flock, result, "limits.txt").split()
        assert (int(memory), int(pids)) == (200 << 20, 40)

    def test_a_payload_killed_for_memory_says_so_in_the_reason_and_on_the_row(
        self, flock, docker_client, tmp_path: Path
    ) -> None:
        """A payload allocating 256 MiB under 64 MiB: exit 137, OOMKilled in reason.txt and on the row."""
        # GIVEN a payload that needs far more memory than its limit
        image = build(
            docker_client, tmp_path, 'CMD ["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]\n'
        )
        flock.schedule(inputs={})
        runtime = DockerRuntime(image=image, network_mode="host", limits=PayloadLimits(memory_bytes=64 << 20))
        # WHEN the job runs
        result = run(flock, runtime, SHEPARD_PAYLOAD_IMAGE=image)
        # THEN it failed with 137, and the reason, in the error zip and on the row, names the OOM kill
        assert (result.exit_code, result.payload_exit_code) == (ExitCode.PAYLOAD_FAILED, 137)
        assert "OOMKilled" in (result.reason or "")
        assert "64 MiB" in (result.reason or "")
        reason = flock.zip(flock.ERRORS, result.error_key).read("reason.txt").decode()
        assert "killed for running out of memory (OOMKilled)" in reason
        row = flock.job()
        assert row.status is JobStatus.JOB_FAILED
        assert "OOMKilled" in (row.failure_reason or "")

    def test_a_payload_failing_on_its_own_has_no_oom_reason(
        self, flock, docker_client, tmp_path: Path
    ) -> None:
        """A plain non-zero exit is recorded as such: no OOM is claimed."""
        image = build(docker_client, tmp_path, 'CMD ["sh", "-c", "exit 137"]\n')
        flock.schedule(inputs={})
        runtime = DockerRuntime(image=image, network_mode="host", limits=PayloadLimits(memory_bytes=64 << 20))
        result = run(flock, runtime, SHEPARD_PAYLOAD_IMAGE=image)
        assert result.payload_exit_code == 137
        assert "OOMKilled" not in (result.reason or "")
        assert flock.job().failure_reason == "the payload exited with code 137"


class TestTheNetwork:
    def test_the_default_network_is_the_bridge_never_the_host(
        self, flock, docker_client, tmp_path: Path
    ) -> None:
        """Without SHEPARD_PAYLOAD_NETWORK the payload is on the engine's bridge, in its own namespace."""
        image = build(
            docker_client, tmp_path, 'CMD ["sh", "-c", "ls /sys/class/net > $ROOT_OUTPUT_NAME/net.txt"]\n'
        )
        flock.schedule(inputs={})
        result = run(flock, SHEPARD_PAYLOAD_IMAGE=image, SHEPARD_PAYLOAD_NETWORK="")
        assert result.exit_code is ExitCode.OK, result.reason
        seen = output(flock, result, "net.txt").split()
        # its own network namespace: the bridge's eth0, or only lo on an engine started with --bridge=none
        expected = ["eth0", "lo"] if docker_client.networks.list(names=["bridge"]) else ["lo"]
        assert seen == expected
        assert sorted(seen) != sorted(HOST_INTERFACES)

    def test_host_is_an_explicit_choice(self, flock, docker_client, tmp_path: Path) -> None:
        """SHEPARD_PAYLOAD_NETWORK=host puts the payload in the worker's network."""
        image = build(
            docker_client, tmp_path, 'CMD ["sh", "-c", "ls /sys/class/net > $ROOT_OUTPUT_NAME/net.txt"]\n'
        )
        flock.schedule(inputs={})
        result = run(flock, SHEPARD_PAYLOAD_IMAGE=image, SHEPARD_PAYLOAD_NETWORK="host")
        assert result.exit_code is ExitCode.OK, result.reason
        assert sorted(output(flock, result, "net.txt").split()) == sorted(HOST_INTERFACES)


SOCKET_CHECK = 'CMD ["sh", "-c", "test -S /var/run/docker.sock && echo yes > $ROOT_OUTPUT_NAME/socket.txt"]\n'


@pytest.fixture
def engine_socket() -> Path:
    """Return the engine's socket on this machine (DOCKER_HOST's unix path), or skip."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip("the engine is not reached through a unix socket")
    return Path("/" + host.removeprefix("unix://").lstrip("/"))


class TestTheSocketForDockerAccess:
    def test_a_worker_on_the_engines_machine_binds_the_socket_it_uses(
        self, flock, docker_client, tmp_path: Path, engine_socket: Path
    ) -> None:
        """Not in a container, the worker's DOCKER_HOST path is the engine's: the payload gets the socket."""
        image = build(docker_client, tmp_path, SOCKET_CHECK)
        flock.schedule(inputs={})
        result = run(flock, SHEPARD_PAYLOAD_IMAGE=image, ALLOW_DOCKER_ACCESS="True")
        assert result.exit_code is ExitCode.OK, result.reason
        assert output(flock, result, "socket.txt") == "yes\n"

    def test_a_worker_in_a_container_binds_the_hosts_path_of_its_socket(
        self, flock, docker_client, tmp_path: Path, engine_socket: Path
    ) -> None:
        """The socket mounted at /run/elsewhere in the worker's container is bound from the host's path."""
        # GIVEN a worker container that has the engine's socket folder at another path
        from docker.types import Mount

        worker = docker_client.containers.run(
            BUSYBOX,
            ["sleep", "120"],
            detach=True,
            network_mode="none",
            mounts=[Mount("/run/elsewhere", str(engine_socket.parent), type="bind")],
        )
        try:
            image = build(docker_client, tmp_path, SOCKET_CHECK)
            flock.schedule(inputs={})
            config = flock.config(
                SHEPARD_RUNTIME="docker",
                ALLOW_DOCKER_ACCESS="True",
                DOCKER_HOST=f"unix:///run/elsewhere/{engine_socket.name}",
            )
            runtime = DockerRuntime(
                client=docker_client,
                image=image,
                network_mode="host",
                docker_host=config.docker_host,
                worker_container=str(worker.id),
            )
            # WHEN it runs a job allowed Docker access
            result = run_job(config, runtime=runtime, handle_signals=False, echo=io.BytesIO())
            # THEN the payload got the engine's socket, found through the worker container's mount
            assert result.exit_code is ExitCode.OK, result.reason
            assert output(flock, result, "socket.txt") == "yes\n"
        finally:
            worker.remove(force=True)

    @pytest.mark.parametrize("docker_host", ["unix:///run/not-mounted/docker.sock", "tcp://127.0.0.1:2375"])
    def test_a_socket_the_worker_cannot_place_fails_saying_how_to_set_it(
        self, flock, docker_client, tmp_path: Path, docker_host: str
    ) -> None:
        """A socket path that is no bind mount of the worker's container (or a TCP engine) names the fix."""
        worker = docker_client.containers.run(BUSYBOX, ["sleep", "120"], detach=True, network_mode="none")
        try:
            flock.schedule(inputs={})
            config = flock.config(
                SHEPARD_RUNTIME="docker", ALLOW_DOCKER_ACCESS="True", DOCKER_HOST=docker_host
            )
            runtime = DockerRuntime(
                client=docker_client,
                image=BUSYBOX,
                network_mode="host",
                docker_host=config.docker_host,
                worker_container=str(worker.id),
            )
            result = run_job(config, runtime=runtime, handle_signals=False, echo=io.BytesIO())
            assert result.exit_code is ExitCode.STAGING_FAILED
            assert "set SHEPARD_DOCKER_SOCKET" in (result.reason or "")
            assert flock.job().status is JobStatus.JOB_FAILED
        finally:
            worker.remove(force=True)
