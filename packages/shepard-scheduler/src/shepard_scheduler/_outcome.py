"""What scheduling one job came to, and the errors that mean "try again later"."""

from __future__ import annotations

import dataclasses
import enum


class OutcomeKind(enum.StrEnum):
    """How one scheduling attempt ended."""

    SCHEDULED = "scheduled"
    """A Batch job was submitted (or an interrupted submission was completed) and recorded on the row."""
    DUPLICATE = "duplicate"
    """The job had been scheduled (or rejected) before; nothing new was done."""
    REJECTED = "rejected"
    """The job is invalid: a `rejected` row and a report say why; nothing was submitted."""
    IGNORED = "ignored"
    """The event names no job (a test event, a folder placeholder, another bucket's object)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """The result of scheduling one job."""

    kind: OutcomeKind
    job_id: str | None = None
    batch_job_id: str | None = None
    reason: str | None = None
    error: str | None = None
    report_key: str | None = None
    resumed: bool = False
    submitted_at: float | None = None
    """When the SubmitJob that launched the job returned (epoch seconds); only for SCHEDULED."""
    submit_size: int | None = None
    """How many jobs that SubmitJob launched (its array's size, or 1); only for SCHEDULED."""


class SchedulingError(Exception):
    """Scheduling could not finish now; the same request later can (the message is redelivered)."""


class JobInFlightError(SchedulingError):
    """Another invocation holds this job's submit lease; its outcome decides, so retry after it."""

    def __init__(self, job_id: str, lease_until_ms: int) -> None:
        """Name the job and when the other invocation's lease runs out."""
        super().__init__(
            f"job {job_id} is being submitted by another invocation (lease until {lease_until_ms} ms); "
            "retry after that"
        )
        self.job_id = job_id
        self.lease_until_ms = lease_until_ms


class MalformedMessageError(ValueError):
    """A queue message is not an S3 event notification; it is reported failed so it ends in the DLQ."""
