"""The JOB_STATUS values a job row moves through, from scheduling to its end."""

from __future__ import annotations

import enum
from typing import Final


class JobStatus(enum.StrEnum):
    """Every value JOB_STATUS takes; the seed's spellings are kept verbatim."""

    REJECTED = "rejected"
    NOT_YET_INITIATED = "not_yet_initiated"
    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    CALLING_PAYLOAD_CODE = "calling_payload_code"
    JOB_COMPLETE_PUSHING_TO_S3 = "job_complete_pushing_to_s3"
    JOB_COMPLETE_CLEANING_UP_WORKSPACE = "job_complete_cleaning_up_workspace"
    JOB_COMPLETE = "job_complete"
    JOB_FAILED_PUSHING_LOGS = "job failed; pushing logs to s3"
    JOB_FAILED_CLEANING_UP_WORKSPACE = "job failed; cleaning up workspace"
    JOB_FAILED = "job_failed"


TERMINAL_STATUSES: Final[frozenset[JobStatus]] = frozenset(
    {JobStatus.REJECTED, JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED}
)
"""Statuses after which nothing more happens to a job."""

SUCCESS_STATUSES: Final[frozenset[JobStatus]] = frozenset(
    {
        JobStatus.JOB_COMPLETE_PUSHING_TO_S3,
        JobStatus.JOB_COMPLETE_CLEANING_UP_WORKSPACE,
        JobStatus.JOB_COMPLETE,
    }
)
"""Statuses of a job whose payload succeeded."""

FAILURE_STATUSES: Final[frozenset[JobStatus]] = frozenset(
    {
        JobStatus.JOB_FAILED_PUSHING_LOGS,
        JobStatus.JOB_FAILED_CLEANING_UP_WORKSPACE,
        JobStatus.JOB_FAILED,
        JobStatus.REJECTED,
    }
)
"""Statuses of a job that did not or will not succeed."""
