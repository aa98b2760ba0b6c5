"""The five groups a watcher counts jobs in, and the one mapping of every JOB_STATUS to its group."""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from shepard_core import JobStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class StatusGroup(enum.StrEnum):
    """Where a job is: waiting for Batch, running, or ended in one of three ways."""

    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"
    REJECTED = "rejected"


GROUP_OF: Final[Mapping[JobStatus, StatusGroup]] = MappingProxyType(
    {
        JobStatus.NOT_YET_INITIATED: StatusGroup.SUBMITTED,
        JobStatus.SUBMITTED: StatusGroup.SUBMITTED,
        JobStatus.IN_PROGRESS: StatusGroup.RUNNING,
        JobStatus.CALLING_PAYLOAD_CODE: StatusGroup.RUNNING,
        # The payload has ended but the worker still uploads outputs or logs: the job is not over yet.
        JobStatus.JOB_COMPLETE_PUSHING_TO_S3: StatusGroup.RUNNING,
        JobStatus.JOB_COMPLETE_CLEANING_UP_WORKSPACE: StatusGroup.RUNNING,
        JobStatus.JOB_FAILED_PUSHING_LOGS: StatusGroup.RUNNING,
        JobStatus.JOB_FAILED_CLEANING_UP_WORKSPACE: StatusGroup.RUNNING,
        JobStatus.JOB_COMPLETE: StatusGroup.COMPLETE,
        JobStatus.JOB_FAILED: StatusGroup.FAILED,
        JobStatus.REJECTED: StatusGroup.REJECTED,
    }
)
"""The group of every JOB_STATUS value."""

ENDED_GROUPS: Final = frozenset({StatusGroup.COMPLETE, StatusGroup.FAILED, StatusGroup.REJECTED})
"""Groups of jobs that will not change any more."""

RAN_GROUPS: Final = frozenset({StatusGroup.COMPLETE, StatusGroup.FAILED})
"""Groups of jobs that ran to their end on a worker (the ones a completion rate counts)."""

PROBLEM_GROUPS: Final = frozenset({StatusGroup.FAILED, StatusGroup.REJECTED})
"""Groups of jobs a watcher lists with their reason."""


def statuses_of(groups: Iterable[StatusGroup]) -> frozenset[JobStatus]:
    """Return every JOB_STATUS value that belongs to one of `groups`."""
    wanted = set(groups)
    return frozenset(status for status, group in GROUP_OF.items() if group in wanted)
