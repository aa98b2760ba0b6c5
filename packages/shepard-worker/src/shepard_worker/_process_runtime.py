"""Run a quick-deploy `run.sh` as a plain subprocess, for machines without a container engine."""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import subprocess
import threading
from typing import TYPE_CHECKING, Final

from shepard_worker._errors import PayloadStartError
from shepard_worker._runtime import PayloadSpec, RunningPayload, Runtime
from shepard_worker._staging import RUN_SCRIPT

if TYPE_CHECKING:
    from pathlib import Path

    from shepard_worker._logs import PayloadLog

log = logging.getLogger(__name__)

SHELL: Final = "/bin/sh"


class _RunningProcess(RunningPayload):
    def __init__(self, process: subprocess.Popen[bytes], payload_log: PayloadLog) -> None:
        self._process = process
        self._reader = threading.Thread(
            target=self._pump, args=(payload_log,), name="payload-output", daemon=True
        )
        self._reader.start()

    def _pump(self, payload_log: PayloadLog) -> None:
        stdout = self._process.stdout
        if stdout is None:  # pragma: no cover - always a pipe
            return
        with stdout:
            payload_log.consume(iter(lambda: os.read(stdout.fileno(), 65536), b""))

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        # Like a container, the job ends with its main process: leftovers would hold the output pipe.
        self._signal(signal.SIGKILL)
        self._reader.join()
        return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell or container says

    def stop(self, grace_seconds: float) -> None:
        if self._process.poll() is not None:
            return
        log.warning("stopping the payload (SIGTERM, then SIGKILL after %ss)", grace_seconds)
        self._signal(signal.SIGTERM)
        try:
            self._process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)

    def _signal(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signum)

    def close(self) -> None:
        if self._process.poll() is None:
            self._signal(signal.SIGKILL)
            self._process.wait()
        self._reader.join(5)


class ProcessRuntime(Runtime):
    """Runs `/bin/sh <quick-deploy folder>/run.sh` in that folder, with the payload environment and PATH.

    There is no isolation: the EFS and Lustre read-only paths are the mounts themselves, and the
    payload runs as the worker's user. ULIMIT_FILENO is applied to the payload's process.
    """

    name = "process"

    def read_only_path(self, mount: Path) -> Path:
        """Return `mount` itself: a process cannot be given a read-only view."""
        return mount

    def start(self, spec: PayloadSpec, payload_log: PayloadLog) -> RunningPayload:
        """Start run.sh in its own process group, or raise PayloadStartError."""
        if spec.quick_deploy_dir is None:
            raise PayloadStartError(
                "the process runtime (SHEPARD_RUNTIME=process) runs only quick-deploy jobs: "
                "set QUICK_DEPLOY_DIRECTORY in the job's inputs"
            )
        script = spec.quick_deploy_dir / RUN_SCRIPT
        env = dict(spec.env)
        env["PATH"] = os.environ.get("PATH", os.defpath)
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell string
                [SHELL, str(script)],
                cwd=spec.quick_deploy_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise PayloadStartError(f"could not start {script}: {exc}") from None
        if spec.ulimit_fileno is not None:
            _limit_open_files(process.pid, spec.ulimit_fileno)
        log.info("payload started: %s %s (pid %d)", SHELL, script, process.pid)
        return _RunningProcess(process, payload_log)


def _limit_open_files(pid: int, wanted: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    except (OSError, ValueError) as exc:
        log.warning("could not set the payload's open-file limit to %d: %s", limit, exc)
