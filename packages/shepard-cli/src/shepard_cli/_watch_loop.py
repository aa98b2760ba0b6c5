"""The refresh loop of `shepard watch`: read a snapshot, show it, wait; Ctrl-C ends it quietly.

A snapshot comes from the status counters (`_watch_counted`), or from a scan of the whole table when a
filter needs one (--since, --prefix, a --status value narrower than a group).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shepard_cli._table_scan import DEFAULT_SEGMENTS, scan_job_rows
from shepard_cli._watch_filters import scan_request
from shepard_cli._watch_snapshot import take_snapshot
from shepard_cli._watch_waits import long_waits

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta

    from mypy_boto3_dynamodb import DynamoDBClient
    from rich.console import Console
    from shepard_core import Counts, JobRow

    from shepard_cli._cost_render import Spend
    from shepard_cli._cost_report import CostReport
    from shepard_cli._watch_filters import WatchFilters
    from shepard_cli._watch_snapshot import Snapshot
    from shepard_cli._watch_waits import LongWaits


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _now() -> datetime:
    return datetime.now(UTC)


def snapshot_reader(  # noqa: PLR0913 - the client, the table, and what the view shows
    dynamodb: DynamoDBClient,
    table: str,
    filters: WatchFilters,
    *,
    segments: int = DEFAULT_SEGMENTS,
    problems_shown: int = 10,
    errors_bucket: str | None = None,
    wait_threshold: timedelta | None = None,
    price: Callable[[list[JobRow]], CostReport] | None = None,
    price_counts: Callable[[Counts, str | None], Spend] | None = None,
    diagnose: Callable[[LongWaits], LongWaits] | None = None,
) -> Callable[[], Snapshot]:
    """Return the reader of successive snapshots: from the counters, or a scan when a filter needs one.

    From the counters, the jobs waiting for AWS Batch longer than `wait_threshold` come from one page of
    the `submitted` index partitions (at most MAX_DIAGNOSED rows), and the spend is what `price_counts`
    makes of the usage counters; a scan's spend is what `price` makes of the rows it read. `diagnose`
    says why the waits shown wait.
    """
    from shepard_cli._watch_counted import CountedWatch, scan_reason

    if scan_reason(filters) is None:
        return CountedWatch(
            dynamodb,
            table,
            filters,
            problems_shown=problems_shown,
            errors_bucket=errors_bucket,
            price=price_counts,
            wait_threshold=wait_threshold,
            diagnose=diagnose,
        )
    return lambda: scan_snapshot(
        dynamodb,
        table,
        filters,
        segments=segments,
        problems_shown=problems_shown,
        errors_bucket=errors_bucket,
        wait_threshold=wait_threshold,
        price=price,
        diagnose=diagnose,
    )


def scan_snapshot(  # noqa: PLR0913 - the client, the table, and what the view shows
    dynamodb: DynamoDBClient,
    table: str,
    filters: WatchFilters,
    *,
    segments: int = DEFAULT_SEGMENTS,
    problems_shown: int = 10,
    errors_bucket: str | None = None,
    clock: Callable[[], datetime] | None = None,
    wait_threshold: timedelta | None = None,
    price: Callable[[list[JobRow]], CostReport] | None = None,
    diagnose: Callable[[LongWaits], LongWaits] | None = None,
) -> Snapshot:
    """Scan the whole table once (in parallel, projected and filtered) and return what it shows.

    With `wait_threshold`, the snapshot also lists the jobs waiting for AWS Batch at least that long
    (said why by `diagnose`); with `price`, its spend is what `price` makes of the rows this scan read.
    """
    began = time.perf_counter()
    rows, left_out = scan_job_rows(dynamodb, scan_request(table, filters), segments=segments)
    now = (clock or _now)()
    snapshot = take_snapshot(
        rows,
        table=table,
        now=now,
        filters=filters,
        problems_shown=problems_shown,
        errors_bucket=errors_bucket,
        left_out=len(left_out),
        scan_seconds=time.perf_counter() - began,
    )
    if wait_threshold is not None:
        waiting = long_waits(rows, now, wait_threshold)
        snapshot = dataclasses.replace(
            snapshot, long_waits=waiting if diagnose is None else diagnose(waiting)
        )
    return snapshot if price is None else dataclasses.replace(snapshot, spend=price(rows))


def run_watch(
    take: Callable[[], Snapshot],
    show: Callable[[Snapshot], None],
    *,
    interval: float,
    once: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Show a fresh snapshot every `interval` seconds (one with `once`) until Ctrl-C; return how many.

    A KeyboardInterrupt, while reading or waiting, ends the loop normally.
    """
    wait = sleep or _sleep
    shown = 0
    try:
        while True:
            began = time.monotonic()
            show(take())
            shown += 1
            if once:
                return shown
            wait(max(0.0, interval - (time.monotonic() - began)))
    except KeyboardInterrupt:
        return shown


def watch_live(
    take: Callable[[], Snapshot],
    console: Console,
    *,
    interval: float,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Run the loop in a rich Live view redrawn in place; the terminal is restored when it ends.

    A second Ctrl-C while the view closes (a double press) ends it just the same.
    """
    from rich.live import Live
    from rich.text import Text

    from shepard_cli._watch_render import live_view

    shown = 0
    try:
        with Live(
            Text("Reading the table...", style="dim"),
            console=console,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as live:
            shown = run_watch(
                take,
                lambda snapshot: live.update(live_view(snapshot, interval), refresh=True),
                interval=interval,
                sleep=sleep,
            )
    except KeyboardInterrupt:
        pass  # Live shows the cursor again in a `finally`, so the terminal is restored all the same
    return shown
