"""DockerRuntime against the real Docker engine: a payload image built here, run through whole jobs."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from typing import TYPE_CHECKING

import pytest
from shepard_core import RESERVED_KEYWORDS, Attr, JobStatus
from shepard_worker import ExitCode, run_job
from shepard_worker._docker_runtime import DockerRuntime

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.requires_docker

PAYLOAD_SCRIPT = r"""#!/bin/sh
case "$MODE" in
  env)
    env > "$ROOT_OUTPUT_NAME/env.txt"
    printenv INJECTED > "$ROOT_OUTPUT_NAME/injected.txt" || echo unset > "$ROOT_OUTPUT_NAME/injected.txt"
    ;;
  reserved)
    env > "$ROOT_OUTPUT_NAME/env.txt"
    ;;
  exit)
    echo "exiting with $CODE"
    exit "$CODE"
    ;;
  ulimit)
    ulimit -n > "$ROOT_OUTPUT_NAME/ulimit.txt"
    ;;
  socket)
    if [ -S /var/run/docker.sock ]; then echo yes; else echo no; fi > "$ROOT_OUTPUT_NAME/socket.txt"
    ;;
  mounts)
    cat "$EFS_READ_ONLY_PATH/shared.txt" > "$ROOT_OUTPUT_NAME/shared.txt"
    touch "$EFS_READ_ONLY_PATH/new" 2>/dev/null && echo writable > "$ROOT_OUTPUT_NAME/ro.txt"
    [ -e "$ROOT_OUTPUT_NAME/ro.txt" ] || echo read-only > "$ROOT_OUTPUT_NAME/ro.txt"
    cat "$LUSTRE_READ_ONLY_PATH/lustre-shared.txt" > "$ROOT_OUTPUT_NAME/lustre-shared.txt"
    if touch "$LUSTRE_READ_ONLY_PATH/new" 2>/dev/null; then echo writable; else echo read-only; fi \
      > "$ROOT_OUTPUT_NAME/lustre-ro.txt"
    ls "$LUSTRE_INPUT_NAME" > "$ROOT_OUTPUT_NAME/lustre-input.txt"
    echo efs > "$EFS_OUTPUT_NAME/efs.txt"
    echo lustre > "$LUSTRE_OUTPUT_NAME/lustre.txt"
    ;;
  stream)
    echo ready
    while [ ! -e "$ROOT_INPUT_NAME/go" ]; do sleep 0.1; done
    echo done
    ;;
  sleep)
    echo started
    sleep 60
    ;;
  *)
    echo "default command ran" > "$ROOT_OUTPUT_NAME/default.txt"
    ;;
esac
"""


@pytest.fixture(scope="session")
def docker_client():
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def payload_image(docker_client, tmp_path_factory) -> str:
    """Build the test payload image FROM the local busybox image (no registry needed)."""
    context = tmp_path_factory.mktemp("payload-image")
    (context / "payload.sh").write_text(PAYLOAD_SCRIPT)
    base = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY payload.sh /payload.sh\nRUN chmod 755 /payload.sh\n"
        'CMD ["/bin/sh", "/payload.sh"]\n'
    )
    tag = "shepard-worker-test-payload:1"
    docker_client.images.build(path=str(context), tag=tag, rm=True, network_mode="none")
    return tag


def run_in_docker(flock, payload_image: str, echo: io.BytesIO | None = None, **overrides: str):
    env = {"SHEPARD_RUNTIME": "docker", "SHEPARD_PAYLOAD_IMAGE": payload_image, **overrides}
    return run_job(flock.config(**env), handle_signals=False, echo=echo or io.BytesIO())


def read_output(flock, result, name: str, index: int = 0) -> str:
    return flock.zip(flock.OUTPUTS, result.output_keys[index]).read(name).decode()


class TestDockerRuntime:
    def test_the_payload_image_default_command_runs(self, flock, payload_image) -> None:
        """Without quick deploy the image's own command runs and its outputs are uploaded."""
        flock.schedule(inputs={})
        result = run_in_docker(flock, payload_image)
        assert result.exit_code == ExitCode.OK, result.reason
        assert read_output(flock, result, "default.txt") == "default command ran\n"
        assert flock.job().status is JobStatus.JOB_COMPLETE

    def test_the_environment_is_visible_and_a_newline_cannot_add_a_variable(
        self, flock, payload_image
    ) -> None:
        """Inputs and reserved variables reach the container; a value with a newline stays one value."""
        flock.schedule(inputs={"MODE": "env", "multi": "first\nINJECTED=1", "plain": "v"})
        result = run_in_docker(flock, payload_image)
        env = read_output(flock, result, "env.txt")
        assert "plain=v\n" in env
        assert "multi=first\nINJECTED=1\n" in env
        assert f"ROOT_OUTPUT_NAME={flock.mounts['root'] / 'job-1' / 'output'}\n" in env
        assert "JOB_STATUS=calling_payload_code\n" in env
        assert "HOSTNAME=sheep-1\n" in env
        assert "PATH=/bin\n" in env  # the image's own PATH is kept
        assert read_output(flock, result, "injected.txt") == "unset\n"

    @pytest.mark.parametrize("file_systems", ["False", "True"])
    def test_every_reserved_variable_has_its_documented_value_inside_the_container(
        self, flock, payload_image, file_systems: str
    ) -> None:
        """In the container each reserved variable holds the original Shepard's value; EFS/Lustre if on."""
        # GIVEN a job from an S3 upload, with EFS and Lustre both off or both on
        flock.schedule(inputs={"MODE": "reserved", "alpha": "one"})
        # WHEN the payload image runs it
        result = run_in_docker(
            flock, payload_image, USES_EFS=file_systems, USES_LUSTRE=file_systems, ULIMIT_FILENO="4096"
        )
        # THEN the variables are exactly core's payload variables, the original Shepard's with its values
        assert result.exit_code == ExitCode.OK, result.reason
        row = flock.job()
        env = dict(line.split("=", 1) for line in read_output(flock, result, "env.txt").splitlines())
        root, efs, fsx = (flock.mounts[name] / "job-1" for name in ("root", "efs", "fsx"))
        expected = {
            "UUID": "job-1",
            "START_TIME": row.start_time,
            "JOB_STATUS": "calling_payload_code",
            "ROOT_INPUT_NAME": str(root / "input"),
            "ROOT_OUTPUT_NAME": str(root / "output"),
            "INPUTS_BUCKET": flock.INPUTS,
            "OUTPUTS_BUCKET": flock.OUTPUTS,
            "ERROR_BUCKET": flock.ERRORS,
            "INPUT_ZIP_NAME": "job-1.zip",
            "PATH": "/bin",
            "HOSTNAME": "sheep-1",
            "USES_EFS": file_systems,
            "USES_LUSTRE": file_systems,
            "ULIMIT_FILENO": "4096",
            "IS_INVOKED": "False",
        }
        if file_systems == "True":
            expected |= {
                "EFS_INPUT_NAME": str(efs / "input"),
                "EFS_OUTPUT_NAME": str(efs / "output"),
                "EFS_READ_ONLY_PATH": str(flock.mounts["efs"] / "read_only"),
                "LUSTRE_INPUT_NAME": str(fsx / "input"),
                "LUSTRE_OUTPUT_NAME": str(fsx / "output"),
                "LUSTRE_READ_ONLY_PATH": str(flock.mounts["fsx"] / "read_only"),
            }
        reserved = {name: value for name, value in env.items() if name in RESERVED_KEYWORDS}
        file_system_variables = {name for name in RESERVED_KEYWORDS if name.startswith(("EFS_", "LUSTRE_"))}
        assert reserved.keys() == RESERVED_KEYWORDS - (
            set() if file_systems == "True" else file_system_variables
        )
        assert {name: reserved[name] for name in expected} == expected
        assert int(reserved["END_TIME"]) > int(time.time())  # the row's TTL, days ahead
        assert env["alpha"] == "one"

    def test_efs_and_lustre_are_mounted_with_read_only_views(self, flock, payload_image) -> None:
        """Job folders are writable; all of EFS and Lustre is readable, not writable, at *_READ_ONLY_PATH."""
        (flock.mounts["efs"] / "shared.txt").write_text("shared data")
        (flock.mounts["fsx"] / "lustre-shared.txt").write_text("lustre data")
        flock.schedule(inputs={"MODE": "mounts"})
        result = run_in_docker(flock, payload_image, USES_EFS="True", USES_LUSTRE="True")
        assert result.exit_code == ExitCode.OK, result.reason
        assert read_output(flock, result, "shared.txt") == "shared data"
        assert read_output(flock, result, "ro.txt") == "read-only\n"
        assert read_output(flock, result, "lustre-shared.txt") == "lustre data"
        assert read_output(flock, result, "lustre-ro.txt") == "read-only\n"
        assert read_output(flock, result, "lustre-input.txt") == "job-1.zip\n"
        assert read_output(flock, result, "efs.txt", 1) == "efs\n"
        assert read_output(flock, result, "lustre.txt", 2) == "lustre\n"
        assert not (flock.mounts["efs"] / "new").exists()

    def test_ulimit_fileno_sets_the_open_file_limit(self, flock, payload_image) -> None:
        """ULIMIT_FILENO becomes the container's nofile limit."""
        flock.schedule(inputs={"MODE": "ulimit"})
        result = run_in_docker(flock, payload_image, ULIMIT_FILENO="12345")
        assert read_output(flock, result, "ulimit.txt") == "12345\n"

    def test_a_non_zero_exit_fails_the_job_with_its_log(self, flock, payload_image) -> None:
        """The container's exit code is the payload's; its output is in the error zip."""
        flock.schedule(inputs={"MODE": "exit", "CODE": "7"})
        result = run_in_docker(flock, payload_image)
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        assert result.payload_exit_code == 7
        assert flock.job().exit_code == 7
        archive = flock.zip(flock.ERRORS, result.error_key)
        assert archive.read("payload.log") == b"exiting with 7\n"

    @pytest.mark.parametrize(("allowed", "expected"), [("True", "yes\n"), ("False", "no\n")])
    def test_docker_sock_is_passed_only_when_allowed(self, flock, payload_image, allowed, expected) -> None:
        """The engine's socket appears at /var/run/docker.sock only with ALLOW_DOCKER_ACCESS=True."""
        flock.schedule(inputs={"MODE": "socket"})
        result = run_in_docker(flock, payload_image, ALLOW_DOCKER_ACCESS=allowed)
        assert read_output(flock, result, "socket.txt") == expected

    def test_quick_deploy_overrides_the_entrypoint(self, flock, payload_image) -> None:
        """With QUICK_DEPLOY_DIRECTORY the container runs /bin/sh <folder>/run.sh in that folder instead."""
        flock.quick_deploy(
            "qd", {"run.sh": 'pwd > "$ROOT_OUTPUT_NAME/pwd.txt"\necho "$0" >> "$ROOT_OUTPUT_NAME/pwd.txt"\n'}
        )
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run_in_docker(flock, payload_image)
        folder = flock.mounts["root"] / "job-1" / "input" / "qd"
        assert read_output(flock, result, "pwd.txt") == f"{folder}\n{folder}/run.sh\n"
        assert "default.txt" not in flock.zip(flock.OUTPUTS, result.output_keys[0]).namelist()

    def test_output_is_streamed_while_the_payload_runs(self, flock, payload_image) -> None:
        """A line the payload prints reaches the echo stream before the payload ends."""
        flock.schedule(inputs={"MODE": "stream"})
        echo = io.BytesIO()
        results = []
        worker = threading.Thread(target=lambda: results.append(run_in_docker(flock, payload_image, echo)))
        worker.start()
        deadline = time.monotonic() + 30
        while b"payload| ready\n" not in echo.getvalue():
            assert time.monotonic() < deadline, "no line arrived while the payload ran"
            time.sleep(0.05)
        assert flock.row()[Attr.JOB_STATUS]["S"] == JobStatus.CALLING_PAYLOAD_CODE.value
        (flock.mounts["root"] / "job-1" / "input" / "go").touch()
        worker.join(30)
        assert results[0].exit_code == ExitCode.OK
        assert echo.getvalue() == b"payload| ready\npayload| done\n"

    def test_stopping_stops_and_removes_the_container(self, flock, payload_image, docker_client) -> None:
        """The stop event stops the container, fails the job and leaves no container behind."""
        flock.schedule(inputs={"MODE": "sleep"})
        stop = threading.Event()
        results = []
        config = flock.config(SHEPARD_RUNTIME="docker", SHEPARD_PAYLOAD_IMAGE=payload_image)
        worker = threading.Thread(
            target=lambda: results.append(
                run_job(config, stop_event=stop, handle_signals=False, echo=io.BytesIO())
            )
        )
        worker.start()
        deadline = time.monotonic() + 30
        while flock.row()[Attr.JOB_STATUS]["S"] != JobStatus.CALLING_PAYLOAD_CODE.value:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stop.set()
        worker.join(30)
        assert results[0].exit_code == ExitCode.TERMINATED
        assert flock.job().status is JobStatus.JOB_FAILED
        assert docker_client.containers.list(all=True, filters={"label": "io.shepard.job=job-1"}) == []

    def test_the_payload_image_is_loaded_from_its_tar(
        self, flock, payload_image, docker_client, tmp_path: Path
    ) -> None:
        """Without SHEPARD_PAYLOAD_IMAGE the image is `docker load`ed from SHEPARD_PAYLOAD_TAR."""
        tar = tmp_path / "payload.tar"
        with tar.open("wb") as f:
            for chunk in docker_client.images.get(payload_image).save(named=True):
                f.write(chunk)
        flock.schedule(inputs={})
        config = flock.config(SHEPARD_RUNTIME="docker", SHEPARD_PAYLOAD_TAR=str(tar))
        runtime = DockerRuntime.from_config(config)
        result = run_job(config, runtime=runtime, handle_signals=False, echo=io.BytesIO())
        assert result.exit_code == ExitCode.OK, result.reason
        assert runtime.image_id() == docker_client.images.get(payload_image).id
        assert read_output(flock, result, "default.txt") == "default command ran\n"

    def test_a_named_image_missing_from_the_engine_is_loaded_from_the_tar(
        self, flock, payload_image, docker_client, tmp_path: Path
    ) -> None:
        """SHEPARD_PAYLOAD_IMAGE naming an image the (fresh, inner) engine lacks falls back to the tar."""
        tar = tmp_path / "payload.tar"
        with tar.open("wb") as f:
            for chunk in docker_client.images.get(payload_image).save(named=True):
                f.write(chunk)
        flock.schedule(inputs={})
        config = flock.config(
            SHEPARD_RUNTIME="docker",
            SHEPARD_PAYLOAD_IMAGE="not-on-this-engine:1",
            SHEPARD_PAYLOAD_TAR=str(tar),
        )
        result = run_job(config, handle_signals=False, echo=io.BytesIO())
        assert result.exit_code == ExitCode.OK, result.reason
        assert read_output(flock, result, "default.txt") == "default command ran\n"

    def test_a_missing_payload_tar_is_a_clear_failure(self, flock, tmp_path: Path) -> None:
        """No image and no tar fails staging with a message naming the tar path."""
        flock.schedule(inputs={})
        missing = tmp_path / "absent.tar"
        result = run_job(
            flock.config(SHEPARD_RUNTIME="docker", SHEPARD_PAYLOAD_TAR=str(missing)),
            handle_signals=False,
            echo=io.BytesIO(),
        )
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert f"{missing} does not exist" in (result.reason or "")
        assert (
            json.loads(flock.zip(flock.ERRORS, result.error_key).read("environment.json"))["UUID"] == "job-1"
        )
