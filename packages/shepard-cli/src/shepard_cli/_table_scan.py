"""The one reader of the job table (`shepard query`, `shepard watch`): a paginated parallel Scan.

One segment per task on a bounded thread pool, filtered (and projected when asked) by DynamoDB.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
from typing import TYPE_CHECKING, Any, Final

from shepard_core import MANIFEST_KEY_PREFIX, Attr, JobRow, is_counter_key, is_manifest_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from shepard_core import JobStatus

DEFAULT_SEGMENTS: Final = 8
"""Segments of one refresh: eight requests in flight read a table of tens of thousands of rows in a few
round trips each, and stay far below a table's read capacity."""

MAX_WORKERS: Final = 8
"""Threads reading segments at once (more segments than this queue up)."""


class _StoppedError(Exception):
    """The scan was abandoned (the user pressed Ctrl-C)."""


def _scan_segment(
    dynamodb: DynamoDBClient, request: dict[str, Any], segment: int, total: int, stop: threading.Event
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs = {**request, "Segment": segment, "TotalSegments": total}
    while True:
        if stop.is_set():
            raise _StoppedError
        page = dynamodb.scan(**kwargs)
        items += page.get("Items", [])
        last = page.get("LastEvaluatedKey")
        if not last:
            return items
        kwargs["ExclusiveStartKey"] = last


def scan_items(
    dynamodb: DynamoDBClient, request: dict[str, Any], *, segments: int = DEFAULT_SEGMENTS
) -> list[dict[str, Any]]:
    """Return every item the Scan `request` matches, reading `segments` segments in parallel.

    An interruption (Ctrl-C) stops the other segments after their current page and is raised again.
    """
    if segments < 1:
        raise ValueError(f"a scan has at least one segment, not {segments}")
    stop = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(segments, MAX_WORKERS), thread_name_prefix="shepard-table-scan"
    )
    try:
        futures = [
            pool.submit(_scan_segment, dynamodb, request, segment, segments, stop)
            for segment in range(segments)
        ]
        return [item for future in futures for item in future.result()]
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=not stop.is_set(), cancel_futures=True)


def attribute_aliases(attributes: Iterable[str]) -> dict[str, str]:
    """Return the placeholder (`#a0`, `#a1`, ...) of each attribute, in order, the job row's key first."""
    ordered = dict.fromkeys((Attr.UUID, Attr.JOB_STATUS, *attributes))
    return {name: f"#a{i}" for i, name in enumerate(ordered)}


def job_scan_request(  # noqa: PLR0913 - the table and each way of narrowing the scan
    table: str,
    *,
    statuses: frozenset[JobStatus] | None = None,
    projected: tuple[str, ...] = (),
    conditions: tuple[str, ...] = (),
    values: Mapping[str, dict[str, str]] | None = None,
    require_status: bool = False,
) -> dict[str, Any]:
    """Return the Scan arguments of the job rows with one of `statuses` (None: any), never array manifests.

    `projected` (when not empty) are the only attributes read; `conditions` are more filters, written
    with the placeholders of `attribute_aliases(projected)` and the placeholders of `values`. With
    `require_status`, items without JOB_STATUS are filtered out by DynamoDB too.
    """
    alias = attribute_aliases(projected)
    expression_values: dict[str, dict[str, str]] = {":manifest": {"S": MANIFEST_KEY_PREFIX}, **(values or {})}
    filters = [f"NOT begins_with({alias[Attr.UUID]}, :manifest)"]
    if require_status:
        filters.append(f"attribute_exists({alias[Attr.JOB_STATUS]})")
    if statuses is not None:
        wanted = {f":s{i}": {"S": status.value} for i, status in enumerate(sorted(statuses))}
        expression_values |= wanted
        filters.append(f"{alias[Attr.JOB_STATUS]} IN ({', '.join(wanted)})")
    filters += conditions
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": " AND ".join(filters),
        "ExpressionAttributeValues": expression_values,
    }
    if projected:
        request["ProjectionExpression"] = ", ".join(alias.values())
        request["ExpressionAttributeNames"] = {placeholder: name for name, placeholder in alias.items()}
    else:  # DynamoDB refuses a placeholder that no expression uses
        used = set(re.findall(r"#a\d+", " ".join(filters)))
        request["ExpressionAttributeNames"] = {p: name for name, p in alias.items() if p in used}
    return request


def rows_from_items(items: Iterable[dict[str, Any]]) -> tuple[list[JobRow], list[str]]:
    """Return the job rows among `items` and the UUIDs of the other items; manifests and counters are skipped.

    Left out: items without JOB_STATUS or with a status this version does not know.
    """
    rows: list[JobRow] = []
    left_out: list[str] = []
    for item in items:
        uuid = str(item.get(Attr.UUID, {}).get("S", ""))
        if is_manifest_key(uuid) or is_counter_key(uuid):
            continue
        if Attr.JOB_STATUS not in item:
            left_out.append(uuid or "?")
            continue
        try:
            rows.append(JobRow.from_item(item))
        except ValueError:
            left_out.append(uuid or "?")
    return rows, left_out


def scan_job_rows(
    dynamodb: DynamoDBClient, request: dict[str, Any], *, segments: int = DEFAULT_SEGMENTS
) -> tuple[list[JobRow], list[str]]:
    """Return the job rows the Scan `request` matches and the UUIDs of the other items it read."""
    return rows_from_items(scan_items(dynamodb, request, segments=segments))
