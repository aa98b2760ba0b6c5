"""The overview of a flock at a bounded cost: its counters and its newest problems, whatever its size.

One BatchGetItem reads the COUNTER_SHARDS counter items (shepard_core's sharded status counts); a lazy
newest-first merge over the `failed` and `rejected` partitions of the ByStatusGroup index finds the
newest problems. A refresh with the default 10 problems reads at most READ_BUDGET items.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    ENDED_GROUPS,
    GROUP_INDEX,
    LIST_GROUP,
    RAN_GROUPS,
    Attr,
    Counts,
    JobRow,
    StatusGroup,
    counter_keys,
    list_partitions,
    parse_counter_items,
)

from shepard_cli._index_merge import IndexSpec, NewestFirstMerge, Window, job_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

READ_BUDGET: Final = 100
"""The most items an overview with the default number of problems reads (counters and index items)."""

UNPROCESSED_TRIES: Final = 8
"""How often the counter keys DynamoDB left unprocessed (throttled) are asked for again."""

THROUGHPUT_WINDOW: Final = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Overview:
    """The counts per status group (in all and per TAG) and the newest failed and rejected rows."""

    counts: Counts
    problems: tuple[JobRow, ...]
    """The newest failed and rejected rows (by creation), newest first."""
    items_read: int
    read_at: datetime


def read_counts(
    client: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep
) -> Counts:
    """Return the counts summed over every counter item: one BatchGetItem, unprocessed keys asked again."""
    keys: list[dict[str, Any]] = [{Attr.UUID: {"S": key}} for key in counter_keys()]
    items: list[dict[str, Any]] = []
    for attempt in range(UNPROCESSED_TRIES):
        if attempt:
            sleep(min(0.05 * 2**attempt, 2.0))
        answer = client.batch_get_item(RequestItems={table_name: {"Keys": keys, "ConsistentRead": True}})
        items += answer.get("Responses", {}).get(table_name, [])
        unprocessed = answer.get("UnprocessedKeys", {}).get(table_name)
        keys = list(unprocessed["Keys"]) if unprocessed else []
        if not keys:
            return parse_counter_items(items)
    raise RuntimeError(
        f"DynamoDB left {len(keys)} counter item(s) of table {table_name} unread {UNPROCESSED_TRIES} times "
        "(the table's read capacity is exhausted); try again shortly"
    )


def holds_jobs(group: StatusGroup, counts: Mapping[StatusGroup, int], *, counters_read: int) -> bool:
    """Return whether `group`'s list partitions may hold rows: `counts` has one, or no counter was read."""
    return counters_read == 0 or counts.get(group, 0) > 0


def newest_problems(
    client: DynamoDBClient, table_name: str, counts: Counts, problems: int
) -> tuple[tuple[JobRow, ...], int]:
    """Return the `problems` newest failed or rejected rows and the items read for them.

    The counters are exact, so the index partitions of a group `counts` holds no job in are not queried
    (unless no counter item was read at all: a new table, or one made before the indexes, whose queries
    then say so). With the counters' reads, at most 10 problems cost at most READ_BUDGET items.
    """
    groups = [
        group
        for group in (StatusGroup.FAILED, StatusGroup.REJECTED)
        if holds_jobs(group, counts.groups, counters_read=counts.items_read)
    ]
    if problems <= 0 or not groups:
        return (), 0
    partitions = [value for group in groups for value in list_partitions(group)]
    merge = NewestFirstMerge(
        client, table_name, IndexSpec(GROUP_INDEX, LIST_GROUP), partitions, Window(), wanted=problems
    )
    result = merge.take(problems, max_read=max(READ_BUDGET - counts.items_read, 2 * problems))
    return job_rows(result.items), merge.items_read


def read_overview(client: DynamoDBClient, table_name: str, *, problems: int = 10) -> Overview:
    """Return the flock's counts and its `problems` newest failed or rejected rows.

    With `problems` at most 10 it reads at most READ_BUDGET items, whatever the table's size.
    """
    if problems < 0:
        raise ValueError(f"problems must be 0 or more, not {problems}")
    counts = read_counts(client, table_name)
    found, read = newest_problems(client, table_name, counts, problems)
    return Overview(
        counts=counts, problems=found, items_read=counts.items_read + read, read_at=datetime.now(UTC)
    )


class Throughput:
    """Jobs ended per minute over a sliding window of successive overviews, and the ETA it gives.

    A job counts as ended once it ran to its end (complete or failed): rejections happen before any
    job runs and would make the pace look faster than it is. The ETA is for the jobs not yet ended.
    """

    def __init__(self, window: timedelta = THROUGHPUT_WINDOW) -> None:
        """Keep the overviews of the last `window` (and the one just before it)."""
        self._window = window
        self._seen: collections.deque[tuple[datetime, int, int]] = collections.deque()

    def add(self, overview: Overview) -> None:
        """Take one more overview into account (they come in time order)."""
        groups = overview.counts.groups
        ran = sum(groups.get(group, 0) for group in RAN_GROUPS)
        waiting = overview.counts.total - sum(groups.get(group, 0) for group in ENDED_GROUPS)
        self._seen.append((overview.read_at, ran, waiting))
        while len(self._seen) > 2 and self._seen[1][0] <= overview.read_at - self._window:  # noqa: PLR2004
            self._seen.popleft()

    @property
    def jobs_per_minute(self) -> float | None:
        """Return the jobs ended per minute over the window, or None before two overviews apart in time."""
        if len(self._seen) < 2:  # noqa: PLR2004 - a pace needs two looks
            return None
        (first, ran_first, _), (last, ran_last, _) = self._seen[0], self._seen[-1]
        minutes = (last - first).total_seconds() / 60
        if minutes <= 0:
            return None
        return max(ran_last - ran_first, 0) / minutes

    @property
    def eta(self) -> timedelta | None:
        """Return how long until the jobs not yet ended end at this pace (zero when none is left)."""
        if not self._seen:
            return None
        waiting = self._seen[-1][2]
        if waiting <= 0:
            return timedelta(0)
        pace = self.jobs_per_minute
        if not pace:
            return None
        return timedelta(minutes=waiting / pace)
