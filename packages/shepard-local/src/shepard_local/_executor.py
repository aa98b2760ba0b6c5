"""Run the worker for every job submitted to the flock's Batch queue, several at a time, with retries.

An array job fans out into its children as Batch does: child `i` is `<array id>:<i>` with the array's
environment plus AWS_BATCH_JOB_ARRAY_INDEX, runs and retries on its own, and the array ends once
every child has ended (SUCCEEDED only if they all did).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_core import ARRAY_INDEX_VARIABLE, child_job_id, parse_child_job_id

from shepard_local._batch_jobs import (
    ENDED,
    QUEUED,
    Attempt,
    BatchJob,
    Spawn,
    retry_action,
    start_process,
)
from shepard_local._cloudwatch import LogStream

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_logs import CloudWatchLogsClient

HOST_RECLAIM_REASON: Final = "Host EC2 (instance i-0shepardlocal) terminated."
CONTAINER_EXIT_REASON: Final = "Essential container in task exited"
DESCRIBE_CHUNK: Final = 100
STOP_GRACE_SECONDS: Final = 30

log = logging.getLogger(__name__)


def _created(job: BatchJob) -> float:
    return job.created_at


class Executor:
    """Watch a Batch job queue and run each new job's worker as a process, `concurrency` at a time."""

    def __init__(  # noqa: PLR0913 - the executor's settings, all keyword-only
        self,
        batch: BatchClient,
        *,
        job_queue: str,
        worker_command: Sequence[str],
        base_environment: Mapping[str, str],
        log_dir: Path,
        concurrency: int,
        runtime_environment: Callable[[BatchJob], dict[str, str]],
        logs: CloudWatchLogsClient | None = None,
        poll_seconds: float = 0.5,
        on_end: Callable[[BatchJob], None] | None = None,
        spawn: Spawn | None = None,
    ) -> None:
        """Prepare to run jobs of `job_queue`; nothing runs until `run` is called.

        `on_end` is told of each job (a plain job or an array child) that ends, as Batch's event says.
        """
        self._batch = batch
        self._job_queue = job_queue
        self._worker_command = list(worker_command)
        self._base_environment = dict(base_environment)
        self._log_dir = log_dir
        self._concurrency = concurrency
        self._runtime_environment = runtime_environment
        self._logs = logs
        self._poll_seconds = poll_seconds
        self._on_end = on_end
        self._spawn = spawn or start_process
        self._jobs: dict[str, BatchJob] = {}
        self._pending: queue.Queue[BatchJob | None] = queue.Queue()
        self._definitions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # -- control -------------------------------------------------------------------------------------

    def run(self) -> None:
        """Discover and run jobs until stopped; then stop running workers the way Batch would."""
        slots = [
            threading.Thread(target=self._slot, name=f"executor-{i}", daemon=True)
            for i in range(self._concurrency)
        ]
        for slot in slots:
            slot.start()
        while not self._stop.is_set():
            try:
                self.discover()
            except Exception:
                log.exception("listing the Batch queue failed; retrying")
            self._stop.wait(self._poll_seconds)
        for _ in slots:
            self._pending.put(None)
        with self._lock:
            running = [job for job in self._jobs.values() if job.process is not None]
        for job in running:
            self._signal(job, signal.SIGTERM)
        for slot in slots:
            slot.join(STOP_GRACE_SECONDS)

    def stop(self) -> None:
        """Stop discovering jobs and terminate the running workers."""
        self._stop.set()

    def reclaim(self, job: str) -> bool:
        """Terminate a running job's host as a Spot reclaim would; its retry strategy decides what follows."""
        with self._lock:
            found = self._find(job)
            if found is None or found.process is None:
                return False
            found.reclaim_requested = True
        self._signal(found, signal.SIGTERM)
        return True

    def terminate(self, job: str, reason: str) -> bool:
        """Stop a job for good, as TerminateJob does: a running attempt gets SIGTERM and is not retried.

        Terminating an array terminates each of its children; terminating a child leaves its siblings.
        """
        with self._lock:
            found = self._find(job)
            if found is None or found.status in ENDED:
                return False
            targets = found.children or [found]
            for target in targets:
                if target.status not in ENDED:
                    target.terminate_reason = reason or "Terminated by the user"
        for target in targets:
            self._signal(target, signal.SIGTERM)
        return True

    def cancel(self, job: str, reason: str) -> bool:
        """Cancel a job not yet started, as CancelJob does; a started one goes on (TerminateJob ends it)."""
        with self._lock:
            found = self._find(job)
            if found is None:
                return False
            targets = [t for t in (found.children or [found]) if t.status in QUEUED and not t.attempts]
            for target in targets:
                target.terminate_reason = reason or "Cancelled by the user"
        return bool(targets)

    def overlay(self, detail: dict[str, Any]) -> dict[str, Any]:
        """Return DescribeJobs' `detail` with the state, attempts and times this executor knows."""
        with self._lock:
            job = self._jobs.get(str(detail.get("jobId")))
            if job is None:
                return detail
            detail = dict(detail)
            detail["status"] = job.status
            if job.array_size is not None:
                detail["arrayProperties"] = {"size": job.array_size, "statusSummary": job.status_summary()}
            if job.array_index is not None:
                detail["arrayProperties"] = {"index": job.array_index}
            if job.latest_stream and job.array_size is None:
                detail["container"] = {**detail.get("container", {}), "logStreamName": job.latest_stream}
            detail["attempts"] = [
                {
                    "startedAt": int(attempt.started_at * 1000),
                    **({"stoppedAt": int(attempt.stopped_at * 1000)} if attempt.stopped_at else {}),
                    "statusReason": attempt.status_reason,
                    "container": {"exitCode": attempt.exit_code, "logStreamName": attempt.log_stream},
                }
                for attempt in job.attempts
                if attempt.stopped_at is not None
            ]
            if job.attempts:
                detail["startedAt"] = int(job.attempts[0].started_at * 1000)
                last = job.attempts[-1]
                if job.status in {"SUCCEEDED", "FAILED"} and last.stopped_at is not None:
                    detail["stoppedAt"] = int(last.stopped_at * 1000)
                    detail["statusReason"] = job.terminate_reason or last.status_reason
            else:
                for key in ("startedAt", "stoppedAt"):
                    detail.pop(key, None)
            return detail

    def jobs(self) -> list[dict[str, Any]]:
        """Return every job seen so far, oldest first (an array's children after it, by index)."""
        with self._lock:
            ordered = sorted(self._jobs.values(), key=lambda j: (j.created_at, j.array_index or 0))
            return [job.summary() for job in ordered]

    def counts(self) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Return how many jobs (arrays aside) are in each status, and each array's state, oldest first.

        Cheaper than `jobs` (no attempts): `shepard local status` and the bench ask every few seconds.
        """
        by_status: dict[str, int] = {}
        with self._lock:
            arrays = sorted((job for job in self._jobs.values() if job.array_size is not None), key=_created)
            for job in self._jobs.values():
                if job.array_size is None:
                    by_status[job.status] = by_status.get(job.status, 0) + 1
            return by_status, [
                {
                    "jobId": job.job_id,
                    "status": job.status,
                    "arraySize": job.array_size,
                    "statusSummary": job.status_summary(),
                }
                for job in arrays
            ]

    def submitted(self) -> int:
        """Return how many jobs were submitted to Batch: arrays and plain jobs (one SubmitJob call each)."""
        with self._lock:
            return sum(1 for job in self._jobs.values() if job.array_index is None)

    # -- discovery -----------------------------------------------------------------------------------

    def discover(self) -> int:
        """Queue every job of the Batch queue not seen before; return how many were new."""
        # The emulator's ListJobs returns every job of the queue (finished ones included) when no
        # status is given, so nothing submitted between two polls is missed.
        # The emulator lists an array's children too; the executor makes them itself from the array.
        page: dict[str, Any] = dict(self._batch.list_jobs(jobQueue=self._job_queue))
        summaries: list[Any] = list(page["jobSummaryList"])
        while page.get("nextToken"):
            page = dict(self._batch.list_jobs(jobQueue=self._job_queue, nextToken=page["nextToken"]))
            summaries.extend(page["jobSummaryList"])
        with self._lock:
            new_ids = [
                s["jobId"]
                for s in summaries
                if s["jobId"] not in self._jobs and parse_child_job_id(s["jobId"])[1] is None
            ]
        for start in range(0, len(new_ids), DESCRIBE_CHUNK):
            described = self._batch.describe_jobs(jobs=new_ids[start : start + DESCRIBE_CHUNK])["jobs"]
            for detail in described:
                job = self._job_from(dict(detail))
                with self._lock:
                    if job.job_id in self._jobs:
                        continue
                    self._jobs[job.job_id] = job
                    for child in job.children:
                        self._jobs[child.job_id] = child
                for runnable in job.children or [job]:
                    self._pending.put(runnable)
        return len(new_ids)

    def _job_from(self, detail: dict[str, Any]) -> BatchJob:
        container = detail.get("container", {})
        environment: dict[str, str] = {}
        for variable in container.get("environment", []):
            # The emulator appends one more AWS_BATCH_JOB_ID per DescribeJobs call: keep one value.
            environment.setdefault(variable["name"], variable["value"])
        job = BatchJob(
            job_id=detail["jobId"],
            job_name=detail["jobName"],
            job_definition=detail["jobDefinition"],
            environment=environment,
            image=str(container.get("image", "")),
            log_stream=str(container.get("logStreamName", "")),
            created_at=float(detail.get("createdAt", time.time() * 1000)) / 1000,
        )
        size = detail.get("arrayProperties", {}).get("size")
        if size:
            job.array_size = int(size)
            job.status = "PENDING"
            job.children = [self._child_of(job, index) for index in range(job.array_size)]
        return job

    @staticmethod
    def _child_of(array: BatchJob, index: int) -> BatchJob:
        """Return child `index` of an array job: the array's environment plus its index."""
        # A log stream name may not hold ':', so a child's stream is its array's with its index.
        return BatchJob(
            job_id=child_job_id(array.job_id, index),
            job_name=array.job_name,
            job_definition=array.job_definition,
            environment={**array.environment, ARRAY_INDEX_VARIABLE: str(index)},
            image=array.image,
            log_stream=f"{array.log_stream}-{index}" if array.log_stream else "",
            created_at=array.created_at,
            array_index=index,
        )

    def _parent_of(self, job: BatchJob) -> BatchJob | None:
        if job.array_index is None:
            return None
        return self._jobs.get(parse_child_job_id(job.job_id)[0])

    def _definition(self, definition: str) -> dict[str, Any]:
        if definition not in self._definitions:
            found = self._batch.describe_job_definitions(jobDefinitions=[definition])["jobDefinitions"]
            self._definitions[definition] = dict(found[0]) if found else {}
        return self._definitions[definition]

    def _find(self, job: str) -> BatchJob | None:
        if job in self._jobs:
            return self._jobs[job]
        return next((j for j in self._jobs.values() if j.job_name == job), None)

    # -- running -------------------------------------------------------------------------------------

    def _slot(self) -> None:
        while True:
            job = self._pending.get()
            if job is None or self._stop.is_set():
                return
            if job.terminate_reason is None:
                try:
                    self._run_job(job)
                except Exception:
                    log.exception("running job %s failed", job.job_id)
                    job.status = "FAILED"
            else:
                job.status = "FAILED"
            with self._lock:
                parent = self._parent_of(job)
                if parent is not None:
                    parent.settle()
            if self._on_end is not None and job.status in ENDED and not self._stop.is_set():
                self._on_end(job)

    def _run_job(self, job: BatchJob) -> None:
        definition = self._definition(job.job_definition)
        strategy = definition.get("retryStrategy", {})
        # The emulator's DescribeJobs leaves the image out; the job definition names it.
        job.image = job.image or str(definition.get("containerProperties", {}).get("image", ""))
        max_attempts = int(strategy.get("attempts", 1))
        while not self._stop.is_set():
            attempt = self._run_attempt(job, len(job.attempts) + 1)
            if attempt.exit_code == 0 and not job.reclaim_requested and job.terminate_reason is None:
                job.status = "SUCCEEDED"
                return
            if job.terminate_reason is not None:
                attempt.status_reason = job.terminate_reason
                job.status = "FAILED"
                return
            reclaimed, job.reclaim_requested = job.reclaim_requested, False
            attempt.status_reason = HOST_RECLAIM_REASON if reclaimed else CONTAINER_EXIT_REASON
            action = retry_action(
                strategy,
                status_reason=attempt.status_reason,
                reason="",
                exit_code=None if reclaimed else attempt.exit_code,
            )
            log.info(
                "job %s attempt %d ended (%s, exit %s): %s",
                job.job_name,
                attempt.number,
                attempt.status_reason,
                attempt.exit_code,
                action,
            )
            if action != "RETRY" or attempt.number >= max_attempts:
                job.status = "FAILED"
                return
        job.status = "FAILED"

    def _run_attempt(self, job: BatchJob, number: int) -> Attempt:
        job_log_dir = self._log_dir / job.job_name
        if job.array_index is not None:
            job_log_dir = job_log_dir / str(job.array_index)
        job_log_dir.mkdir(parents=True, exist_ok=True)
        log_file = job_log_dir / f"attempt-{number}.log"
        environment = {
            **self._base_environment,
            **job.environment,
            "AWS_BATCH_JOB_ID": job.job_id,
            "AWS_BATCH_JOB_ATTEMPT": str(number),
            "AWS_BATCH_JQ_NAME": self._job_queue,
            **self._runtime_environment(job),
        }
        attempt = Attempt(
            number=number, started_at=time.time(), log_file=str(log_file), log_stream=job.stream_of(number)
        )
        with self._lock:
            job.attempts.append(attempt)
            job.status = "RUNNING"
            parent = self._parent_of(job)
            if parent is not None:
                parent.settle()
        stream = LogStream(self._logs, attempt.log_stream)
        with log_file.open("wb") as output:
            process = self._spawn(self._worker_command, environment, job_log_dir)
            attempt.pid = process.pid
            with self._lock:
                job.process = process
            if process.stdout is not None:
                with process.stdout:
                    for line in process.stdout:
                        output.write(line)
                        output.flush()
                        stream.add(line.decode(errors="replace"))
            attempt.exit_code = process.wait()
        stream.flush()
        with self._lock:
            job.process = None
        attempt.stopped_at = time.time()
        return attempt

    def _signal(self, job: BatchJob, signum: int) -> None:
        process = job.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum)
