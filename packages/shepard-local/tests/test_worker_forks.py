"""The worker launcher: each worker is a fork with the job's own environment, directory and output."""

from __future__ import annotations

import os
import signal
import socket
from typing import TYPE_CHECKING

import pytest
from shepard_local._runner import worker_command
from shepard_local._worker_forks import WorkerLauncher

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

WORKER = worker_command()[0]


@pytest.fixture(scope="module")
def launcher() -> Iterator[WorkerLauncher]:
    """A launcher started from an environment that names a job table the workers must not see."""
    os.environ["SHEPARD_TABLE_NAME"] = "the-launcher-s-own"
    try:
        started = WorkerLauncher()
    finally:
        del os.environ["SHEPARD_TABLE_NAME"]
    yield started
    started.stop()


def _finish(worker: object) -> tuple[int, str]:
    stdout = getattr(worker, "stdout")  # noqa: B009 - the protocol's attribute
    output = stdout.read().decode()
    stdout.close()
    return int(getattr(worker, "wait")(30)), output  # noqa: B009


class TestForkedWorkers:
    def test_a_worker_runs_the_worker_command_line_and_exits_with_its_code(
        self, launcher: WorkerLauncher, tmp_path: Path
    ):
        """`shepard-worker --help` forked prints the worker's usage and exits 0."""
        worker = launcher.spawn([WORKER, "--help"], {"PATH": os.environ["PATH"]}, tmp_path)
        code, output = _finish(worker)
        assert code == 0
        assert "usage: shepard-worker" in output

    def test_a_worker_sees_only_the_job_s_environment(self, launcher: WorkerLauncher, tmp_path: Path):
        """A variable of the launcher's own environment is not the worker's: run says it is missing."""
        worker = launcher.spawn([WORKER, "run"], {"PATH": os.environ["PATH"]}, tmp_path)
        code, output = _finish(worker)
        assert code == 2  # a configuration error, as `shepard-worker run` exits
        assert "SHEPARD_TABLE_NAME is not set" in output

    def test_a_bad_command_line_exits_as_the_worker_s_would(self, launcher: WorkerLauncher, tmp_path: Path):
        """An unknown subcommand exits 2 with argparse's message on the worker's output."""
        worker = launcher.spawn([WORKER, "fly"], {"PATH": os.environ["PATH"]}, tmp_path)
        code, output = _finish(worker)
        assert code == 2
        assert "invalid choice" in output

    def test_a_signal_reaches_the_worker_by_its_pid(self, launcher: WorkerLauncher, tmp_path: Path):
        """SIGKILL to a worker's pid ends it, and its exit code names the signal as Popen's would."""
        # A worker whose AWS endpoint (a local socket that is never answered) keeps it waiting until killed.
        silent = socket.create_server(("127.0.0.1", 0))
        environment = {
            "PATH": os.environ["PATH"],
            "SHEPARD_TABLE_NAME": "t",
            "SHEPARD_INPUTS_BUCKET": "i",
            "SHEPARD_OUTPUTS_BUCKET": "o",
            "SHEPARD_ERRORS_BUCKET": "e",
            "SHEPARD_RUNTIME": "process",
            "SHEPARD_ROOT_MOUNT": str(tmp_path / "mnt"),
            "UUID": "00000000-0000-5000-8000-000000000000",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        with silent:
            worker = launcher.spawn([WORKER, "run"], environment, tmp_path)
            silent.settimeout(60)
            waiting, _ = silent.accept()  # the worker is alive, waiting for its first answer
            os.kill(worker.pid, signal.SIGKILL)
            waiting.close()
            code, output = _finish(worker)
        assert code == -signal.SIGKILL, output

    def test_after_the_launcher_ends_workers_start_as_new_processes(self, tmp_path: Path):
        """A launcher that has stopped still starts the worker, as a process of its own."""
        stopped = WorkerLauncher()
        stopped.stop()
        worker = stopped.spawn([WORKER, "--help"], {"PATH": os.environ["PATH"]}, tmp_path)
        code, output = _finish(worker)
        assert code == 0
        assert "usage: shepard-worker" in output
