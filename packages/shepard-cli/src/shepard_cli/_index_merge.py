"""A lazy newest-first merge of the partitions of a job-list index: it reads only as far as it must.

Each partition (one index key, such as `failed#07`) is read backwards by LIST_TIME in short queries.
The merge takes the newest head among the partitions, and queries again only a partition whose
buffered rows ran out, so a page of N rows out of a table of any size reads about N items plus one
short query per partition. The first query of every partition asks for its share of the page plus
one row, and the queries due at one moment (a round) go out together on a few threads.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from shepard_core import LIST_TIME, Attr, JobRow, is_counter_key, is_manifest_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient

MAX_QUERY_LIMIT: Final = 500
"""The most items one query of a partition evaluates (its Limit) once its queries have grown."""
QUERY_THREADS: Final = 8
"""How many queries of one round are in flight at once (a boto3 client is safe to share between threads)."""


@dataclasses.dataclass(frozen=True)
class Window:
    """The LIST_TIME range a merge reads: from `lower` (inclusive) to `upper` (exclusive); None is open."""

    lower: str | None = None
    upper: str | None = None

    @property
    def empty(self) -> bool:
        """Return whether no LIST_TIME can fall in the window."""
        return self.lower is not None and self.upper is not None and self.lower >= self.upper


@dataclasses.dataclass(frozen=True)
class IndexSpec:
    """Which index a merge reads, its partition key attribute, and a filter applied by DynamoDB."""

    index: str
    hash_attribute: str
    filter_expression: str | None = None
    """Written with its own placeholders (never `#mh`, `#mt`, `:mh`, `:mlo`, `:mhi`)."""
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class MergeResult:
    """Up to the rows asked for, newest first, and where a next read should continue."""

    items: tuple[dict[str, Any], ...]
    resume_below: str | None
    """The LIST_TIME a next read continues strictly below; None when every partition is read out."""


@dataclasses.dataclass
class _Partition:
    """One index key's read state: rows read but not yet taken, and where its next query starts."""

    value: str
    limit: int
    buffer: collections.deque[dict[str, Any]] = dataclasses.field(default_factory=collections.deque)
    start_key: dict[str, Any] | None = None
    queried: bool = False
    frontier: str | None = None
    """The LIST_TIME of the last item its queries evaluated (while more remain)."""

    @property
    def exhausted(self) -> bool:
        """Return whether every item of the partition within the window has been evaluated."""
        return self.queried and self.start_key is None

    def head_time(self) -> str:
        """Return the LIST_TIME of the newest buffered row."""
        return list_time(self.buffer[0])


def list_time(item: Mapping[str, Any]) -> str:
    """Return an index item's LIST_TIME (empty when it has none)."""
    return str(item.get(LIST_TIME, {}).get("S", ""))


def is_job_item(item: Mapping[str, Any]) -> bool:
    """Return whether an index item is a job row (never a counter item or an array manifest)."""
    uuid = str(item.get(Attr.UUID, {}).get("S", ""))
    return bool(uuid) and Attr.JOB_STATUS in item and not is_counter_key(uuid) and not is_manifest_key(uuid)


def job_rows(items: Iterable[Mapping[str, Any]]) -> tuple[JobRow, ...]:
    """Return the job rows of index items; an item with a status this version does not know is left out."""
    rows = []
    for item in items:
        try:
            rows.append(JobRow.from_item(dict(item)))
        except ValueError:
            continue
    return tuple(rows)


class NewestFirstMerge:
    """A newest-first merge over the partitions `partition_values` of one index, within `window`."""

    def __init__(  # noqa: PLR0913 - where to read, and what
        self,
        client: DynamoDBClient,
        table_name: str,
        spec: IndexSpec,
        partition_values: Sequence[str],
        window: Window,
        *,
        wanted: int,
        first: int | None = None,
    ) -> None:
        """Prepare the merge; nothing is read until `take` is called.

        Each partition's first query asks for `first` rows (by default its even share of `wanted`, plus one).
        """
        self._client = client
        self._table = table_name
        self._spec = spec
        self._window = window
        if first is None:
            first = math.ceil(max(wanted, 1) / max(len(partition_values), 1)) + 1
        self._parts = [_Partition(value, first) for value in partition_values]
        self.items_read = 0

    def take(self, wanted: int, *, max_read: int | None = None) -> MergeResult:
        """Return the `wanted` newest rows not yet taken, reading at most about `max_read` items.

        Each partition is queried at least once; after that, when `max_read` items have been read,
        the merge stops early with the rows it can already place and where the next read resumes.
        """
        if self._window.empty:
            return MergeResult((), None)
        items: list[dict[str, Any]] = []
        while len(items) < wanted:
            # Of the partitions run dry, the one read least far back in time is queried first: where a
            # read budget stops the merge, the point it resumes from is then as far back as it can be.
            while hungry := [part for part in self._parts if not part.buffer and not part.exhausted]:
                hungry.sort(key=lambda part: (not part.queried, part.frontier or ""), reverse=True)
                round_ = self._round(hungry, max_read)
                if not round_:
                    return self._stopped(items, wanted)
                self._query_all(round_, wanted - len(items))
            live = [part for part in self._parts if part.buffer]
            if not live:
                return MergeResult(tuple(items), None)
            items.append(max(live, key=_Partition.head_time).buffer.popleft())
        more = any(part.buffer or not part.exhausted for part in self._parts)
        return MergeResult(tuple(items), list_time(items[-1]) if more else None)

    def _round(self, hungry: list[_Partition], max_read: int | None) -> list[_Partition]:
        """Return the hungry partitions to query now, in the order one-at-a-time reading would take them.

        Never-queried partitions are always read. Others go together only when all of their Limits fit
        in what is left of `max_read` (so the budget stops the merge exactly where reading them one after
        another would); otherwise the first alone, or none once the budget is spent.
        """
        fresh = [part for part in hungry if not part.queried]
        if fresh:
            return fresh
        if max_read is None or self.items_read + sum(part.limit for part in hungry) <= max_read:
            return hungry
        return hungry[:1] if self.items_read < max_read else []

    def _query_all(self, parts: list[_Partition], need: int) -> None:
        """Query each of `parts` once, concurrently, and take their answers in the order given."""
        requests = [self._request(part) for part in parts]
        if len(requests) == 1:
            answers = [self._client.query(**requests[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(QUERY_THREADS, len(requests))) as pool:
                answers = list(pool.map(lambda request: self._client.query(**request), requests))
        for part, answer in zip(parts, answers, strict=True):
            self._absorb(part, answer, need)

    def _stopped(self, items: list[dict[str, Any]], wanted: int) -> MergeResult:
        """Return the rows placeable before the newest unread point, and that point to resume below."""
        frontier = max(part.frontier or "" for part in self._parts if not part.buffer and not part.exhausted)
        while len(items) < wanted:
            live = [part for part in self._parts if part.buffer and part.head_time() >= frontier]
            if not live:
                return MergeResult(tuple(items), frontier)
            items.append(max(live, key=_Partition.head_time).buffer.popleft())
        return MergeResult(tuple(items), list_time(items[-1]))

    def _absorb(self, part: _Partition, answer: Mapping[str, Any], need: int) -> None:
        """Buffer the job rows of one partition's query answer and note where its next query starts."""
        self.items_read += int(answer.get("ScannedCount", len(answer.get("Items", []))))
        upper = self._window.upper
        part.buffer.extend(
            item
            for item in answer.get("Items", [])
            if is_job_item(item) and (upper is None or list_time(item) < upper)
        )
        part.queried = True
        last = answer.get("LastEvaluatedKey")
        part.start_key = dict(last) if last else None
        part.frontier = list_time(last) if last else None
        cap = MAX_QUERY_LIMIT if self._spec.filter_expression else max(need, 1)
        part.limit = max(1, min(part.limit * 2, cap))

    def _request(self, part: _Partition) -> dict[str, Any]:
        """Return the Query arguments of a partition's next rows within the window."""
        request = key_condition(self._spec, part.value, self._window) | {
            "TableName": self._table,
            "IndexName": self._spec.index,
            "ScanIndexForward": False,
            "Limit": part.limit,
        }
        if self._spec.filter_expression:
            request["FilterExpression"] = self._spec.filter_expression
        if part.start_key:
            request["ExclusiveStartKey"] = part.start_key
        return request


def likely_share(wanted: int, partitions: int) -> int:
    """Return a first Limit per partition that nearly always holds its part of the `wanted` first rows.

    Rows are spread over the partitions by a hash, so a partition's part is about binomial: this is its
    mean plus three standard deviations, plus one. Then one round of queries nearly always suffices, where
    an even share leaves a few partitions to be read again one after another.
    """
    if partitions <= 0:
        return 1
    mean = max(wanted, 1) / partitions
    return math.ceil(mean + 3 * math.sqrt(mean * (1 - 1 / partitions))) + 1


def key_condition(spec: IndexSpec, partition: str, window: Window) -> dict[str, Any]:
    """Return a query's key condition, names and values for one partition of `spec` within `window`."""
    names = {"#mh": spec.hash_attribute, **spec.names}
    values: dict[str, Any] = {":mh": {"S": partition}, **spec.values}
    condition = "#mh = :mh"
    lower, upper = window.lower, window.upper
    if lower is not None and upper is not None:
        # BETWEEN takes its upper bound too: a row exactly at `upper` is dropped once read.
        condition += " AND #mt BETWEEN :mlo AND :mhi"
        values |= {":mlo": {"S": lower}, ":mhi": {"S": upper}}
    elif lower is not None:
        condition += " AND #mt >= :mlo"
        values[":mlo"] = {"S": lower}
    elif upper is not None:
        condition += " AND #mt < :mhi"
        values[":mhi"] = {"S": upper}
    if lower is not None or upper is not None:
        names["#mt"] = LIST_TIME  # DynamoDB refuses a name no expression uses
    return {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
