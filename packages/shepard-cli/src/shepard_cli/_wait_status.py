"""Add to `shepard status`'s document why its job waits, once it has waited longer than the threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shepard_core import GROUP_OF, JobStatus, StatusGroup

from shepard_cli._wait_diagnosis import WAITING_STATES
from shepard_cli._wait_threshold import waited

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta

    from shepard_cli._wait_reader import WaitReader


def waiting_batch_job(document: dict[str, Any]) -> str | None:
    """Return the Batch job id of a status document whose job waits for AWS Batch, else None."""
    job, batch = document.get("job") or {}, document.get("batch") or {}
    try:
        group = GROUP_OF[JobStatus(str(job.get("status")))]
    except ValueError:
        return None
    if group is not StatusGroup.SUBMITTED or batch.get("status") not in WAITING_STATES:
        return None
    return str(batch.get("job_id") or job.get("batch_job_id") or "") or None


def add_wait_diagnosis(
    document: dict[str, Any],
    reader: Callable[[], WaitReader],
    threshold: timedelta,
    now: datetime | None = None,
) -> None:
    """Set `document["waiting"]` to why its job waits, once it has waited for Batch at least `threshold`."""
    batch_job_id = waiting_batch_job(document)
    if batch_job_id is None:
        return
    job = document["job"]
    age = waited(job.get("submit_time") or job.get("start_time"), now)
    if age is not None and age < threshold:
        return
    diagnosis = reader().diagnose([batch_job_id])[batch_job_id]
    document["waiting"] = {
        "waited_seconds": None if age is None else round(age.total_seconds()),
        **diagnosis.to_json(),
    }
