"""Read the rows in view with a paginated parallel Scan: one segment per task, a bounded thread pool."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Attr, JobRow, is_manifest_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

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
        max_workers=min(segments, MAX_WORKERS), thread_name_prefix="shepard-watch-scan"
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


def rows_from_items(items: list[dict[str, Any]]) -> tuple[list[JobRow], int]:
    """Return the job rows among `items` and how many other items were left out; array manifests are skipped.

    Left out: items without JOB_STATUS or with a status this version does not know.
    """
    rows: list[JobRow] = []
    left_out = 0
    for item in items:
        if is_manifest_key(str(item.get(Attr.UUID, {}).get("S", ""))):
            continue
        if Attr.JOB_STATUS not in item:
            left_out += 1
            continue
        try:
            rows.append(JobRow.from_item(item))
        except ValueError:
            left_out += 1
    return rows, left_out
