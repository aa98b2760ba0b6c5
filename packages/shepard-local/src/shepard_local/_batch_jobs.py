"""The Batch jobs the local executor runs, their attempts, and how a worker process is started.

A job records what Batch would: its environment and image, each attempt (its worker process, exit code
and log stream), and for an array its children; `retry_action` reads a retry strategy as Batch does.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, Protocol

ENDED: Final = frozenset({"SUCCEEDED", "FAILED"})
QUEUED: Final = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})


class WorkerProcess(Protocol):
    """What the executor needs of a running worker: Popen's pid, output, poll and wait."""

    pid: int
    stdout: IO[bytes] | None

    def poll(self) -> int | None:
        """Return the exit code, or None while it runs."""

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code."""


Spawn = Callable[[Sequence[str], Mapping[str, str], Path], WorkerProcess]
"""Start a worker: its command, its whole environment, its working directory."""


def start_process(command: Sequence[str], environment: Mapping[str, str], cwd: Path) -> WorkerProcess:
    """Start `command` as a new process with exactly `environment`, its output (and errors) piped."""
    return subprocess.Popen(  # noqa: S603 - a fixed argument list
        list(command),
        env=dict(environment),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
    )


def retry_action(
    strategy: Mapping[str, Any] | None, *, status_reason: str, reason: str, exit_code: int | None
) -> str:
    """Return RETRY or EXIT for a failed attempt, as Batch evaluates a retry strategy's evaluateOnExit."""
    for rule in (strategy or {}).get("evaluateOnExit", []):
        checks = []
        if "onStatusReason" in rule:
            checks.append(fnmatch.fnmatchcase(status_reason, rule["onStatusReason"]))
        if "onReason" in rule:
            checks.append(fnmatch.fnmatchcase(reason, rule["onReason"]))
        if "onExitCode" in rule:
            checks.append(exit_code is not None and fnmatch.fnmatchcase(str(exit_code), rule["onExitCode"]))
        if checks and all(checks):
            return str(rule["action"]).upper()
    return "RETRY"


@dataclasses.dataclass
class Attempt:
    """One run of the worker for a job."""

    number: int
    started_at: float
    stopped_at: float | None = None
    exit_code: int | None = None
    status_reason: str = ""
    log_file: str = ""
    log_stream: str = ""
    """The CloudWatch Logs stream of this attempt (each attempt of a Batch job has its own)."""
    pid: int | None = None
    """The worker process of the attempt (a fork of the launcher: its command line is the launcher's)."""


@dataclasses.dataclass
class BatchJob:
    """A submitted Batch job as the executor sees it: its environment, attempts and state."""

    job_id: str
    job_name: str
    job_definition: str
    environment: dict[str, str]
    image: str
    created_at: float
    log_stream: str = ""
    status: str = "RUNNABLE"
    attempts: list[Attempt] = dataclasses.field(default_factory=list)
    reclaim_requested: bool = False
    terminate_reason: str | None = None
    process: WorkerProcess | None = dataclasses.field(default=None, repr=False)
    array_size: int | None = None
    """An array job's size: it runs nothing itself; its children do."""
    array_index: int | None = None
    """A child's index in its array."""
    children: list[BatchJob] = dataclasses.field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        """Return the job as JSON-ready data."""
        summary: dict[str, Any] = {
            "jobId": self.job_id,
            "jobName": self.job_name,
            "status": self.status,
            "createdAt": self.created_at,
            "attempts": [dataclasses.asdict(attempt) for attempt in self.attempts],
        }
        if self.array_size is not None:
            summary["arraySize"] = self.array_size
            summary["statusSummary"] = self.status_summary()
        if self.array_index is not None:
            summary["arrayIndex"] = self.array_index
        return summary

    def stream_of(self, number: int) -> str:
        """Return attempt `number`'s log stream: the job's own for the first, its own for each later one."""
        return (
            self.log_stream if number == 1 or not self.log_stream else f"{self.log_stream}/attempt-{number}"
        )

    @property
    def latest_stream(self) -> str:
        """Return the log stream of the latest attempt (the job's own before any)."""
        return self.attempts[-1].log_stream if self.attempts else self.log_stream

    def status_summary(self) -> dict[str, int]:
        """Return how many of an array's children are in each status."""
        counts: dict[str, int] = {}
        for child in self.children:
            counts[child.status] = counts.get(child.status, 0) + 1
        return counts

    def settle(self) -> None:
        """End an array once all its children have ended: SUCCEEDED if they all succeeded, else FAILED."""
        states = [child.status for child in self.children]
        if all(state in ENDED for state in states):
            self.status = "SUCCEEDED" if all(state == "SUCCEEDED" for state in states) else "FAILED"
        elif any(state not in QUEUED for state in states):
            self.status = "RUNNING"
