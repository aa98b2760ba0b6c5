"""The flock's moving parts in one process: the queue poller, the Batch executor and the endpoint."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from shepard_core import LOCAL_INSTANCE_TYPE, ON_DEMAND, Setting
from shepard_flock import TemplateError, handlers_from_template

from shepard_local._batch_events import BatchEventBus, event_bus_for
from shepard_local._executor import Executor
from shepard_local._payloads import PayloadResolver
from shepard_local._poller import BATCH_SIZE, QueuePoller
from shepard_local._server import FlockServer, Routes
from shepard_local._stack import ACCOUNT, function_environment
from shepard_local._state import REGION, FlockState
from shepard_local._worker_forks import WorkerLauncher

if TYPE_CHECKING:
    from collections.abc import Sequence

    import boto3

POLLERS: Final = 2
PASSED_THROUGH: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DOCKER_HOST", "DOCKER_CERT_PATH")
CREDENTIALS: Final = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")

log = logging.getLogger("shepard.local")


def scheduler_environment(state: FlockState, session: boto3.Session) -> dict[str, str]:
    """Return the variables the stack gave the scheduler function, pointed at the local flock's emulator."""
    return {
        **function_environment(session, state.aws_endpoint, state.scheduler_function),
        "AWS_ENDPOINT_URL": state.aws_endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def scheduler_batching(session: boto3.Session, endpoint: str, function: str) -> tuple[int, float]:
    """Return the scheduler's event source mapping's BatchSize and batching window (10 and 0 without one)."""
    lambda_client = session.client("lambda", endpoint_url=endpoint)
    mappings = lambda_client.list_event_source_mappings(FunctionName=function).get("EventSourceMappings", [])
    if not mappings:
        return BATCH_SIZE, 0.0
    mapping: dict[str, Any] = dict(mappings[0])
    try:
        size = int(float(mapping.get("BatchSize") or BATCH_SIZE))
        window = float(mapping.get("MaximumBatchingWindowInSeconds") or 0)
    except (TypeError, ValueError):
        return BATCH_SIZE, 0.0
    return size, window


def worker_command() -> list[str]:
    """Return the command that runs the worker: the console script installed beside this Python."""
    beside = Path(sys.executable).parent / "shepard-worker"
    found = str(beside) if beside.is_file() else shutil.which("shepard-worker")
    if not found:
        raise RuntimeError("the shepard-worker command is not installed; install shepard-local")
    return [found, "run"]


def worker_base_environment(state: FlockState) -> dict[str, str]:
    """Return what every worker process gets besides its job's own environment."""
    environment = {name: os.environ[name] for name in (*PASSED_THROUGH, *CREDENTIALS) if name in os.environ}
    mounts = state.directory / "mnt"
    for mount in ("root", "efs", "fsx"):
        (mounts / mount).mkdir(parents=True, exist_ok=True)
    environment.update(
        {
            "AWS_ENDPOINT_URL": state.aws_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            Setting.ROOT_MOUNT: str(mounts / "root"),
            Setting.EFS_MOUNT: str(mounts / "efs"),
            Setting.LUSTRE_MOUNT: str(mounts / "fsx"),
            "PYTHONUNBUFFERED": "1",
            # The instance a job's row records: `shepard cost` prices it with the local figures.
            Setting.INSTANCE_TYPE: LOCAL_INSTANCE_TYPE,
            Setting.CAPACITY_TYPE: ON_DEMAND,
        }
    )
    return environment


class Runner:
    """Start and stop the poller threads, the executor and the HTTP server of one flock."""

    def __init__(self, state: FlockState, session: boto3.Session, *, port: int, concurrency: int) -> None:
        """Load the scheduler code and build the parts; nothing runs until `start`."""
        from botocore.config import Config

        if not state.scheduler_function or not state.template:
            raise RuntimeError("the flock was not created from a template; run `shepard local up` again")
        os.environ.update(scheduler_environment(state, session))
        self.handlers = handlers_from_template(Path(state.template))
        config = Config(max_pool_connections=32, retries={"mode": "standard"})
        sqs = session.client("sqs", endpoint_url=state.aws_endpoint, config=config)
        names = state.names
        queue_url = sqs.get_queue_url(QueueName=names.queue)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        batch_size, window = scheduler_batching(session, state.aws_endpoint, state.scheduler_function)
        self.poller = QueuePoller(
            sqs,
            queue_url=queue_url,
            queue_arn=queue_arn,
            function_name=f"{names.prefix}-scheduler",
            handler=self.handlers.s3_events,
            region=REGION,
            batch_size=batch_size,
            window_seconds=window,
        )
        self.payloads = PayloadResolver(state)
        events = event_bus_for(
            self.handlers,
            template=Path(state.template),
            session=session,
            endpoint=state.aws_endpoint,
            stack=names.stack,
            job_queue=names.job_queue,
            region=REGION,
            account=ACCOUNT,
        )
        self.events: BatchEventBus | None = events[0] if events else None
        on_end = events[1] if events else None
        self.launcher = WorkerLauncher()
        self.executor = Executor(
            session.client("batch", endpoint_url=state.aws_endpoint, config=config),
            job_queue=names.job_queue,
            worker_command=worker_command(),
            base_environment=worker_base_environment(state),
            log_dir=state.log_dir / "jobs",
            concurrency=concurrency,
            runtime_environment=self.payloads.environment_for,
            logs=session.client("logs", endpoint_url=state.aws_endpoint, config=config),
            on_end=on_end,
            spawn=self.launcher.spawn,
        )
        self.server = FlockServer(
            Routes(
                function_name=state.endpoint_function or names.endpoint_function,
                endpoint=self.handlers.endpoint,
                executor=self.executor,
                stats=self.stats,
                region=REGION,
                upstream=state.aws_endpoint,
            ),
            port=port,
        )
        self._threads: list[threading.Thread] = []

    def stats(self) -> dict[str, Any]:
        """Return the counters `shepard local status` shows."""
        by_status, arrays = self.executor.counts()
        return {
            "scheduler_code": self.handlers.source,
            "runtime": self.payloads.describe(),
            "scheduler_invocations": self.poller.invocations,
            "scheduler_batching": {
                "batch_size": self.poller.batch_size,
                "window_seconds": self.poller.window_seconds,
            },
            "messages_deleted": self.poller.messages_deleted,
            "messages_failed": self.poller.messages_failed,
            "s3_test_events": self.poller.test_events,
            "batch_jobs": by_status,
            "submit_job_calls": self.executor.submitted(),
            "arrays": arrays,
            "batch_events_reconciled": self.events.delivered if self.events else None,
        }

    def start(self) -> None:
        """Start every part."""
        if self.events is not None:
            self.events.start()
        self.server.start()
        for index in range(POLLERS):
            thread = threading.Thread(target=self.poller.run, name=f"poller-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        executor = threading.Thread(target=self.executor.run, name="executor", daemon=True)
        executor.start()
        self._threads.append(executor)

    def stop(self) -> None:
        """Stop every part; running workers get SIGTERM as on a Batch job termination."""
        self.poller.stop()
        self.executor.stop()
        for thread in self._threads:
            thread.join(40)
        if self.events is not None:
            self.events.stop()
        self.launcher.stop()
        self.server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the flock recorded in --dir until SIGTERM or SIGINT."""
    import boto3

    parser = argparse.ArgumentParser(prog="python -m shepard_local._runner")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    state = FlockState.load(args.dir)
    if state is None:
        log.error("no flock recorded in %s", args.dir)
        return 2
    session = boto3.Session(region_name=REGION)
    try:
        runner = Runner(state, session, port=args.port, concurrency=args.concurrency)
    except (TemplateError, RuntimeError) as exc:
        log.error("the flock cannot start: %s", exc)  # noqa: TRY400 - the message is the whole story
        return 1
    stopped = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    log.info(
        "flock running: scheduler code from %s; endpoint at %s", runner.handlers.source, runner.server.url
    )
    stopped.wait()
    runner.stop()
    log.info("flock stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
