"""Why a job waits, for the Job page: the diagnosis `shepard status` gives once it waited past a threshold."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from shepard_cli._wait_diagnosis import WAITING_STATES
from shepard_cli._wait_threshold import DEFAULT_WAIT_THRESHOLD, parse_duration, waited
from shepard_cli.waits import WaitDiagnosis, diagnose_wait
from shepard_core import GROUP_OF, JobRow, StatusGroup

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from shepard_ui._flock import Flock

WAIT_THRESHOLD: Final = parse_duration(DEFAULT_WAIT_THRESHOLD)
"""The Job page says why a job waits once it has waited this long (`shepard status --wait-threshold`)."""


@dataclasses.dataclass(frozen=True)
class WaitView:
    """Why a job waits for AWS Batch, or the sentence saying AWS refused to tell."""

    waited_seconds: int | None
    diagnosis: WaitDiagnosis | None
    refused: str | None = None

    @property
    def notes(self) -> list[str]:
        """Return what AWS refused while the diagnosis was read (each call named)."""
        if self.diagnosis is None:
            return []
        return [str(note) for note in self.diagnosis.details.get("notes") or []]

    @property
    def queue(self) -> dict[str, Any] | None:
        """Return the job queue's name, state, status and reason (None when Batch did not say)."""
        if self.diagnosis is None:
            return None
        found = self.diagnosis.details.get("job_queue")
        return found if isinstance(found, dict) else None

    @property
    def environments(self) -> list[dict[str, Any]]:
        """Return each compute environment's state, status, reason and vCPUs, as the diagnosis read them."""
        if self.diagnosis is None:
            return []
        return list(self.diagnosis.details.get("compute_environments") or [])

    @property
    def needs(self) -> dict[str, Any] | None:
        """Return the job's vCPUs and memory as the diagnosis read them."""
        if self.diagnosis is None:
            return None
        found = self.diagnosis.details.get("job")
        return found if isinstance(found, dict) else None


def due_wait(
    row: JobRow, batch: dict[str, Any] | None, threshold: timedelta, now: datetime | None = None
) -> tuple[bool, timedelta | None]:
    """Return whether the job is due a diagnosis, and how long it has waited (None: cannot be told).

    Due: the row is in the submitted group with a Batch job id, Batch (when it answered) has not started
    it, and it has waited at least `threshold` (a wait that cannot be told is due as well).
    """
    if GROUP_OF[row.status] is not StatusGroup.SUBMITTED or not row.batch_job_id:
        return False, None
    if batch is not None and batch.get("status") not in WAITING_STATES:
        return False, None
    age = waited(row.submit_time or row.start_time, now)
    return age is None or age >= threshold, age


def wait_view(
    flock: Flock,
    row: JobRow,
    batch: dict[str, Any] | None,
    threshold: timedelta = WAIT_THRESHOLD,
) -> WaitView | None:
    """Return why the job waits when it has waited at least `threshold` for AWS Batch, else None."""
    due, age = due_wait(row, batch, threshold)
    if not due or not row.batch_job_id:
        return None
    seconds = None if age is None else round(age.total_seconds())
    try:
        diagnosis = diagnose_wait(flock, row.batch_job_id)
    except (ClientError, BotoCoreError) as exc:
        return WaitView(seconds, None, refused=f"AWS refused to say why the job waits: {exc}")
    return WaitView(seconds, diagnosis)
