"""The Docker runtime on a real engine, hostile cases: stale images, bad tars, leftovers, users, logs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import threading
import time
import uuid
from typing import TYPE_CHECKING

import docker.errors
import pytest
from shepard_core import Attr, JobStatus
from shepard_worker import ExitCode, run_job
from shepard_worker._docker_runtime import DockerRuntime
from shepard_worker._payload_limits import PayloadLimits

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.requires_docker

BUSYBOX = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
NO_LIMITS = PayloadLimits()


@pytest.fixture(scope="module")
def docker_client():
    import docker

    client = docker.from_env()
    yield client
    client.close()


def build(
    client, tmp_path: Path, dockerfile: str, tag: str | None = None, files: dict[str, str] | None = None
) -> str:
    """Build an image FROM busybox and return its id."""
    context = tmp_path / f"context-{uuid.uuid4().hex[:8]}"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {BUSYBOX}\n{dockerfile}")
    for name, text in (files or {}).items():
        (context / name).write_text(text)
    image, _ = client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, network_mode="none")
    return str(image.id)


def save(client, image: str, path: Path) -> Path:
    with path.open("wb") as tar:
        for chunk in client.images.get(image).save(named=False):
            tar.write(chunk)
    return path


def job_containers(client, job_uuid: str = "job-1") -> list:
    """Return the job's containers, leaving out any removed between the engine's list and its inspect."""
    found = []
    for listed in client.api.containers(all=True, filters={"label": f"io.shepard.job={job_uuid}"}):
        try:
            found.append(client.containers.get(listed["Id"]))
        except docker.errors.NotFound:
            continue
    return found


def run(flock, *, runtime: DockerRuntime | None = None, stop=None, **env: str):
    config = flock.config(SHEPARD_RUNTIME="docker", **env)
    runtime = runtime or DockerRuntime.from_config(config)
    try:
        return run_job(config, runtime=runtime, stop_event=stop, handle_signals=False, echo=io.BytesIO())
    finally:
        runtime.close()


def runtime_for(flock, limits: PayloadLimits = NO_LIMITS, **env: str) -> DockerRuntime:
    config = flock.config(SHEPARD_RUNTIME="docker", **env)
    return DockerRuntime(
        image=config.payload_image, image_tar=config.payload_tar, network_mode="host", limits=limits
    )


def output(flock, result, name: str) -> str:
    return flock.zip(flock.OUTPUTS, result.output_keys[0]).read(name).decode()


class TestTheDeployedPayloadRuns:
    @pytest.mark.parametrize("v2_on_engine", [False, True])
    def test_a_stale_image_under_the_payload_name_never_runs(
        self, flock, docker_client, tmp_path: Path, *, v2_on_engine: bool
    ) -> None:
        """With v1 under the payload's name, a worker carrying v2's tar runs v2 (loaded or already there)."""
        # GIVEN v2 saved as the job's tar, and the engine holding v1 under the name the deploy uses
        name = f"shepard-payload/stale-{uuid.uuid4().hex[:8]}:latest"
        cmd = 'CMD ["/bin/sh", "-c", "echo {v} > $ROOT_OUTPUT_NAME/version.txt"]\n'
        v2 = build(docker_client, tmp_path, cmd.format(v="v2") + "LABEL v=2\n")
        tar = save(docker_client, v2, tmp_path / "payload.tar")
        build(docker_client, tmp_path, cmd.format(v="v1") + "LABEL v=1\n", tag=name)
        if not v2_on_engine:
            docker_client.images.remove(v2, force=True)
        flock.schedule(inputs={})
        # WHEN the worker runs the job with the name and the tar, as a deployed job image sets them
        runtime = runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=name, SHEPARD_PAYLOAD_TAR=str(tar))
        result = run(flock, runtime=runtime, SHEPARD_PAYLOAD_IMAGE=name)
        # THEN v2 ran, by its id
        assert result.exit_code == ExitCode.OK, result.reason
        assert output(flock, result, "version.txt") == "v2\n"
        assert docker_client.images.get(name).labels["v"] == "1"  # the name was never trusted nor moved

    @pytest.mark.parametrize("damage", ["empty", "random", "truncated", "two-images"])
    def test_a_damaged_payload_tar_is_a_staging_failure_naming_it(
        self, flock, docker_client, tmp_path: Path, damage: str
    ) -> None:
        """An empty, corrupt, truncated or two-image tar fails staging (exit 5) naming it, no traceback."""
        tar = tmp_path / "payload.tar"
        if damage == "empty":
            tar.write_bytes(b"")
        elif damage == "random":
            tar.write_bytes(os.urandom(50_000))
        elif damage == "truncated":
            save(docker_client, BUSYBOX, tar)
            tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
        else:
            other = build(docker_client, tmp_path, "LABEL second=1\n")
            response = docker_client.api._get(
                docker_client.api._url("/images/get"),
                params={"names": [BUSYBOX, other]},
                stream=True,
            )
            with tar.open("wb") as f:
                f.writelines(response.iter_content(1 << 20))
        flock.schedule(inputs={})
        result = run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_TAR=str(tar)))
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert str(tar) in (result.reason or "")
        archive = flock.zip(flock.ERRORS, result.error_key)
        assert "Traceback" not in archive.read("worker.log").decode()
        assert flock.job().status is JobStatus.JOB_FAILED
        assert job_containers(docker_client) == []


class TestThePayloadBelongsToItsJob:
    def test_the_job_limits_apply_inside_the_container(self, flock, docker_client, tmp_path: Path) -> None:
        """Memory, CPU and pids limits reach the payload's own cgroup; over the memory it is killed."""
        image = build(
            docker_client,
            tmp_path,
            'CMD ["/bin/sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes '
            "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us > $ROOT_OUTPUT_NAME/limits.txt "
            "|| cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max > "
            '$ROOT_OUTPUT_NAME/limits.txt"]\n',
        )
        flock.schedule(inputs={})
        limits = PayloadLimits(memory_bytes=64 * 1024 * 1024, nano_cpus=500_000_000, pids=64)
        result = run(flock, runtime=runtime_for(flock, limits, SHEPARD_PAYLOAD_IMAGE=image))
        assert result.exit_code == ExitCode.OK, result.reason
        values = output(flock, result, "limits.txt").split()
        assert values[0] == str(64 * 1024 * 1024)
        assert values[1] == "64"
        assert values[2] in {"50000", "50000 100000"}

    def test_a_payload_over_its_memory_is_killed(self, flock, docker_client, tmp_path: Path) -> None:
        """A payload allocating 256 MiB under a 64 MiB limit is OOM-killed and the job fails with 137."""
        image = build(
            docker_client, tmp_path, 'CMD ["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]\n'
        )
        flock.schedule(inputs={})
        limits = PayloadLimits(memory_bytes=64 * 1024 * 1024)
        result = run(flock, runtime=runtime_for(flock, limits, SHEPARD_PAYLOAD_IMAGE=image))
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        assert result.payload_exit_code == 137

    def test_a_retry_removes_the_container_an_earlier_attempt_left(
        self, flock, docker_client, tmp_path: Path
    ) -> None:
        """Attempt 2 removes attempt 1's still-running container and labels its own with job and attempt."""
        image = build(
            docker_client,
            tmp_path,
            'CMD ["/bin/sh", "-c", "while [ ! -e $ROOT_INPUT_NAME/go ]; do sleep 0.1; done"]\n',
        )
        # GIVEN attempt 1's payload still running after its worker was killed
        left = docker_client.containers.run(
            image,
            ["sleep", "600"],
            detach=True,
            labels={"io.shepard.job": "job-1", "io.shepard.attempt": "1"},
        )
        flock.schedule(inputs={}, status=JobStatus.CALLING_PAYLOAD_CODE, attempt=1)
        results: list = []
        worker = threading.Thread(
            target=lambda: results.append(
                run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=image), AWS_BATCH_JOB_ATTEMPT="2")
            )
        )
        # WHEN attempt 2 starts its payload
        worker.start()
        deadline = time.monotonic() + 60
        while not [c for c in job_containers(docker_client) if c.labels.get("io.shepard.attempt") == "2"]:
            assert time.monotonic() < deadline, "attempt 2's container never appeared"
            time.sleep(0.1)
        # THEN only attempt 2's container is left, labelled with the job and the attempt
        labels = [
            {key: value for key, value in container.labels.items() if key.startswith("io.shepard.")}
            for container in job_containers(docker_client)
        ]
        (flock.mounts["root"] / "job-1" / "input" / "go").touch()
        worker.join(60)
        assert results[0].exit_code == ExitCode.OK, results[0].reason
        assert labels == [{"io.shepard.job": "job-1", "io.shepard.attempt": "2"}]
        assert left.id not in {c.id for c in docker_client.containers.list(all=True)}

    @pytest.mark.parametrize("worker_alive", [False, True])
    def test_a_payload_whose_worker_is_gone_is_removed(
        self, flock, docker_client, tmp_path: Path, *, worker_alive: bool
    ) -> None:
        """Another job's payload is removed when its worker container is gone and kept while it runs."""
        other_worker = docker_client.containers.run(BUSYBOX, ["sleep", "600"], detach=True)
        orphan = docker_client.containers.run(
            BUSYBOX,
            ["sleep", "600"],
            detach=True,
            labels={
                "io.shepard.job": "other",
                "io.shepard.attempt": "1",
                "io.shepard.worker": other_worker.id,
            },
        )
        try:
            if not worker_alive:
                other_worker.remove(force=True)
            flock.schedule(inputs={})
            result = run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=BUSYBOX))
            assert result.exit_code == ExitCode.OK, result.reason
            present = {c.id for c in docker_client.containers.list(all=True)}
            assert (orphan.id in present) is worker_alive
        finally:
            for container in (orphan, other_worker):
                with contextlib.suppress(Exception):
                    container.remove(force=True)


class TestStopAtAnyMoment:
    def test_a_stop_before_the_payload_starts_starts_nothing(self, flock, docker_client) -> None:
        """A stop already set when the payload would start ends the job 143 with no container created."""
        flock.schedule(inputs={})
        stop = threading.Event()
        stop.set()
        result = run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=BUSYBOX), stop=stop)
        assert result.exit_code == ExitCode.TERMINATED
        assert flock.job().status is JobStatus.JOB_FAILED
        assert job_containers(docker_client) == []

    def test_a_stop_during_the_image_load_abandons_it(self, flock, docker_client, tmp_path: Path) -> None:
        """SIGTERM while a large payload tar loads ends the job 143 at once; the payload never starts."""
        # GIVEN a payload tar with a 768 MiB layer, not on the engine
        tar = big_image_tar(tmp_path / "payload.tar", 768 * 1024 * 1024)
        flock.schedule(inputs={})
        stop = threading.Event()
        results: list = []
        worker = threading.Thread(
            target=lambda: results.append(
                run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_TAR=str(tar)), stop=stop)
            )
        )
        worker.start()
        # WHEN the stop comes while the tar streams to the engine
        deadline = time.monotonic() + 60
        while not any(thread.name == "payload-load" for thread in threading.enumerate()):
            assert time.monotonic() < deadline, "the load never started"
            time.sleep(0.01)
        stopped_at = time.monotonic()
        stop.set()
        worker.join(60)
        # THEN the job ends terminated, with its error zip, and no payload container
        print(f"job ended {time.monotonic() - stopped_at:.2f} s after the stop during the load")  # noqa: T201
        assert results[0].exit_code == ExitCode.TERMINATED
        assert "while the payload image loaded" in (results[0].reason or "")
        assert results[0].error_key is not None
        assert flock.row()[Attr.JOB_STATUS]["S"] == JobStatus.JOB_FAILED.value
        assert job_containers(docker_client) == []


def big_image_tar(path: Path, layer_bytes: int) -> Path:
    """Write a one-image `docker save` tar whose single layer holds one file of `layer_bytes` zeros."""
    import hashlib

    layer = path.parent / "layer.tar"
    with tarfile.open(layer, "w") as archive:
        info = tarfile.TarInfo("big")
        info.size = layer_bytes
        archive.addfile(info, _Zeros(layer_bytes))
    digest = hashlib.sha256()
    with layer.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/big"]},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{digest.hexdigest()}"]},
            "created": f"2024-01-01T00:00:00.{uuid.uuid4().int % 10**9:09d}Z",
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo(config_name)
        info.size = len(config)
        archive.addfile(info, io.BytesIO(config))
        archive.add(layer, "l/layer.tar")
        manifest = json.dumps([{"Config": config_name, "RepoTags": None, "Layers": ["l/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    layer.unlink()
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        count = self._left if size < 0 else min(size, self._left)
        self._left -= count
        return bytes(count)


class TestNonRootImages:
    @pytest.mark.parametrize(
        ("setup", "user", "expected_uid"),
        [
            ("", "1000:1000", "1000"),
            ("", "4321", "4321"),
            ('RUN echo "sheep:x:1234:2345::/home/sheep:/bin/sh" >> /etc/passwd\n', "sheep", "1234"),
            (
                (
                    'RUN echo "sheep:x:1234:2345::/home/sheep:/bin/sh" >> /etc/passwd && '
                    'echo "flock:x:3456:" >> /etc/group\n'
                ),
                "sheep:flock",
                "1234",
            ),
        ],
    )
    def test_an_image_user_writes_outputs_and_reads_its_secrets(  # noqa: PLR0913, PLR0917 - fixtures
        self, flock, docker_client, tmp_path: Path, setup: str, user: str, expected_uid: str
    ) -> None:
        """A numeric or named USER can write the output folder and read 0600 secrets it owns."""
        script = (
            'id -u > "$ROOT_OUTPUT_NAME/uid.txt"\n'
            'cat "$ROOT_INPUT_NAME/secrets/token" > "$ROOT_OUTPUT_NAME/secret.txt"\n'
            'stat -c %a "$ROOT_INPUT_NAME/secrets/token" > "$ROOT_OUTPUT_NAME/mode.txt"\n'
            'mkdir "$ROOT_OUTPUT_NAME/sub" && echo deep > "$ROOT_OUTPUT_NAME/sub/file.txt"\n'
        )
        image = build(
            docker_client,
            tmp_path,
            f'{setup}COPY payload.sh /payload.sh\nUSER {user}\nCMD ["/bin/sh", "/payload.sh"]\n',
            files={"payload.sh": script},
        )
        flock.secrets({"token": b"s3cr3t"})
        flock.schedule(inputs={})
        result = run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=image))
        assert result.exit_code == ExitCode.OK, result.reason
        assert output(flock, result, "uid.txt") == f"{expected_uid}\n"
        assert output(flock, result, "secret.txt") == "s3cr3t"
        assert output(flock, result, "mode.txt") == "600\n"
        assert output(flock, result, "sub/file.txt") == "deep\n"


class TestLogsStayWhole:
    def test_a_long_log_keeps_its_end_and_every_line_whole(
        self, flock, docker_client, tmp_path: Path
    ) -> None:
        """A 20 MB log keeps its first and last lines whole around one marker, in order."""
        image = build(
            docker_client,
            tmp_path,
            'CMD ["/bin/sh", "-c", "seq 1 20000 | while read n; do printf \\"%s %0990d\\\\n\\" $n 0; done; '
            'echo THE-END; exit 3"]\n',
        )
        flock.schedule(inputs={})
        result = run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=image))
        assert result.payload_exit_code == 3
        lines = flock.zip(flock.ERRORS, result.error_key).read("payload.log").decode().splitlines()
        assert lines[-1] == "THE-END"
        markers = [number for number, line in enumerate(lines) if line.startswith("[shepard:")]
        assert len(markers) == 1
        head, tail = lines[: markers[0]], lines[markers[0] + 1 : -1]
        assert [int(line.split()[0]) for line in head] == list(range(1, len(head) + 1))
        assert [int(line.split()[0]) for line in tail] == list(range(20_001 - len(tail), 20_001))
        assert all(len(line.split()[1]) == 990 for line in head + tail)

    def test_the_engine_log_file_is_capped(self, flock, docker_client, tmp_path: Path) -> None:
        """The payload container logs to json-file with a size and file-count cap."""
        image = build(docker_client, tmp_path, 'CMD ["/bin/sh", "-c", "sleep 600"]\n')
        flock.schedule(inputs={})
        stop = threading.Event()
        results: list = []
        worker = threading.Thread(
            target=lambda: results.append(
                run(flock, runtime=runtime_for(flock, SHEPARD_PAYLOAD_IMAGE=image), stop=stop)
            )
        )
        worker.start()
        deadline = time.monotonic() + 60
        while not job_containers(docker_client):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        config = job_containers(docker_client)[0].attrs["HostConfig"]["LogConfig"]
        stop.set()
        worker.join(60)
        assert config == {"Type": "json-file", "Config": {"max-size": "64m", "max-file": "4"}}
        assert results[0].exit_code == ExitCode.TERMINATED
