"""`shepard-worker run` as a process: exit codes, SIGTERM, configuration errors."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

import pytest
from shepard_core import Attr, JobStatus, error_object_name
from shepard_worker import ExitCode
from shepard_worker._cli import main

WORKER = [sys.executable, "-m", "shepard_worker"]


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2
_CAP_FOWNER = 3


def _without_root_file_override() -> None:
    """Run the child like an unprivileged user: even as root it cannot write into folders it may not."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
            if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _statuses(log: str) -> list[str]:
    """Return the statuses the worker logged for job-1, in order (what CloudWatch shows)."""
    marker = "shepard_worker._table: job job-1: "
    return [line.split(marker, 1)[1] for line in log.splitlines() if marker in line]


def _run_unprivileged_worker(flock, **overrides: str) -> subprocess.CompletedProcess[str]:
    """Run `shepard-worker run` for the flock's job as a process that cannot override file permissions."""
    return subprocess.run(  # noqa: S603 - a fixed argument list
        [*WORKER, "run"],
        env=_worker_env(flock, **overrides),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=_without_root_file_override,
    )


def _worker_env(flock, **overrides: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHEPARD_", "USES_", "UUID"))}
    return {**base, **flock.env(**overrides)}


class TestCommandLine:
    def test_help_lists_the_exit_codes(self, capsys) -> None:
        """`shepard-worker run --help` explains every exit code."""
        with pytest.raises(SystemExit) as exited:
            main(["run", "--help"])
        assert exited.value.code == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "143 stopped by SIGTERM" in out
        assert "1 payload exited non-zero" in out

    def test_a_bad_configuration_exits_2_with_a_message(self) -> None:
        """A missing variable exits CONFIG_ERROR with a one-line message, not a traceback."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHEPARD_")}
        done = subprocess.run(  # noqa: S603 - a fixed argument list
            [*WORKER, "run"], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == ExitCode.CONFIG_ERROR
        assert done.stderr.strip() == (
            "shepard-worker: SHEPARD_TABLE_NAME is not set; "
            "the job definition (or the job's overrides) must set it"
        )

    def test_a_job_runs_to_completion(self, flock) -> None:
        """`shepard-worker run` runs the job the environment names and exits 0."""
        flock.quick_deploy("qd", {"run.sh": 'echo out > "$ROOT_OUTPUT_NAME/o"\necho from-payload\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        done = subprocess.run(  # noqa: S603 - a fixed argument list
            [*WORKER, "run"], env=_worker_env(flock), capture_output=True, text=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
        # The payload's output, then the job's metrics document (see test_metrics).
        assert done.stdout.splitlines()[0] == "payload| from-payload"
        assert done.stdout.splitlines()[1].startswith('{"_aws"')
        assert _statuses(done.stderr) == [
            "calling_payload_code",
            "job_complete_pushing_to_s3",
            "job_complete_cleaning_up_workspace",
            "job_complete (exit code 0)",
        ]
        assert flock.job().status is JobStatus.JOB_COMPLETE

    def test_sigterm_stops_the_payload_and_fails_the_job(self, flock) -> None:
        """SIGTERM (a Spot reclaim) stops the payload, uploads the error zip and exits 143."""
        # GIVEN a worker running a payload that would sleep for a minute
        flock.quick_deploy("qd", {"run.sh": "echo started\nsleep 60\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        worker = subprocess.Popen(  # noqa: S603 - a fixed argument list
            [*WORKER, "run"], env=_worker_env(flock), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while flock.row().get(Attr.JOB_STATUS, {}).get("S") != JobStatus.CALLING_PAYLOAD_CODE.value:
            assert time.monotonic() < deadline, "the payload never started"
            time.sleep(0.05)
        # WHEN Batch sends SIGTERM
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=30)
        # THEN the job is failed with its logs uploaded
        assert worker.returncode == ExitCode.TERMINATED, err
        assert _statuses(err.decode())[1:] == [
            "job failed; pushing logs to s3",
            "job failed; cleaning up workspace",
            "job_failed (exit code 143)",  # the payload's: killed by SIGTERM, as a container reports it
        ]
        row = flock.job()
        assert row.status is JobStatus.JOB_FAILED
        assert row.exit_code == 128 + signal.SIGTERM
        assert flock.keys(flock.ERRORS) == [error_object_name("job-1", row.start_time or "")]
        payload_log = flock.zip(flock.ERRORS, flock.keys(flock.ERRORS)[0]).read("payload.log")
        assert payload_log == b"started\n"

    def test_folders_the_payload_made_read_only_are_still_removed(self, flock) -> None:
        """A payload that leaves a read-only folder behind still completes and its scratch is removed."""
        # GIVEN a payload (run by an unprivileged worker) that writes an output then locks its folder
        script = 'mkdir "$ROOT_OUTPUT_NAME/locked"\necho x > "$ROOT_OUTPUT_NAME/locked/f"\n'
        script += 'mkdir "$ROOT_INPUT_NAME/hidden"\necho y > "$ROOT_INPUT_NAME/hidden/g"\n'
        script += (
            'chmod 000 "$ROOT_INPUT_NAME/hidden"\nchmod 500 "$ROOT_OUTPUT_NAME/locked" "$ROOT_INPUT_NAME"\n'
        )
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs the job
        done = _run_unprivileged_worker(flock)
        # THEN the job is complete with its output, and nothing of it is left on disk
        assert done.returncode == 0, done.stderr
        assert flock.job().status is JobStatus.JOB_COMPLETE
        (key,) = flock.keys(flock.OUTPUTS)
        assert flock.zip(flock.OUTPUTS, key).read("locked/f") == b"x\n"
        assert list(flock.mounts["root"].iterdir()) == []

    @pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand a folder to another user")
    def test_a_folder_the_worker_cannot_remove_leaves_the_job_complete(self, flock) -> None:
        """With its outputs uploaded, a scratch folder the worker cannot remove is logged, not a failure."""
        # GIVEN a payload that leaves a folder owned by another user, as a root container does
        script = 'mkdir "$ROOT_OUTPUT_NAME/theirs"\necho x > "$ROOT_OUTPUT_NAME/theirs/f"\n'
        script += 'chown 4321 "$ROOT_OUTPUT_NAME/theirs"\n'
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN a worker that cannot override file permissions runs the job
        done = _run_unprivileged_worker(flock)
        # THEN the job is complete with its output, and the folder left behind is reported
        assert done.returncode == 0, done.stderr
        assert flock.job().status is JobStatus.JOB_COMPLETE
        (key,) = flock.keys(flock.OUTPUTS)
        assert flock.zip(flock.OUTPUTS, key).read("theirs/f") == b"x\n"
        assert "could not remove the job's folders" in done.stderr
        assert (flock.mounts["root"] / "job-1" / "output" / "theirs" / "f").exists()
        # AND a retry that cannot clear the leftovers fails staging saying so
        flock.dynamodb.update_item(
            TableName=flock.TABLE,
            Key={"UUID": {"S": "job-1"}},
            UpdateExpression="SET JOB_STATUS = :failed",
            ExpressionAttributeValues={":failed": {"S": JobStatus.JOB_FAILED.value}},
        )
        retry = _run_unprivileged_worker(flock, AWS_BATCH_JOB_ATTEMPT="2")
        assert retry.returncode == ExitCode.STAGING_FAILED, retry.stderr
        assert "left by an earlier attempt: [Errno 13] Permission denied" in retry.stderr

    def test_an_output_file_the_worker_cannot_read_is_skipped_and_reported(self, flock) -> None:
        """An output the worker may not read is left out and named in the zip's report; the rest goes up."""
        script = 'echo x > "$ROOT_OUTPUT_NAME/closed"\nchmod 000 "$ROOT_OUTPUT_NAME/closed"\n'
        script += 'echo kept > "$ROOT_OUTPUT_NAME/open"\n'
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        done = _run_unprivileged_worker(flock)
        assert done.returncode == ExitCode.OK, done.stderr
        assert "skipping closed: Permission denied" in done.stderr
        assert flock.job().status is JobStatus.JOB_COMPLETE
        (key,) = flock.keys(flock.OUTPUTS)
        archive = flock.zip(flock.OUTPUTS, key)
        assert sorted(archive.namelist()) == ["SHEPARD_SKIPPED_FILES.txt", "open"]
        assert archive.read("open") == b"kept\n"
        assert "closed\tPermission denied" in archive.read("SHEPARD_SKIPPED_FILES.txt").decode()
        assert list(flock.mounts["root"].iterdir()) == []
