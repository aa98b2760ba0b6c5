"""`shepard watch` from the status counters and the job-list indexes: a refresh costs the same at any size.

The counts come from the counter items (per TAG with --tag), the newest problems from the overview's
merge or a job page, and the pace from successive refreshes (until then, an estimate from the end
times of a sample of the newest ended jobs); the jobs waiting long for AWS Batch, and how many, from
one oldest-first query of each `submitted` partition. Those reads go out together once the counters
are read, and none reads the partitions of a group the counters hold no job in.
The spend so far is priced from the usage counters (of the --tag when given) by `price`, when both ended
groups are in view (the usage counters are not split by status group).
Filters the counters cannot answer (--since, --prefix, a --status value narrower than a group) need
the scan of the whole table (`scan_reason` says which).
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from shepard_core import GROUP_OF, LIST_SHARDS, PROBLEM_GROUPS, RAN_GROUPS, Counts, JobRow, StatusGroup
from shepard_core._counts import COUNTED_TAG_CHARS  # how much of a TAG the counters keep

from shepard_cli._job_pages import JobFilter, list_jobs, sample_jobs
from shepard_cli._oldest_jobs import oldest_jobs
from shepard_cli._overview import Overview, Throughput, holds_jobs, newest_problems, read_counts
from shepard_cli._watch_snapshot import Problem, Snapshot, completion_rate, parse_row_time
from shepard_cli._watch_waits import MAX_COUNTED, MAX_DIAGNOSED, LongWaits, long_waits

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

    from shepard_cli._cost_render import Spend
    from shepard_cli._watch_filters import WatchFilters


PACE_SAMPLE: Final = 20
"""The newest ended jobs whose end times give the pace until two refreshes can."""
PACE_MIN_SHARDS: Final = 2
"""The fewest list shards (of LIST_SHARDS) that sample comes from. A flock with many ended jobs is sampled
from a few shards (a few queries, not one per shard) and the pace scaled up by LIST_SHARDS / shards: an
estimate until two refreshes give the count; a small one from every shard."""


def pace_shards(ended: int) -> int:
    """Return how many list shards to sample for about 4 x PACE_SAMPLE ended jobs, of `ended` in all."""
    if ended <= 0:
        return LIST_SHARDS
    return max(PACE_MIN_SHARDS, min(LIST_SHARDS, -(-LIST_SHARDS * 4 * PACE_SAMPLE // ended)))


PACE_WINDOW: Final = timedelta(minutes=5)


def scan_reason(filters: WatchFilters) -> str | None:
    """Return which filter needs a scan of the whole table, or None when the counters answer them all."""
    if filters.since is not None:
        return "--since"
    if filters.prefix:
        return "--prefix"
    groups = view_groups(filters)
    if filters.statuses is not None and filters.statuses != {s for s, g in GROUP_OF.items() if g in groups}:
        return "--status with a JOB_STATUS value narrower than its group"
    return None


def view_groups(filters: WatchFilters) -> frozenset[StatusGroup]:
    """Return the status groups in view (every group when --status is not given)."""
    if filters.statuses is None:
        return frozenset(StatusGroup)
    return frozenset(GROUP_OF[status] for status in filters.statuses)


def _view_counts(counts: Counts, filters: WatchFilters) -> dict[StatusGroup, int]:
    """Return the counts the filters see: of their TAG when given, zero outside the groups in view."""
    groups = counts.tags.get(filters.tag[:COUNTED_TAG_CHARS], {}) if filters.tag else counts.groups
    wanted = view_groups(filters)
    return {group: groups.get(group, 0) if group in wanted else 0 for group in StatusGroup}


def _counted(
    groups: frozenset[StatusGroup], counts: Mapping[StatusGroup, int], totals: Counts
) -> frozenset[StatusGroup]:
    """Return the groups whose list partitions may hold a row in view (see `holds_jobs`)."""
    return frozenset(group for group in groups if holds_jobs(group, counts, counters_read=totals.items_read))


def _newest(
    dynamodb: DynamoDBClient, table: str, job_filter: JobFilter, count: int
) -> tuple[tuple[JobRow, ...], int]:
    """Return the `count` newest rows of a filter and the items read (none when no group is in view)."""
    if not count or not job_filter.groups:
        return (), 0
    page = list_jobs(dynamodb, table, job_filter, page_size=count)
    return page.rows, page.items_read


class CountedWatch:
    """Reads one snapshot per call from the counters, keeping the pace across calls."""

    def __init__(  # noqa: PLR0913 - where to read, what to show, and a clock
        self,
        dynamodb: DynamoDBClient,
        table: str,
        filters: WatchFilters,
        *,
        problems_shown: int = 10,
        errors_bucket: str | None = None,
        clock: Callable[[], datetime] | None = None,
        price: Callable[[Counts, str | None], Spend] | None = None,
        wait_threshold: timedelta | None = None,
        diagnose: Callable[[LongWaits], LongWaits] | None = None,
    ) -> None:
        """Prepare the reader; the first call reads the first snapshot (its spend priced by `price`).

        With `wait_threshold`, each snapshot also lists the jobs waiting for AWS Batch at least that long,
        said why by `diagnose`.
        """
        if scan_reason(filters) is not None:
            raise ValueError(f"the counters cannot answer {scan_reason(filters)}; scan the table")
        self._dynamodb, self._table, self._filters = dynamodb, table, filters
        self._problems_shown, self._errors_bucket = problems_shown, errors_bucket
        self._clock = clock or (lambda: datetime.now(UTC))
        self._throughput = Throughput(PACE_WINDOW)
        self._groups = view_groups(filters)
        self._price = price if self._groups >= RAN_GROUPS else None
        self._wait_threshold = wait_threshold
        self._diagnose = diagnose

    def __call__(self) -> Snapshot:
        """Read the counters, then the newest problems, pace and long waits together; return the view."""
        began = time.perf_counter()
        totals = read_counts(self._dynamodb, self._table)
        counts = _view_counts(totals, self._filters)
        now = self._clock()
        self._throughput.add(
            Overview(
                counts=Counts(groups=counts, tags={}, items_read=totals.items_read),
                problems=(),
                items_read=totals.items_read,
                read_at=now,
            )
        )
        rate = self._throughput.jobs_per_minute
        # Each read below depends on the counts alone: they go out together, so a refresh takes about as
        # long as the slowest of them on a busy table.
        with ThreadPoolExecutor(max_workers=3) as pool:
            problems = pool.submit(self._problems, totals, counts)
            pace = None if rate is not None else pool.submit(self._sampled_pace, now, counts, totals)
            waits = (
                None if self._wait_threshold is None else pool.submit(self._long_waits, now, counts, totals)
            )
            found, read = problems.result()
            if pace is not None:
                sampled_rate, sampled = pace.result()
                rate = sampled_rate
                read += sampled
            waiting: LongWaits | None = None
            if waits is not None:
                waiting, waits_read = waits.result()
                read += waits_read
        return Snapshot(
            table=self._table,
            taken_at=now,
            filters=self._filters,
            counts=counts,
            rate_per_minute=rate if rate is not None else 0.0,
            rate_window=PACE_WINDOW,
            problems=tuple(Problem.from_row(row) for row in found),
            problems_total=sum(counts[group] for group in PROBLEM_GROUPS),
            errors_bucket=self._errors_bucket,
            scan_seconds=time.perf_counter() - began,
            tags=_tag_counts(totals.tags, self._filters, self._groups),
            items_read=totals.items_read + read,
            counted_by="counters",
            spend=None if self._price is None else self._price(totals, self._filters.tag),
            long_waits=waiting,
        )

    def _problems(self, totals: Counts, counts: Mapping[StatusGroup, int]) -> tuple[tuple[JobRow, ...], int]:
        """Return the newest problems in view and the items read for them."""
        problem_groups = frozenset(self._groups & PROBLEM_GROUPS)
        if not self._filters.tag and problem_groups == PROBLEM_GROUPS:
            return newest_problems(self._dynamodb, self._table, totals, self._problems_shown)
        job_filter = JobFilter(groups=_counted(problem_groups, counts, totals), tag=self._filters.tag)
        return _newest(self._dynamodb, self._table, job_filter, self._problems_shown)

    def _long_waits(
        self, now: datetime, counts: Mapping[StatusGroup, int], totals: Counts
    ) -> tuple[LongWaits, int]:
        """Return the jobs in view waiting for Batch at least the threshold, and the items read for them.

        The longest waiting, and how many wait (up to MAX_COUNTED), come from one oldest-first query of
        each `submitted` partition (of the --tag's jobs with --tag); then they are diagnosed. Nothing is
        read when the counters hold no submitted job in view.
        """
        threshold = self._wait_threshold or timedelta(0)
        if not _counted(self._groups & {StatusGroup.SUBMITTED}, counts, totals):
            return long_waits((), now, threshold), 0
        job_filter = JobFilter(
            groups=frozenset({StatusGroup.SUBMITTED}), tag=self._filters.tag, until=now - threshold
        )
        oldest = oldest_jobs(self._dynamodb, self._table, job_filter, count=MAX_DIAGNOSED, most=MAX_COUNTED)
        found = long_waits(oldest.rows, now, threshold)
        waits = dataclasses.replace(
            found,
            total=max(found.total, oldest.total),
            total_is_floor=oldest.more and oldest.total >= found.total,
        )
        return waits if self._diagnose is None else self._diagnose(waits), oldest.items_read

    def _sampled_pace(
        self, now: datetime, counts: Mapping[StatusGroup, int], totals: Counts
    ) -> tuple[float, int]:
        """Return the pace the newest ended jobs' end times give, and the items read for it."""
        job_filter = JobFilter(
            groups=_counted(self._groups & RAN_GROUPS, counts, totals), tag=self._filters.tag
        )
        if not job_filter.groups:
            return 0.0, 0
        shards = pace_shards(sum(counts[group] for group in job_filter.groups))
        page = sample_jobs(self._dynamodb, self._table, job_filter, shards=shards, count=PACE_SAMPLE)
        finishes = sorted(moment for row in page.rows if (moment := parse_row_time(row.finish_time)))
        full = len(page.rows) == PACE_SAMPLE and finishes and finishes[0] >= now - PACE_WINDOW
        began = finishes[0] if full else None
        sampled = completion_rate(finishes, now, began=began, window=PACE_WINDOW)
        return sampled * LIST_SHARDS / shards, page.items_read


def _tag_counts(
    tags: Mapping[str, Mapping[StatusGroup, int]], filters: WatchFilters, groups: frozenset[StatusGroup]
) -> dict[str, dict[StatusGroup, int]]:
    """Return the counts per TAG in view: every TAG, or the one --tag names, within the groups in view."""
    wanted = {filters.tag[:COUNTED_TAG_CHARS]} if filters.tag else set(tags)
    return {
        tag: {group: counts.get(group, 0) if group in groups else 0 for group in StatusGroup}
        for tag, counts in tags.items()
        if tag in wanted
    }
