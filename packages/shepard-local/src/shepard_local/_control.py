"""Start, inspect and stop a local flock's processes: the AWS emulator and the runner."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from shepard_local._state import FLOCK_NICENESS, REGION, FlockNames, FlockState

if TYPE_CHECKING:
    from collections.abc import Mapping

    import boto3

LOCAL_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "shepard-local",
    "AWS_SECRET_ACCESS_KEY": "shepard-local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
"""The emulator accepts any credentials; the flock's processes get these, never the user's own."""
START_TIMEOUT_SECONDS: Final = 60
STOP_TIMEOUT_SECONDS: Final = 45
EMULATOR_MODULE: Final = "shepard_local._emulator"
RUNNER_MODULE: Final = "shepard_local._runner"
MAX_NICENESS: Final = 19


class FlockError(Exception):
    """A local flock could not be started, reached or stopped."""


def new_instance() -> str:
    """Return a fresh flock instance token: 8 lowercase hex digits, valid inside every resource name."""
    return secrets.token_hex(4)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str, *, data: object = None, timeout: float = 5) -> Any:  # noqa: ANN401 - JSON
    """GET (or POST `data` as JSON to) a local URL and return the decoded JSON answer."""
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(  # noqa: S310 - URLs of the local flock only
        url, data=body, method="GET" if body is None else "POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def _wait_until(check: Any, timeout: float, process: subprocess.Popen[bytes] | None = None) -> bool:  # noqa: ANN401
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with contextlib.suppress(OSError, ValueError):
            if check():
                return True
        time.sleep(0.2)
    return False


def process_alive(pid: int, marker: str) -> bool:
    """Return whether `pid` runs and its command line mentions `marker` (a recycled pid does not count)."""
    if pid <= 0:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return marker in cmdline


def stop_process(pid: int, marker: str, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """SIGTERM the process `pid` if it is still ours, SIGKILL it after `timeout`; return whether it ran."""
    if not process_alive(pid, marker):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process_alive(pid, marker):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    if process_alive(pid, marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


def spawn(
    command: list[str], log_file: Path, environment: dict[str, str], *, niceness: int = 0
) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own, logging to `log_file`, `niceness` below our CPU priority.

    The priority is lowered as soon as the process exists, before it has started a thread of its own:
    every thread it starts, and every process it forks, runs at that priority too.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    if niceness:
        lowered = min(os.getpriority(os.PRIO_PROCESS, 0) + niceness, MAX_NICENESS)
        with contextlib.suppress(ProcessLookupError):  # it exited at once: its log says why
            os.setpriority(os.PRIO_PROCESS, process.pid, lowered)
    return process


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _provision(state: FlockState, template: Path, parameters: Mapping[str, str]) -> None:
    from shepard_local._stack import StackError, create_stack

    try:
        stack = create_stack(local_session(), state.aws_endpoint, state.names, template, parameters)
    except StackError as exc:
        raise FlockError(str(exc)) from None
    state.provisioned_from = f"the stack {stack.name} from {template}"
    state.scheduler_function = stack.outputs.get("SchedulerFunction", "")
    state.endpoint_function = stack.outputs.get("BatchingEndpointFunction", state.names.endpoint_function)
    state.save()


def _await_emulator(state: FlockState, moto: subprocess.Popen[bytes]) -> None:
    if not _wait_until(lambda: http_json(f"{state.aws_endpoint}/moto-api/data.json") is not None, 30, moto):
        log = _tail(state.log_dir / "moto.log")
        raise FlockError(f"the AWS emulator did not start; its log ends:\n{log}")


def _start_runner(state: FlockState, concurrency: int, environment: dict[str, str], niceness: int) -> None:
    port = free_port()
    command = [sys.executable, "-m", RUNNER_MODULE, "--dir", str(state.directory), "--port", str(port)]
    runner = spawn(
        [*command, "--concurrency", str(concurrency)],
        state.log_dir / "runner.log",
        environment,
        niceness=niceness,
    )
    state.runner_pid = runner.pid
    state.api_endpoint = f"http://127.0.0.1:{port}"
    state.save()
    if not _wait_until(
        lambda: http_json(f"{state.api_endpoint}/local/health"), START_TIMEOUT_SECONDS, runner
    ):
        log = _tail(state.log_dir / "runner.log")
        raise FlockError(f"the flock's runner did not start; its log ends:\n{log}")


def local_session() -> boto3.Session:
    """Return a boto3 session with the flock's stand-in credentials."""
    import boto3

    return boto3.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


def running_state(directory: Path) -> FlockState | None:
    """Return the recorded flock in `directory` if both of its processes still run."""
    state = FlockState.load(directory)
    if state is None:
        return None
    if process_alive(state.moto_pid, EMULATOR_MODULE) and process_alive(state.runner_pid, RUNNER_MODULE):
        return state
    return None


def start_flock(  # noqa: PLR0913 - one argument per option of `shepard local up`
    directory: Path,
    *,
    names: FlockNames,
    template: Path,
    registry: str,
    concurrency: int,
    runtime: str,
    parameters: Mapping[str, str] | None = None,
    niceness: int = FLOCK_NICENESS,
) -> FlockState:
    """Start the emulator, provision the flock, start the runner; return the recorded state.

    The emulator, the runner and its workers run `niceness` below this process's CPU priority, so the
    commands a user runs meanwhile (`watch`, `status`, ...) are not slowed by a busy flock.

    `parameters` sets template parameters of the flock's stack beside its names. Each start gets a new
    instance token unless `names` has one, so the flock deploys to, and runs from, an image repository of
    its own.
    """
    if importlib.util.find_spec("moto") is None:
        raise FlockError("the AWS emulator is not installed: pip install shepard-local")
    names = dataclasses.replace(names, instance=names.instance or new_instance())
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in ("logs", "mnt", "payloads"):
        # A new flock starts clean; retrieved results (elsewhere) are kept.
        shutil.rmtree(directory / leftover, ignore_errors=True)
    log_dir = directory / "logs"
    environment = {**os.environ, **LOCAL_CREDENTIALS}
    environment.pop("AWS_SESSION_TOKEN", None)
    environment.pop("AWS_PROFILE", None)
    environment.pop("AWS_ENDPOINT_URL", None)

    moto_port = free_port()
    moto = spawn(
        [sys.executable, "-m", EMULATOR_MODULE, "-H", "127.0.0.1", "-p", str(moto_port)],
        log_dir / "moto.log",
        environment,
        niceness=niceness,
    )
    state = FlockState(
        directory=directory,
        names=names,
        aws_endpoint=f"http://127.0.0.1:{moto_port}",
        moto_pid=moto.pid,
        runtime=runtime,
        registry=registry,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        template=str(template),
    )
    state.save()
    try:
        _await_emulator(state, moto)
        # Batch must not try to run containers itself: the runner's executor runs each job's worker.
        http_json(f"{state.aws_endpoint}/moto-api/config", data={"batch": {"use_docker": False}})
        _provision(state, template, parameters or {})
        _start_runner(state, concurrency, environment, niceness)
    except BaseException:
        stop_flock(state)
        raise
    return state


def stop_flock(state: FlockState) -> list[str]:
    """Stop the runner (running jobs get SIGTERM) and then the emulator; return what was stopped."""
    stopped = []
    if stop_process(state.runner_pid, RUNNER_MODULE):
        stopped.append(f"runner (pid {state.runner_pid})")
    if stop_process(state.moto_pid, EMULATOR_MODULE, timeout=10):
        stopped.append(f"AWS emulator (pid {state.moto_pid})")
    with contextlib.suppress(FileNotFoundError):
        state.path.unlink()
    return stopped


def flock_stats(state: FlockState) -> dict[str, Any] | None:
    """Return the runner's counters, or None when it does not answer."""
    try:
        stats = http_json(f"{state.api_endpoint}/local/stats")
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return stats if isinstance(stats, dict) else None


def queue_depths(state: FlockState) -> dict[str, int]:
    """Return the approximate number of messages in the queue and its dead-letter queue."""
    sqs = local_session().client("sqs", endpoint_url=state.aws_endpoint)
    depths = {}
    for label, name in (("queue", state.names.queue), ("dead-letter queue", state.names.dead_letter_queue)):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[label] = int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )
    return depths


def profile_attributes(state: FlockState) -> dict[str, str]:
    """Return the `local` profile's attributes: every CLI command then acts on this flock."""
    from shepard_flock import profile_from_stack

    from shepard_local._stack import ACCOUNT, stack_parameters

    names = state.names
    # The flock's names are its stack's parameters; the endpoint function's name is an output, and so is
    # the queue's URL (the emulator's form of it: the CLI's endpoint, the account, the queue's name).
    outputs = {
        "BatchingEndpointFunction": state.endpoint_function or names.endpoint_function,
        "SchedulerQueueUrl": f"{state.api_endpoint or state.aws_endpoint}/{ACCOUNT}/{names.queue}",
    }
    attributes = {
        "shepard_cli_endpoint_url": state.api_endpoint,
        **profile_from_stack(names.stack, outputs, stack_parameters(names)),
        "shepard_cli_directory_to_sync_s3_bucket_to": str(state.directory / "results"),
    }
    if state.registry:
        attributes["shepard_cli_registry"] = state.registry
    return attributes


def batch_job_of(state: FlockState, job: str) -> str:
    """Return the Batch job id the row of job `job` names (its array child), or `job` itself without one."""
    from botocore.exceptions import BotoCoreError, ClientError
    from shepard_core import Attr

    try:
        item = (
            local_session()
            .client("dynamodb", endpoint_url=state.aws_endpoint)
            .get_item(TableName=state.names.table, Key={Attr.UUID: {"S": job}}, ConsistentRead=True)
            .get("Item", {})
        )
    except (BotoCoreError, ClientError):
        return job
    return str(item.get(Attr.BATCH_JOB_ID, {}).get("S") or job)
