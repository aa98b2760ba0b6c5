"""Hostile payloads and names: processes left behind, SIGTERM at each phase, unusable secret and zip names."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
from shepard_core import Attr, JobStatus
from shepard_worker import ExitCode, run_job

WORKER = [sys.executable, "-m", "shepard_worker"]
GRACE = 2  # the flock fixture's SHEPARD_STOP_GRACE_SECONDS


def run(flock, **overrides: str):
    echo = io.BytesIO()
    result = run_job(flock.config(**overrides), handle_signals=False, echo=echo)
    return result, echo.getvalue()


def worker_env(flock, **overrides: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHEPARD_", "USES_", "UUID"))}
    return {**base, **flock.env(**overrides)}


def start_worker(flock, **overrides: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - a fixed argument list
        [*WORKER, "run"], env=worker_env(flock, **overrides), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def wait_for_status(flock, status: JobStatus, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while flock.row().get(Attr.JOB_STATUS, {}).get("S") != status.value:
        assert time.monotonic() < deadline, f"the job never reached {status.value}"
        time.sleep(0.02)


def terminate(worker: subprocess.Popen[bytes]) -> tuple[float, str]:
    """Send SIGTERM; return the seconds the worker took to exit and its log."""
    began = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    _out, err = worker.communicate(timeout=60)
    return time.monotonic() - began, err.decode()


def error_zip(flock) -> zipfile.ZipFile:
    keys = flock.keys(flock.ERRORS)
    assert len(keys) == 1, keys
    return flock.zip(flock.ERRORS, keys[0])


def running(pid: int) -> bool:
    """Return whether `pid` is a live process (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:  # noqa: PTH123
            return f.read().rpartition(b")")[2].split()[0] not in {b"Z", b"X"}
    except OSError:
        return False


WAIT_FOR_PID = 'while [ ! -s "$ROOT_OUTPUT_NAME/pid" ]; do sleep 0.05; done\n'
LEFT_BEHIND = {
    "setsid": 'setsid sleep 600 &\necho $! > "$ROOT_OUTPUT_NAME/pid"\n',
    "nohup": 'nohup sleep 600 &\necho $! > "$ROOT_OUTPUT_NAME/pid"\n',
    "background": 'sleep 600 &\necho $! > "$ROOT_OUTPUT_NAME/pid"\n',
    "double fork": '(sleep 600 & echo $! > "$ROOT_OUTPUT_NAME/pid") &\nwait\n',
    "daemon closing stdin": (
        "setsid sh -c 'exec 0<&-; echo $$ > \"$ROOT_OUTPUT_NAME/pid\"; exec sleep 600' &\n" + WAIT_FOR_PID
    ),
    "ignores TERM and HUP": (
        'setsid sh -c \'trap "" TERM HUP; echo $$ > "$ROOT_OUTPUT_NAME/pid"; '
        "while :; do sleep 1; done' &\n" + WAIT_FOR_PID
    ),
    "grandchild of a detached shell": (
        "setsid sh -c 'sleep 600 & echo $! > \"$ROOT_OUTPUT_NAME/pid\"; wait' &\n" + WAIT_FOR_PID
    ),
}


class TestProcessesLeftBehind:
    @pytest.mark.parametrize("script", LEFT_BEHIND.values(), ids=LEFT_BEHIND.keys())
    def test_the_job_ends_with_its_main_process_and_nothing_is_left_running(self, flock, script) -> None:
        """A run.sh that leaves a process holding stdout completes at once, and that process is ended."""
        # GIVEN a payload whose main process exits while something it started still holds its output
        flock.quick_deploy("qd", {"run.sh": script + "echo main-done\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs it
        began = time.monotonic()
        result, echoed = run(flock)
        # THEN the job completes well before the leftover would have ended, and the leftover is gone
        assert time.monotonic() - began < 20
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.job().status is JobStatus.JOB_COMPLETE
        assert echoed.endswith(b"payload| main-done\n")
        pid = int(flock.zip(flock.OUTPUTS, result.output_keys[0]).read("pid"))
        assert not running(pid)

    def test_output_a_leftover_wrote_before_the_end_is_kept(self, flock) -> None:
        """Lines a detached process wrote while the payload ran reach the job's log."""
        script = "setsid sh -c 'echo from-leftover; exec sleep 600' &\nsleep 0.5\necho main-done\n"
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result, echoed = run(flock)
        assert result.exit_code == ExitCode.OK, result.reason
        assert sorted(echoed.splitlines()) == [b"payload| from-leftover", b"payload| main-done"]

    def test_a_failing_payload_with_leftovers_fails_promptly(self, flock) -> None:
        """A payload that exits 3 leaving a process behind fails with its code, its log in the error zip."""
        flock.quick_deploy("qd", {"run.sh": "setsid sleep 600 &\necho failing\nexit 3\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        began = time.monotonic()
        result, _echoed = run(flock)
        assert time.monotonic() - began < 20
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        assert result.payload_exit_code == 3
        assert error_zip(flock).read("payload.log") == b"failing\n"


class TestSigterm:
    """A real SIGTERM to a real `shepard-worker run` process, at each phase of the job."""

    def _assert_terminated(self, flock, seconds: float, log: str, worker: subprocess.Popen[bytes]) -> None:
        assert worker.returncode == ExitCode.TERMINATED, log
        assert seconds < GRACE + 10, log
        assert "Traceback" not in log
        assert flock.job().status is JobStatus.JOB_FAILED
        assert "SIGTERM" in error_zip(flock).read("reason.txt").decode()

    def test_while_claiming(self, flock) -> None:
        """SIGTERM as the worker claims the job: exit 143, error zip, the payload never runs."""
        flock.quick_deploy("qd", {"run.sh": 'echo ran > "$ROOT_OUTPUT_NAME/ran"\necho ran\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        worker = start_worker(flock)
        assert worker.stderr is not None
        for line in worker.stderr:  # the worker logs this line just before it claims the row
            if b"worker for job job-1" in line:
                break
        seconds, log = terminate(worker)
        self._assert_terminated(flock, seconds, log, worker)
        assert error_zip(flock).read("payload.log") == b""
        assert flock.keys(flock.OUTPUTS) == []

    def test_while_staging_the_quick_deploy_folder(self, flock) -> None:
        """SIGTERM during a long quick-deploy download cuts it short: exit 143 and the payload never runs."""
        # GIVEN a quick-deploy folder of many files, so staging takes seconds
        files = {f"lib/part{i:04}.txt": "x" for i in range(600)}
        flock.quick_deploy("qd", {"run.sh": "echo ran\n", **files})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        worker = start_worker(flock)
        # WHEN SIGTERM arrives once the row is claimed (staging has begun)
        wait_for_status(flock, JobStatus.IN_PROGRESS)
        time.sleep(0.3)
        seconds, log = terminate(worker)
        # THEN the worker stops at once
        self._assert_terminated(flock, seconds, log, worker)
        assert "calling_payload_code" not in log
        assert error_zip(flock).read("payload.log") == b""

    def test_while_the_payload_runs_and_ignores_sigterm(self, flock) -> None:
        """A payload that ignores SIGTERM is killed after the grace period; the worker exits 143."""
        flock.quick_deploy("qd", {"run.sh": "trap '' TERM\necho started\nsleep 600\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        worker = start_worker(flock)
        wait_for_status(flock, JobStatus.CALLING_PAYLOAD_CODE)
        time.sleep(0.3)
        seconds, log = terminate(worker)
        self._assert_terminated(flock, seconds, log, worker)
        assert error_zip(flock).read("payload.log") == b"started\n"

    @pytest.mark.parametrize(
        "script",
        [
            "setsid sleep 600 &\necho started\nsleep 600\n",
            "setsid sh -c 'trap \"\" TERM HUP; exec sleep 600' &\necho started\nsleep 600\n",
            "(setsid sleep 600 &) &\necho started\nexec sleep 600\n",
        ],
        ids=["setsid", "ignores TERM", "double fork"],
    )
    def test_while_the_payload_runs_with_detached_processes(self, flock, script) -> None:
        """SIGTERM with detached processes holding the output still ends the worker with 143 in time."""
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        worker = start_worker(flock)
        wait_for_status(flock, JobStatus.CALLING_PAYLOAD_CODE)
        time.sleep(0.5)
        seconds, log = terminate(worker)
        self._assert_terminated(flock, seconds, log, worker)
        assert error_zip(flock).read("payload.log") == b"started\n"

    def test_while_uploading_outputs(self, flock) -> None:
        """SIGTERM while outputs are zipped and uploaded fails the job with exit 143 and the error zip."""
        # GIVEN a payload that leaves outputs that take seconds to zip and upload
        script = (
            "python3 -c 'import os,sys\n"
            'd=os.environ["ROOT_OUTPUT_NAME"]\n'
            '[open(os.path.join(d, f"f{i}"), "wb").write(os.urandom(20000)) for i in range(5000)]\'\n'
        )
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        worker = start_worker(flock)
        # WHEN SIGTERM arrives while the outputs are being pushed
        wait_for_status(flock, JobStatus.JOB_COMPLETE_PUSHING_TO_S3, timeout=60)
        seconds, log = terminate(worker)
        # THEN the job fails with the error zip, not half-complete
        self._assert_terminated(flock, seconds, log, worker)
        assert "job_complete_cleaning_up_workspace" not in log


class TestSecretNames:
    @pytest.mark.parametrize(
        "name",
        ["k" * 256, "é" * 128, "s" * 1000, "a/b", "../escape", "..", "nul\0name", "dir/"],
        ids=["256 bytes", "256 bytes of é", "1000 bytes", "slash", "dotdot path", "dotdot", "NUL", "folder"],
    )
    def test_a_secret_no_file_system_can_hold_is_a_staging_failure_naming_it(self, flock, name) -> None:
        """A secret name that cannot be a file fails staging (exit 5) naming the secret, never exit 70."""
        flock.quick_deploy("qd", {"run.sh": "echo ran\n"})
        flock.secrets({"ok.txt": b"fine", name: b"x"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result, echoed = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert repr(name)[:60] in (result.reason or "")
        assert echoed == b""
        archive = error_zip(flock)
        assert "Traceback" not in archive.read("worker.log").decode()
        assert flock.job().exit_code == ExitCode.STAGING_FAILED

    def test_a_secret_name_of_255_bytes_is_written(self, flock) -> None:
        """The longest name a file system holds becomes a secret file."""
        name = "k" * 255
        flock.quick_deploy("qd", {"run.sh": f'cp "$ROOT_INPUT_NAME/secrets/{name}" "$ROOT_OUTPUT_NAME/s"\n'})
        flock.secrets({name: b"long"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result, _echoed = run(flock)
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.zip(flock.OUTPUTS, result.output_keys[0]).read("s") == b"long"


class TestInputZipName:
    @pytest.mark.parametrize(
        ("key", "file_name"),
        [
            ("a/../../b.zip", "b.zip"),
            ("../x.zip", "x.zip"),
            ("./y.zip", "y.zip"),
            ("dir/z.zip", "z.zip"),
            ("deep/er/../w.zip", "w.zip"),
            ("plain.zip", "plain.zip"),
        ],
    )
    def test_input_zip_name_leads_to_the_staged_zip_inside_the_input_folder(
        self, flock, key: str, file_name: str
    ) -> None:
        """$ROOT_INPUT_NAME/$INPUT_ZIP_NAME is the staged zip, a file directly in the input folder."""
        # GIVEN a job whose zip key holds folders, `.` or `..`
        script = (
            'echo "$INPUT_ZIP_NAME" > "$ROOT_OUTPUT_NAME/name"\n'
            'realpath "$ROOT_INPUT_NAME/$INPUT_ZIP_NAME" > "$ROOT_OUTPUT_NAME/where"\n'
            'cp "$ROOT_INPUT_NAME/$INPUT_ZIP_NAME" "$ROOT_OUTPUT_NAME/in.zip"\n'
        )
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, files={"data.csv": b"1,2"}, zip_key=key)
        # WHEN the worker runs it
        result, _echoed = run(flock)
        # THEN the payload finds the zip by its file name inside its input folder
        assert result.exit_code == ExitCode.OK, result.reason
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        assert archive.read("name").decode() == f"{file_name}\n"
        root = os.path.realpath(flock.mounts["root"])
        assert archive.read("where").decode() == f"{root}/job-1/input/{file_name}\n"
        inner = zipfile.ZipFile(io.BytesIO(archive.read("in.zip")))
        assert inner.read("data.csv") == b"1,2"

    @pytest.mark.parametrize("key", ["folder/", "a/..", "x" * 256 + ".zip"])
    def test_a_key_with_no_usable_file_name_is_a_staging_failure(self, flock, key: str) -> None:
        """A key whose last part cannot be a file name fails staging (exit 5), naming the key."""
        flock.quick_deploy("qd", {"run.sh": "echo ran\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, zip_key=key)
        result, echoed = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert repr(key)[:40] in (result.reason or "")
        assert echoed == b""


class TestQuickDeployDirectory:
    @pytest.mark.parametrize(
        "directory", ["../up", "/abs", "a//b", "a/./b", "a\\b", "d" * 256, "ok/" + "é" * 128]
    )
    def test_a_folder_that_cannot_be_staged_is_refused_by_the_worker_too(self, flock, directory) -> None:
        """A QUICK_DEPLOY_DIRECTORY that names no folder fails staging (exit 5) with core's reason."""
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": directory})
        result, _echoed = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "QUICK_DEPLOY_DIRECTORY" in (result.reason or "")
        assert "Traceback" not in error_zip(flock).read("worker.log").decode()


class TestRunScriptHints:
    @pytest.mark.parametrize("script", ["true\r\n", "echo hi\r\nls /\r\n", "#!/bin/sh\r\nfalse\r\n"])
    def test_crlf_line_endings_fail_with_a_plain_hint(self, flock, script: str) -> None:
        """A run.sh saved with CRLF endings fails with a hint to save it with LF, in its reason and log."""
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result, _echoed = run(flock)
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        hint = "run.sh has Windows (CRLF) line endings"
        assert hint in (result.reason or "")
        archive = error_zip(flock)
        assert hint in archive.read("reason.txt").decode()
        assert hint in archive.read("worker.log").decode()

    @pytest.mark.parametrize(
        ("shebang", "program"),
        [("#!/usr/bin/env python3", "python3"), ("#!/usr/bin/python3", "python3"), ("#!/bin/bash", "bash")],
    )
    def test_a_shebang_quick_deploy_ignores_gets_a_hint(self, flock, shebang: str, program: str) -> None:
        """A run.sh whose #! line names another interpreter fails with a hint that /bin/sh runs it."""
        flock.quick_deploy("qd", {"run.sh": f"{shebang}\nimport sys\nsys.exit(0)\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result, _echoed = run(flock)
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        assert f"run.sh starts with {shebang!r}" in (result.reason or "")
        assert f"exec {program} main.py" in (result.reason or "")
        assert "/bin/sh run.sh" in error_zip(flock).read("worker.log").decode()

    @pytest.mark.parametrize("script", ["#!/bin/sh\necho ok\n", "echo ok\n", "#! /usr/bin/env sh\necho ok\n"])
    def test_a_plain_shell_script_gets_no_hint(self, flock, caplog, script: str) -> None:
        """A POSIX shell run.sh with LF endings runs with no hint in the log."""
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result, echoed = run(flock)
        assert result.exit_code == ExitCode.OK, result.reason
        assert echoed == b"payload| ok\n"
        assert "hint:" not in caplog.text


class TestCleanupFailure:
    @pytest.mark.parametrize(
        ("script", "status"),
        [("true\n", JobStatus.JOB_COMPLETE), ("exit 4\n", JobStatus.JOB_FAILED)],
        ids=["complete", "failed"],
    )
    def test_a_cleanup_that_raises_still_records_the_final_status(
        self, flock, monkeypatch, script: str, status: JobStatus
    ) -> None:
        """A workspace removal that raises (a tree too deep to walk) never leaves the row mid-cleanup."""
        from shepard_worker._workspace import Workspace

        def too_deep(_self: Workspace) -> None:
            raise RecursionError("maximum recursion depth exceeded")

        monkeypatch.setattr(Workspace, "remove", too_deep)
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        _result, _echoed = run(flock)
        assert flock.job().status is status
