"""The `shepard cost` command: what the flock's jobs cost, in total and by TAG and status."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0913, PLR0917

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shepard_cli._command import OUTPUT_OPTION, STATUS_OPTION, aws_command, command, print_json, required

if TYPE_CHECKING:
    from shepard_cli._aws import Aws


@command("cost")
@click.option(
    "--dynamo-db-to-query",
    "--dynamo_db_to_query",
    "dynamo_db_to_query",
    metavar="TABLE",
    help="The flock's DynamoDB table (profile: shepard_cli_dynamo_db_to_query).",
)
@click.option("--tag", metavar="TAG", help="Only jobs whose TAG input is this.")
@click.option(
    "--since",
    metavar="WHEN",
    help="Only jobs submitted since then: an age (30m, 2h, 1d) or an ISO time (2026-05-01T14:00:00Z).",
)
@STATUS_OPTION
@OUTPUT_OPTION
@aws_command
def cost(
    aws: Aws,
    dynamo_db_to_query: str | None,
    tag: str | None,
    since: str | None,
    statuses: tuple[str, ...],
    output: str,
) -> None:
    """Estimate what the flock's jobs cost: the total, by TAG and by status.

    Each job that ran to its end is priced as its instance's hourly price x its share of the
    instance (the larger of its vCPU and memory shares) x its run time; prices come from the AWS
    Price List (on-demand) and the Spot price history, cached for later runs. Storage, data
    transfer and idle capacity are left out. Jobs that cannot be priced are listed with the reason.

    \b
    Example:
      shepard cost
      shepard cost --since 1d --tag run1 --status failed
      shepard cost --output json
    """
    from datetime import UTC, datetime

    from shepard_cli._command import parse_status_filter
    from shepard_cli._cost_render import cost_tables
    from shepard_cli._cost_report import cost_report
    from shepard_cli._errors import CliError
    from shepard_cli._price_book import price_book_for
    from shepard_cli._table_scan import scan_job_rows
    from shepard_cli._watch_filters import WatchFilters, parse_since, scan_request

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    try:
        moment = None if since is None else parse_since(since, datetime.now(UTC))
    except ValueError as exc:
        raise CliError(f"--since {exc}", "Give an age such as 30m or an ISO time") from None
    filters = WatchFilters(
        since=moment,
        tag=tag,
        status_words=tuple(word.strip().lower() for word in statuses),
        statuses=parse_status_filter(statuses),
    )
    rows, _ = scan_job_rows(aws.client("dynamodb"), scan_request(table, filters))
    report = cost_report(rows, price_book_for(aws))
    if output == "json":
        print_json({"table": table, "filters": filters.to_json(), **report.to_json()})
        return
    cost_tables(report, title=f"Cost of {filters.describe()} in {table}")
