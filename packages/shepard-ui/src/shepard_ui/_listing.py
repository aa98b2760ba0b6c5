"""Pages of jobs, newest first, from the job-list indexes: never the whole table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from shepard_cli._errors import CliError
from shepard_core import STATUS_WORDS, StatusGroup

if TYPE_CHECKING:
    from shepard_cli._job_pages import JobPage
    from shepard_core import JobRow

    from shepard_ui._flock import Flock

PAGE_SIZE: Final = 50


@dataclasses.dataclass(frozen=True)
class JobQuery:
    """What the Jobs page's form asks for, as the browser sent it."""

    statuses: tuple[str, ...] = ()
    tag: str = ""
    since: str = ""
    until: str = ""
    prefix: str = ""
    cursor: str = ""


def _moment(text: str, what: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"{what} {text!r} is not a date and time", "Give it as 2026-05-01T13:45") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def groups_of(words: tuple[str, ...]) -> frozenset[StatusGroup]:
    """Return the status groups the status words select (core's `--status` group words)."""
    groups: set[StatusGroup] = set()
    for word in words:
        if word.strip().lower() not in STATUS_WORDS:
            choices = ", ".join(STATUS_WORDS)
            raise CliError(f"unknown status {word!r}", f"Choose from {choices}")
        groups |= STATUS_WORDS[word.strip().lower()]
    return frozenset(groups)


def job_page(flock: Flock, query: JobQuery, page_size: int = PAGE_SIZE) -> JobPage:
    """Return one page of the jobs the query selects, newest first; raise CliError for a bad query."""
    from shepard_cli._job_pages import JobFilter, list_jobs

    job_filter = JobFilter(
        groups=groups_of(query.statuses),
        tag=query.tag or None,
        since=_moment(query.since, "from"),
        until=_moment(query.until, "until"),
        key_prefix=query.prefix or None,
    )
    import botocore.exceptions

    try:
        return list_jobs(
            flock.dynamodb, flock.names.table, job_filter, page_size=page_size, cursor=query.cursor or None
        )
    except ValueError as exc:
        raise CliError(str(exc), "Start again from the first page") from None
    except botocore.exceptions.ClientError as exc:
        raise missing_indexes(exc) from None


def missing_indexes(exc: Exception) -> CliError:
    """Return the error saying the table cannot be listed by its job-list indexes, and what to do."""
    from shepard_cli._errors import explain

    return CliError(
        f"the jobs cannot be listed: {explain(exc) or exc}",
        "The table needs the ByStatusGroup and ByTag indexes of a current flock: update its stack "
        "(shepard build-flock), or restart a local flock",
    )


def newest_jobs(flock: Flock, word: str) -> tuple[tuple[JobRow, ...], CliError | None]:
    """Return the newest page of jobs with status `word`, or no rows and the reason they cannot be read."""
    try:
        return job_page(flock, JobQuery(statuses=(word,))).rows, None
    except CliError as exc:
        return (), exc
