"""Start each job's worker as a fork of a process that has already imported the worker and boto3.

A fresh `shepard-worker run` spends most of a trivial job's CPU starting up: importing boto3 and
parsing botocore's service models takes ~0.4 s of the ~0.65 s such a job costs, which on two cores caps
the flock near 150 jobs a minute. The launcher, a process of its own started once per runner, imports
the worker's command line and boto3, and keeps one botocore data loader per data path, so a session
made in a fork finds the service models already parsed. For each job it forks: the child takes the
job's environment (nothing of the launcher's), working directory and output pipe, runs the worker's
command line with the job's arguments, and exits with its exit code, as `shepard-worker run` would.

The runner talks to the launcher over a socket pair: a request carries the arguments, environment and
directory, with the write end of the job's output pipe as an attached descriptor; the launcher answers
with the child's pid, and later with its exit code. Signals go to the child's pid, as to any process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING, Any, Final

from shepard_local._batch_jobs import start_process

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from shepard_local._batch_jobs import WorkerProcess

MAX_MESSAGE: Final = 1 << 20
"""The largest request or answer (a job's environment fits many times over)."""
REAP_SECONDS: Final = 0.05
STOP_SECONDS: Final = 10

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ForkedWorker:
    """A worker forked by the launcher: its pid, output and exit code, as Popen offers them."""

    pid: int
    stdout: IO[bytes] | None
    returncode: int | None = None
    _ended: threading.Event = dataclasses.field(default_factory=threading.Event, repr=False)

    def poll(self) -> int | None:
        """Return the exit code, or None while the worker runs."""
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to exit and return its exit code (negative: the signal that ended it)."""
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired([str(self.pid)], timeout or 0)
        return int(self.returncode or 0)

    def ended(self, code: int) -> None:
        """Record the exit code the launcher reported."""
        self.returncode = code
        self._ended.set()


class WorkerLauncher:
    """Start the launcher process and fork workers from it; `spawn` has Popen's part the executor uses."""

    def __init__(self) -> None:
        """Start the launcher process (it imports the worker and boto3 once)."""
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            [sys.executable, "-m", __name__, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        theirs.close()
        self._lock = threading.Lock()
        self._warned = False
        self._started: dict[int, ForkedWorker] = {}
        self._early_exits: dict[int, int] = {}
        self._answers: list[dict[str, Any]] = []
        self._answered = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="worker-launcher", daemon=True)
        self._reader.start()

    def spawn(self, command: Sequence[str], environment: Mapping[str, str], cwd: Path) -> WorkerProcess:
        """Fork a worker running `command`'s arguments with exactly `environment`, in `cwd`.

        If the launcher has ended, the worker starts as a new process instead (and a warning says so once).
        """
        if self._process.poll() is not None:
            if not self._warned:
                log.warning(
                    "the worker launcher exited (%s); workers start as new processes",
                    self._process.returncode,
                )
                self._warned = True
            return start_process(command, environment, cwd)
        read_end, write_end = os.pipe()
        request = json.dumps({"argv": list(command), "env": dict(environment), "cwd": str(cwd)}).encode()
        try:
            with self._lock:
                socket.send_fds(self._socket, [request], [write_end])
                answer = self._next_answer()
        finally:
            os.close(write_end)
        if "pid" not in answer:
            os.close(read_end)
            raise OSError(f"the worker launcher could not start the worker: {answer.get('error')}")
        worker = ForkedWorker(pid=int(answer["pid"]), stdout=os.fdopen(read_end, "rb"))
        with self._answered:
            self._started[worker.pid] = worker
            if worker.pid in self._early_exits:
                worker.ended(self._early_exits.pop(worker.pid))
        return worker

    def stop(self) -> None:
        """Stop the launcher (workers still running go on until they end)."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        try:
            self._process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # Still importing (it reads the channel once warm): nothing of it is worth waiting for.
            self._process.kill()
            self._process.wait()

    def _next_answer(self) -> dict[str, Any]:
        with self._answered:
            self._answered.wait_for(lambda: bool(self._answers) or not self._reader.is_alive(), timeout=60)
            if not self._answers:
                return {"error": "the launcher did not answer"}
            return self._answers.pop(0)

    def _read(self) -> None:
        """Route the launcher's messages: pids to `spawn`, exit codes to their workers."""
        while True:
            try:
                data = self._socket.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self._answered:
                if "exited" in message:
                    pid, code = int(message["exited"]), int(message["code"])
                    worker = self._started.pop(pid, None)
                    if worker is None:
                        self._early_exits[pid] = code
                    else:
                        worker.ended(code)
                else:
                    self._answers.append(message)
                    self._answered.notify_all()
        with self._answered:
            for worker in self._started.values():
                worker.ended(-int(signal.SIGKILL))
            self._answered.notify_all()


# -- the launcher process ----------------------------------------------------------------------------


def _warm() -> None:
    """Import the worker and boto3, and share one botocore data loader per data path between sessions."""
    import functools

    import boto3
    import botocore.session
    import shepard_worker._cli
    import shepard_worker._lifecycle  # noqa: F401 - imported for its imports

    loaders = functools.cache(botocore.session.create_loader)
    botocore.session.create_loader = loaders
    session = boto3.session.Session(region_name="us-east-1")
    for service in ("s3", "dynamodb", "logs", "sqs", "batch"):
        session.client(service, endpoint_url="http://127.0.0.1:9")


def _child(request: dict[str, Any], output: int, channel: socket.socket) -> None:
    """Become the job's worker: its environment, directory and output; run it; exit with its code."""
    code = 70
    try:
        channel.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(null)
        os.close(output)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        from shepard_worker._cli import main

        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - a worker that crashed exits as one would
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reap(channel: socket.socket) -> None:
    """Report every child that has exited."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        channel.send(json.dumps({"exited": pid, "code": code}).encode())


def serve(channel: socket.socket) -> None:
    """Fork a worker per request until the runner closes the channel."""
    _warm()
    while True:
        ready, _, _ = select.select([channel], [], [], REAP_SECONDS)
        if ready:
            data, fds, _flags, _address = socket.recv_fds(channel, MAX_MESSAGE, 1)
            if not data:
                break
            try:
                pid = os.fork()
            except OSError as exc:
                for fd in fds:
                    os.close(fd)
                channel.send(json.dumps({"error": str(exc)}).encode())
                continue
            if pid == 0:
                _child(json.loads(data), fds[0], channel)
            for fd in fds:
                os.close(fd)
            channel.send(json.dumps({"pid": pid}).encode())
        _reap(channel)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the channel whose descriptor is the one argument."""
    args = list(argv if argv is not None else sys.argv[1:])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(socket.socket(fileno=int(args[0])))


if __name__ == "__main__":
    main()
