"""The `shepard watch` command: a live view of a flock's jobs, or one snapshot for scripts."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shepard_cli._command import OUTPUT_OPTION, STATUS_OPTION, aws_command, command, required
from shepard_cli._wait_threshold import wait_threshold_option

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta

    from shepard_core import Counts, JobRow

    from shepard_cli._aws import Aws
    from shepard_cli._cost_report import CostReport
    from shepard_cli._counter_spend import CounterSpend
    from shepard_cli._watch_queue import Backlog
    from shepard_cli._watch_snapshot import Snapshot
    from shepard_cli._watch_waits import LongWaits

MAX_INTERVAL_SECONDS = 86_400
"""The longest wait between refreshes: a day (a longer one is a mistake, and sleep() has a limit)."""


def _a_number(value: float) -> float:
    """Return `value`, or refuse NaN, which every range check lets through."""
    if value != value:  # noqa: PLR0124 - NaN is the only value unequal to itself
        raise click.BadParameter("nan is not a number of seconds")
    return value


@command("watch")
@click.option(
    "--dynamo-db-to-query",
    "--dynamo_db_to_query",
    "dynamo_db_to_query",
    metavar="TABLE",
    help="The flock's DynamoDB table (profile: shepard_cli_dynamo_db_to_query).",
)
@click.option(
    "--errors-bucket",
    "--errors_bucket",
    "errors_bucket",
    metavar="BUCKET",
    help="The flock's errors bucket, to show log zips and reports as s3:// URLs "
    "(profile: shepard_cli_errors_bucket).",
)
@click.option(
    "--since",
    metavar="AGE|TIME",
    help="Only jobs submitted since then: an age (30m, 2h, 1d, 1h30m) counted from now, "
    "or an ISO time (2026-05-01T14:00:00Z; without a zone, local time). Scans the whole table at "
    "each refresh.",
)
@click.option("--tag", metavar="TAG", help="Only jobs whose TAG input is TAG.")
@click.option(
    "--prefix",
    metavar="PREFIX",
    help="Only jobs whose input zip key starts with PREFIX (scans the whole table at each refresh).",
)
@STATUS_OPTION
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.5, max=MAX_INTERVAL_SECONDS),
    callback=lambda _ctx, _param, value: _a_number(value),
    metavar="SECONDS",
    help=f"Seconds between refreshes (0.5 to {MAX_INTERVAL_SECONDS:,}).",
)
@click.option("--once", is_flag=True, help="Show one snapshot and exit.")
@click.option(
    "--failures",
    default=10,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="How many of the newest failures and rejections to list.",
)
@click.option(
    "--segments",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Parallel scan segments per refresh, when a filter needs a scan of the whole table.",
)
@click.option(
    "--cloudformation-to-describe",
    "--cloudformation_to_describe",
    "cloudformation_to_describe",
    metavar="STACK",
    help="The flock's stack, whose upload queue shows the uploads waiting for the scheduler "
    "(profile: shepard_cli_cloudformation_to_describe).",
)
@click.option(
    "--scheduler-queue-url",
    metavar="URL",
    help="The flock's upload queue, when no stack names it (its SchedulerQueueUrl output).",
)
@wait_threshold_option
@OUTPUT_OPTION
@aws_command
def watch(
    aws: Aws,
    dynamo_db_to_query: str | None,
    errors_bucket: str | None,
    since: str | None,
    tag: str | None,
    prefix: str | None,
    statuses: tuple[str, ...],
    interval: float,
    once: bool,  # noqa: FBT001
    failures: int,
    segments: int,
    cloudformation_to_describe: str | None,
    scheduler_queue_url: str | None,
    wait_threshold: timedelta,
    output: str,
) -> None:
    """Watch the flock's jobs: counts per status, progress, jobs per minute, ETA, newest failures.

    On a terminal the view redraws in place every --interval seconds until Ctrl-C. Off a
    terminal it prints one plain line per refresh; --output json prints one JSON document per
    refresh (one line each), or one indented document with --once. Groups: submitted (waiting for
    AWS Batch), running (including uploading outputs or logs), complete, failed (ran and failed),
    rejected (refused before running); --status takes the same words as `shepard query --status`.

    Uploads the scheduler has not yet made jobs of have no row: watch shows them apart, from the
    depth of the flock's upload queue (found through its stack) and the age of its oldest message.

    A refresh reads the flock's status counters and the newest problems from its job-list index:
    about a hundred items whatever the table's size (--tag and whole --status groups included; the
    counts per TAG are shown too). Jobs recorded before the flock had counters are not counted.
    The spend so far is priced from the usage counters as `shepard cost` prices rows (the --tag's
    alone with --tag; Spot runs at the recent Spot price, an estimate).
    --since, --prefix and a --status JOB_STATUS value narrower than its group cannot be answered by
    the counters: with them each refresh scans the whole table, which takes long on a big table.

    Jobs in view waiting for AWS Batch longer than --wait-threshold are listed with why each waits (the
    longest waiting 30, described in one batch of AWS calls per refresh; see `shepard status JOB`).

    \b
    Example:
      shepard watch
      shepard watch --since 2h --tag run1 --status failed
      shepard watch --once --output json
    """
    import json
    from datetime import UTC, datetime

    from shepard_cli._command import parse_status_filter, print_json
    from shepard_cli._errors import CliError
    from shepard_cli._render import stdout
    from shepard_cli._watch_filters import WatchFilters, parse_since
    from shepard_cli._watch_loop import run_watch, snapshot_reader, watch_live
    from shepard_cli._watch_render import plain_snapshot, summary_line

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    try:
        moment = None if since is None else parse_since(since, datetime.now(UTC))
    except ValueError as exc:
        raise CliError(f"--since {exc}", "Give an age such as 30m or an ISO time") from None
    filters = WatchFilters(
        since=moment,
        tag=tag,
        prefix=prefix or None,
        status_words=tuple(word.strip().lower() for word in statuses),
        statuses=parse_status_filter(statuses),
    )
    dynamodb = aws.client("dynamodb")
    backlog = _backlog_reader(aws, cloudformation_to_describe, scheduler_queue_url)
    price, price_counts = _spend_pricers(aws)

    read = snapshot_reader(
        dynamodb,
        table,
        filters,
        segments=segments,
        problems_shown=failures,
        errors_bucket=errors_bucket or None,
        wait_threshold=wait_threshold,
        price=price,
        price_counts=price_counts,
        diagnose=_wait_diagnoser(aws),
    )

    def take() -> Snapshot:
        import dataclasses
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            # The upload queue is read while the table is: a refresh waits for the slower of the two.
            queued = None if backlog is None else pool.submit(backlog, datetime.now(UTC))
            snapshot = read()
            return snapshot if queued is None else dataclasses.replace(snapshot, backlog=queued.result())

    console = stdout()
    if output == "json" and once:
        run_watch(take, lambda s: print_json(s.to_json()), interval=interval, once=True)
    elif output == "json":
        run_watch(take, lambda s: click.echo(json.dumps(s.to_json())), interval=interval)
    elif once:
        run_watch(take, lambda s: click.echo(plain_snapshot(s)), interval=interval, once=True)
    elif console.is_terminal:
        watch_live(take, console, interval=interval)
    else:
        run_watch(take, lambda s: click.echo(summary_line(s)), interval=interval)


def _wait_diagnoser(aws: Aws) -> Callable[[LongWaits], LongWaits]:
    """Return what says why each long wait shown waits; its Batch and EC2 clients are made meanwhile.

    Making them (loading EC2's large service model) takes a few tenths of a second: a thread does it
    while the first snapshot is read, after this thread has made every client of its own.
    """
    import threading

    from shepard_cli._wait_reader import WaitReader
    from shepard_cli._watch_waits import diagnose_waits

    readers: list[WaitReader] = []
    maker = threading.Thread(
        target=lambda: readers.append(WaitReader(aws.client("batch"), aws.client("ec2"))),
        name="wait-clients",
        daemon=True,
    )
    maker.start()

    def diagnosed(waiting: LongWaits) -> LongWaits:
        if not waiting.shown:
            return waiting
        maker.join()
        if not readers:  # the thread failed: make them here, and let any error show
            readers.append(WaitReader(aws.client("batch"), aws.client("ec2")))
        return diagnose_waits(waiting, readers[0])

    return diagnosed


def _spend_pricers(
    aws: Aws,
) -> tuple[Callable[[list[JobRow]], CostReport], Callable[[Counts, str | None], CounterSpend]]:
    """Return what prices a scan's rows and what prices the usage counters, with one (cached) price book."""
    from datetime import UTC, datetime

    from shepard_cli._cost_report import cost_report
    from shepard_cli._counter_spend import price_usage
    from shepard_cli._price_book import price_book_for

    book = price_book_for(aws)
    return (
        lambda rows: cost_report(rows, book),
        lambda counts, tag: price_usage(counts.usage, book, datetime.now(UTC), tag=tag),
    )


def _backlog_reader(
    aws: Aws, stack: str | None, queue_url: str | None
) -> Callable[[datetime], Backlog | None] | None:
    """Return a reader of the upload queue's backlog, or None when no queue is known (nothing is shown)."""
    from shepard_cli._render import warn
    from shepard_cli._watch_queue import read_backlog, scheduler_queue_url

    if not queue_url and stack:
        import botocore.exceptions

        try:
            queue_url = scheduler_queue_url(aws.client("cloudformation"), stack)
        except botocore.exceptions.ClientError as exc:
            warn(f"uploads waiting for the scheduler are not shown: stack {stack}: {exc}")
            return None
    if not queue_url:
        return None
    sqs, cloudwatch = aws.client("sqs"), aws.client("cloudwatch")
    warned: list[str] = []

    def read(now: datetime) -> Backlog | None:
        """Return the backlog at `now`, or None (warning once) when AWS refuses to say."""
        import botocore.exceptions

        try:
            return read_backlog(sqs, cloudwatch, queue_url, now)
        except botocore.exceptions.ClientError as exc:
            if not warned:  # once, not at every refresh
                warned.append(str(exc))
                warn(f"uploads waiting for the scheduler are not shown: {exc}")
            return None

    return read
