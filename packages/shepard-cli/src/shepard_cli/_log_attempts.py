"""A Batch job's attempts and each one's log stream, as DescribeJobs tells them, for `logs --attempt`."""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from shepard_cli._errors import CliError

DEFAULT_LOG_GROUP: Final = "/aws/batch/job"
STARTED_STATES: Final = frozenset({"STARTING", "RUNNING"})
"""Batch states in which an attempt is under way (DescribeJobs may not list it among `attempts` yet)."""
ENDED_STATES: Final = frozenset({"SUCCEEDED", "FAILED"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class AttemptLog:
    """One attempt of a Batch job: its number (from 1), where its log is, and how it ended."""

    number: int
    streams: list[str]
    """The log stream names its log may be in, best first."""
    ended: bool
    status_reason: str | None = None
    exit_code: int | None = None

    def describe(self) -> str:
        """Return how the attempt ended (or that it runs), in a few words."""
        if not self.ended:
            return "running"
        parts = [f"exit code {self.exit_code}"] if self.exit_code is not None else []
        if self.status_reason:
            parts.append(self.status_reason)
        return ", ".join(parts) or "ended"


def log_group(described: dict[str, Any]) -> str:
    """Return the CloudWatch Logs group of a Batch job (its awslogs-group option, else Batch's default)."""
    container = described.get("container") or {}
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return str(options.get("awslogs-group", DEFAULT_LOG_GROUP))


def _streams(described: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """Return the stream names an attempt's `container` logs to: its own, else the awslogs default names."""
    candidates = [str(container["logStreamName"])] if container.get("logStreamName") else []
    definition = str(described.get("jobDefinition", "")).rsplit("/", 1)[-1].split(":")[0]
    if definition and container.get("taskArn"):
        candidates.append(f"{definition}/default/{str(container['taskArn']).rsplit('/', 1)[-1]}")
    return candidates


def attempts_of(described: dict[str, Any]) -> list[AttemptLog]:
    """Return every attempt of a DescribeJobs entry, first to last, the one under way included."""
    found = []
    for number, attempt in enumerate(described.get("attempts") or [], start=1):
        container = attempt.get("container") or {}
        found.append(
            AttemptLog(
                number=number,
                streams=_streams(described, container),
                ended=bool(attempt.get("stoppedAt")) or described.get("status") in ENDED_STATES,
                status_reason=attempt.get("statusReason") or None,
                exit_code=container.get("exitCode"),
            )
        )
    running = described.get("status") in STARTED_STATES
    if running and (not found or found[-1].ended):
        found.append(
            AttemptLog(
                number=len(found) + 1,
                streams=_streams(described, described.get("container") or {}),
                ended=False,
            )
        )
    return found


def chosen_attempt(described: dict[str, Any], job_id: str, number: int) -> AttemptLog:
    """Return attempt `number` of the job, or raise CliError saying how many attempts there are."""
    attempts = attempts_of(described)
    if 1 <= number <= len(attempts):
        return attempts[number - 1]
    state = described.get("status")
    if not attempts:
        raise CliError(
            f"job {job_id} has made no attempt yet (AWS Batch status {state}), so it has no attempt {number}",
            "Logs appear once the job runs; `shepard logs --follow` waits for them",
        )
    raise CliError(
        f"job {job_id} has {len(attempts)} attempt(s), so it has no attempt {number}",
        f"Pass --attempt 1 to {len(attempts)}, or leave --attempt out for the latest",
    )


def attempts_notice(described: dict[str, Any], shown: int | None) -> str | None:
    """Return which attempt's log is shown of how many, and how each ended; None for a job's one attempt."""
    attempts = attempts_of(described)
    if not attempts or (len(attempts) == 1 and shown is None):
        return None
    number = shown or len(attempts)
    each = "; ".join(f"{a.number}: {a.describe()}" for a in attempts)
    return f"Attempt {number} of {len(attempts)} (attempts {each}); another with --attempt N"
