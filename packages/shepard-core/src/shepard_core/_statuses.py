"""The JOB_STATUS values of a job row, the five groups every view counts them in, the `--status` words."""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class JobStatus(enum.StrEnum):
    """Every value JOB_STATUS takes; the original Shepard's (ginkgobioworks/shepard) spellings, verbatim."""

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


class StatusGroup(enum.StrEnum):
    """Where a job is: waiting for AWS Batch, running, or ended in one of three ways.

    failed and rejected are separate: a failed job ran on a worker and its payload (or the worker)
    failed; a rejected job never ran, because its upload or request was refused.
    """

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
"""Groups of jobs a view lists with their reason."""


def statuses_of(groups: Iterable[StatusGroup]) -> frozenset[JobStatus]:
    """Return every JOB_STATUS value that belongs to one of `groups`."""
    wanted = set(groups)
    return frozenset(status for status, group in GROUP_OF.items() if group in wanted)


TERMINAL_STATUSES: Final[frozenset[JobStatus]] = statuses_of(ENDED_GROUPS)
"""Statuses after which nothing more happens to a job."""

STATUS_WORDS: Final[Mapping[str, frozenset[StatusGroup]]] = MappingProxyType(
    {
        **{group.value: frozenset({group}) for group in StatusGroup},
        "active": frozenset({StatusGroup.SUBMITTED, StatusGroup.RUNNING}),
        "finished": ENDED_GROUPS,
    }
)
"""The words every `--status` option accepts besides a JOB_STATUS value, and the groups each selects."""


class UnknownStatusWordError(ValueError):
    """A `--status` word is neither a group word nor a JOB_STATUS value."""

    def __init__(self, word: str) -> None:
        """Name the word and every accepted one."""
        self.word = word
        super().__init__(f"unknown status {word!r}; choose from {', '.join(status_choices())}")


def status_choices() -> list[str]:
    """Return every word `--status` accepts: the group words first, then the JOB_STATUS values."""
    words = list(STATUS_WORDS)
    return [*words, *(status.value for status in JobStatus if status.value not in STATUS_WORDS)]


def statuses_for_words(words: Iterable[str]) -> frozenset[JobStatus]:
    """Return the JOB_STATUS values `words` select (case-insensitive), or raise UnknownStatusWordError.

    A group word selects its groups' statuses (`submitted` is the group, so it takes not_yet_initiated
    jobs too); any other word must be a JOB_STATUS value, which selects itself.
    """
    selected: set[JobStatus] = set()
    known = {status.value.lower(): status for status in JobStatus}
    for word in words:
        wanted = word.strip().lower()
        if wanted in STATUS_WORDS:
            selected |= statuses_of(STATUS_WORDS[wanted])
        elif wanted in known:
            selected.add(known[wanted])
        else:
            raise UnknownStatusWordError(word)
    return frozenset(selected)
