"""Run a quick-deploy `run.sh` as a plain subprocess, for machines without a container engine."""

from __future__ import annotations

import logging
import os
import resource
import select
import signal
import subprocess
import threading
from typing import TYPE_CHECKING, Final

from shepard_worker._errors import PayloadStartError
from shepard_worker._gpus import inherited_gpu_variables
from shepard_worker._reaper import Reaper
from shepard_worker._runtime import PayloadSpec, RunningPayload, Runtime
from shepard_worker._staging import RUN_SCRIPT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from shepard_worker._logs import PayloadLog

log = logging.getLogger(__name__)

SHELL: Final = "/bin/sh"
LEFTOVER_GRACE_SECONDS: Final = 2.0
"""Processes still running when the payload's main process ends get SIGTERM, then SIGKILL after this."""
DRAIN_SECONDS: Final = 5.0
"""How long the output is still read once every payload process is gone (a pipe may outlive them all)."""
READ_POLL_MILLISECONDS: Final = 200


class _RunningProcess(RunningPayload):
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        reaper: Reaper,
        payload_log: PayloadLog,
        leftover_grace_seconds: float,
    ) -> None:
        self._process = process
        self._reaper = reaper
        self._leftover_grace = leftover_grace_seconds
        self._code: int | None = None
        self._stop_reading = threading.Event()
        self._reader = threading.Thread(
            target=self._pump, args=(payload_log,), name="payload-output", daemon=True
        )
        self._reader.start()

    def _pump(self, payload_log: PayloadLog) -> None:
        stdout = self._process.stdout
        if stdout is None:  # pragma: no cover - always a pipe
            return
        with stdout:
            payload_log.consume(self._chunks(stdout.fileno()))

    def _chunks(self, fd: int) -> Iterator[bytes]:
        """Yield the pipe's data until EOF, or until told to stop and nothing more is ready."""
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            stopping = self._stop_reading.is_set()
            if not poller.poll(0 if stopping else READ_POLL_MILLISECONDS):
                if stopping:
                    return
                continue
            data = os.read(fd, 65536)
            if not data:
                return
            yield data

    def wait(self, timeout: float | None = None) -> int | None:
        if self._code is not None:
            return self._code
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        # Like a container, the job ends with its main process: whatever it left behind is ended too.
        left = self._reaper.end(self._process.pid, self._leftover_grace)
        if left:
            log.warning("the payload left %d process(es) running; they were stopped", left)
        self._reader.join(DRAIN_SECONDS)
        if self._reader.is_alive():
            log.warning("the payload's output stayed open after it ended; stopped reading it")
            self._stop_reading.set()
            self._reader.join()
        self._code = 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says
        return self._code

    def stop(self, grace_seconds: float) -> None:
        if self._process.poll() is not None:
            return
        log.warning("stopping the payload (SIGTERM, then SIGKILL after %ss)", grace_seconds)
        self._reaper.send(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            self._reaper.send(self._process.pid, signal.SIGKILL)

    def close(self) -> None:
        if self._process.poll() is None:
            self._reaper.send(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._reaper.end(self._process.pid, 0)
        self._stop_reading.set()
        self._reader.join(DRAIN_SECONDS)
        self._reaper.close()


class ProcessRuntime(Runtime):
    """Runs `/bin/sh <quick-deploy folder>/run.sh` in that folder, with the payload environment and PATH.

    There is no isolation: the EFS and Lustre read-only paths are the mounts themselves, and the
    payload runs as the worker's user, with the worker's GPUs (NVIDIA_VISIBLE_DEVICES and
    CUDA_VISIBLE_DEVICES are kept, see `inherited_gpu_variables`). ULIMIT_FILENO is applied to the
    payload's process. When the main process ends, every process it left behind is ended too (see
    `_reaper`), and the job never waits on an output pipe such a process still holds.
    """

    def __init__(self, leftover_grace_seconds: float = LEFTOVER_GRACE_SECONDS) -> None:
        """Give processes left behind by the payload `leftover_grace_seconds` between SIGTERM and SIGKILL."""
        self._leftover_grace = leftover_grace_seconds

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
        env.update(inherited_gpu_variables(os.environ, env))
        reaper = Reaper()
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
            reaper.close()
            raise PayloadStartError(f"could not start {script}: {exc}") from None
        if spec.ulimit_fileno is not None:
            _limit_open_files(process.pid, spec.ulimit_fileno)
        log.info("payload started: %s %s (pid %d)", SHELL, script, process.pid)
        return _RunningProcess(process, reaper, payload_log, self._leftover_grace)


def _limit_open_files(pid: int, wanted: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    except (OSError, ValueError) as exc:
        log.warning("could not set the payload's open-file limit to %d: %s", limit, exc)
