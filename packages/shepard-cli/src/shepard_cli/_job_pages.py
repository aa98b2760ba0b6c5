"""Pages of a flock's jobs, newest first, read from the job-list indexes: never the whole table.

A filter selects index partitions (the ByTag partitions of its TAG, else the ByStatusGroup partitions
of its groups) and a LIST_TIME window (since, until); the other conditions are DynamoDB filters. A
page is a lazy newest-first merge of those partitions; its cursor names where the next page starts.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    GROUP_INDEX,
    LIST_GROUP,
    LIST_SHARDS,
    LIST_TAG,
    TAG_INDEX,
    Attr,
    JobRow,
    StatusGroup,
    list_partitions,
)

from shepard_cli._index_merge import IndexSpec, NewestFirstMerge, Window, job_rows, likely_share

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_PAGE_SIZE: Final = 1000
READ_BUDGET_PER_ROW: Final = 20
"""A page whose filters DynamoDB must apply stops after reading about this many items per row asked for
(plus one query per partition), and its cursor continues from where it stopped."""

_CURSOR_VERSION: Final = 1


@dataclasses.dataclass(frozen=True)
class JobFilter:
    """Which jobs a page lists; an unset condition lets every job through."""

    groups: frozenset[StatusGroup] = frozenset()
    """Empty: every group."""
    tag: str | None = None
    since: datetime | None = None
    """Created at or after this moment (a naive time is taken as UTC)."""
    until: datetime | None = None
    """Created before this moment (a naive time is taken as UTC)."""
    key_prefix: str | None = None
    """The input zip's key begins with this."""

    def fingerprint(self) -> str:
        """Return a short digest of the filter, which a cursor carries so it is used with its own filter."""
        described = {
            "groups": sorted(group.value for group in self.groups),
            "tag": self.tag or None,
            "since": list_moment(self.since),
            "until": list_moment(self.until),
            "key_prefix": self.key_prefix or None,
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class JobPage:
    """One page of jobs, newest first, and the cursor of the next page (None on the last one)."""

    rows: tuple[JobRow, ...]
    next_cursor: str | None
    items_read: int


def list_moment(moment: datetime | None) -> str | None:
    """Return a moment as LIST_TIME writes creation times (ISO 8601 UTC, milliseconds, `Z`)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_cursor(job_filter: JobFilter, resume_below: str) -> str:
    """Return the opaque, URL-safe cursor of the page that starts strictly below LIST_TIME `resume_below`."""
    document = {"v": _CURSOR_VERSION, "f": job_filter.fingerprint(), "t": resume_below}
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(job_filter: JobFilter, cursor: str) -> str:
    """Return the LIST_TIME a cursor resumes below; ValueError when it is malformed or another filter's."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"the page cursor {cursor[:40]!r} is not one this list made; start again from the first page"
        ) from None
    if (
        not isinstance(document, dict)
        or document.get("v") != _CURSOR_VERSION
        or not isinstance(document.get("t"), str)
        or not document["t"]
    ):
        raise ValueError(
            f"the page cursor {cursor[:40]!r} is not one this list made; start again from the first page"
        )
    if document.get("f") != job_filter.fingerprint():
        raise ValueError(
            "the page cursor belongs to a list with other filters; start again from the first page"
        )
    return str(document["t"])


def index_spec(job_filter: JobFilter) -> tuple[IndexSpec, list[str]]:
    """Return the index a filter reads, its DynamoDB filter, and the partitions it selects."""
    conditions: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    if job_filter.key_prefix:
        names["#fz"] = Attr.INPUT_ZIP_NAME
        values[":fz"] = {"S": job_filter.key_prefix}
        conditions.append("begins_with(#fz, :fz)")
    groups = sorted(job_filter.groups or StatusGroup, key=list(StatusGroup).index)
    if job_filter.tag:
        if job_filter.groups and job_filter.groups != frozenset(StatusGroup):
            names["#fg"] = LIST_GROUP
            wanted = []
            for i, group in enumerate(groups):
                values[f":fg{i}"] = {"S": f"{group.value}#"}
                wanted.append(f"begins_with(#fg, :fg{i})")
            conditions.append("(" + " OR ".join(wanted) + ")")
        partitions = list_partitions(job_filter.tag)
        index, attribute = TAG_INDEX, LIST_TAG
    else:
        partitions = [value for group in groups for value in list_partitions(group.value)]
        index, attribute = GROUP_INDEX, LIST_GROUP
    spec = IndexSpec(index, attribute, " AND ".join(conditions) or None, names, values)
    return spec, partitions


def list_jobs(
    client: DynamoDBClient,
    table_name: str,
    job_filter: JobFilter,
    *,
    page_size: int = 50,
    cursor: str | None = None,
) -> JobPage:
    """Return one page of the jobs `job_filter` selects, newest (by creation) first.

    The next page (its `next_cursor`) continues strictly after this page's last row. A page with a
    key prefix or a TAG and groups (filters DynamoDB applies after reading) may hold fewer rows than
    `page_size` and still have a next page: it stops after about READ_BUDGET_PER_ROW items per row.
    A malformed cursor, or one made under another filter, raises ValueError.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    upper = list_moment(job_filter.until)
    if cursor is not None:
        resume_below = decode_cursor(job_filter, cursor)
        upper = resume_below if upper is None else min(upper, resume_below)
    spec, partitions = index_spec(job_filter)
    merge = NewestFirstMerge(
        client,
        table_name,
        spec,
        partitions,
        Window(list_moment(job_filter.since), upper),
        wanted=page_size,
    )
    result = merge.take(page_size, max_read=READ_BUDGET_PER_ROW * page_size)
    next_cursor = None if result.resume_below is None else encode_cursor(job_filter, result.resume_below)
    return JobPage(rows=job_rows(result.items), next_cursor=next_cursor, items_read=merge.items_read)


def sample_jobs(
    client: DynamoDBClient, table_name: str, job_filter: JobFilter, *, shards: int, count: int
) -> JobPage:
    """Return the `count` newest jobs of a filter among its first `shards` list shards (of LIST_SHARDS).

    A job's list shard is a hash of its UUID, so these are a sample of about shards/LIST_SHARDS of the
    jobs, read with `shards` queries per partition group instead of LIST_SHARDS. It has no next page.
    """
    if not 1 <= shards <= LIST_SHARDS:
        raise ValueError(f"shards must be between 1 and {LIST_SHARDS}, not {shards}")
    spec, partitions = index_spec(job_filter)
    chosen = [value for value in partitions if int(value.rsplit("#", 1)[1]) < shards]
    window = Window(list_moment(job_filter.since), list_moment(job_filter.until))
    first = likely_share(count, len(chosen))
    merge = NewestFirstMerge(client, table_name, spec, chosen, window, wanted=count, first=first)
    result = merge.take(count, max_read=READ_BUDGET_PER_ROW * count)
    return JobPage(rows=job_rows(result.items), next_cursor=None, items_read=merge.items_read)


def describe_filter(job_filter: JobFilter) -> dict[str, Any]:
    """Return the filter as a JSON-ready dict (unset conditions as null)."""
    return {
        "groups": sorted(group.value for group in job_filter.groups) or None,
        "tag": job_filter.tag,
        "since": list_moment(job_filter.since),
        "until": list_moment(job_filter.until),
        "key_prefix": job_filter.key_prefix,
    }
