"""The `shepard retry` command: run failed or cancelled jobs again, each as a new job from its upload."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import click

from shepard_cli._command import STATUS_OPTION, aws_command, command, required
from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from shepard_cli._aws import Aws
    from shepard_cli._run_again import RunAgainResult

HANDFUL: Final = 5
"""More jobs than this are run again only after a yes (or --yes)."""


@command("retry")
@click.argument("jobs", nargs=-1, metavar="[JOB]...")
@click.option(
    "--dynamo-db-to-query",
    "--dynamo_db_to_query",
    "dynamo_db_to_query",
    metavar="TABLE",
    help="The flock's DynamoDB table (profile: shepard_cli_dynamo_db_to_query).",
)
@click.option(
    "--scheduler-queue-url",
    "scheduler_queue_url",
    metavar="URL",
    help="The flock's scheduler queue, stack output SchedulerQueueUrl "
    "(profile: shepard_cli_scheduler_queue_url).",
)
@click.option(
    "--s3-bucket-to-upload-to",
    "--s3_bucket_to_upload_to",
    "s3_bucket_to_upload_to",
    metavar="BUCKET",
    help="The flock's inputs bucket, to check each upload is still there and find a job by its zip's key "
    "(profile: shepard_cli_s3_bucket_to_upload_to).",
)
@STATUS_OPTION
@click.option("--tag", metavar="TAG", help="Select the jobs whose TAG input is TAG.")
@click.option(
    "--since",
    metavar="AGE|TIME",
    help="Select the jobs submitted since then: an age (30m, 2h, 1d) or an ISO time.",
)
@click.option("--include-complete", is_flag=True, help="Run completed jobs again too (refused without it).")
@click.option(
    "--request-id",
    metavar="ID",
    help="Name this request: the same request again (same jobs, same ID) makes no second job. "
    "Default: a new one, printed first.",
)
@click.option("--yes", "-y", is_flag=True, help=f"Do not ask before running more than {HANDFUL} jobs again.")
@aws_command
def retry(
    aws: Aws,
    jobs: tuple[str, ...],
    dynamo_db_to_query: str | None,
    scheduler_queue_url: str | None,
    s3_bucket_to_upload_to: str | None,
    statuses: tuple[str, ...],
    tag: str | None,
    since: str | None,
    include_complete: bool,  # noqa: FBT001
    request_id: str | None,
    yes: bool,  # noqa: FBT001
) -> None:
    """Run failed or cancelled jobs again, each as a new job made from its original upload.

    Give the jobs by UUID (or zip key), or select them with --status, --tag and --since (without
    --status: the failed jobs; jobs already run again by another request are left out). Each job run
    again becomes a new job with its own UUID, row, logs and error zip; the earlier job keeps its own,
    and the two rows name each other (shepard status). A rejected job is refused with its reason (fix
    inputs.txt and upload again), a job still waiting or running until it ends (shepard cancel).

    Each run is one request, its id printed first: if the command is interrupted, run it again with
    --request-id ID and no job is run again twice.

    \b
    Example:
      shepard retry 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10
      shepard retry --status failed --tag run1 --since 1d
      shepard retry --tag run1 --request-id 7d1c0a52-run1 --yes
    """
    from shepard_cli._run_again import new_request_id

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    queue_url = required(scheduler_queue_url, "scheduler_queue_url")
    if request_id is not None and not request_id.strip():
        raise CliError("--request-id is empty", "Give the id printed by the run to repeat, or leave it out")
    request = request_id or new_request_id()
    if request_id is None:
        click.echo(f"Request id: {request} (to repeat this request safely: --request-id {request})", err=True)
    chosen = _chosen(aws, jobs, table, s3_bucket_to_upload_to, statuses, tag, since, request)
    if len(chosen) > HANDFUL and not yes:
        click.confirm(f"Run {len(chosen):,} jobs again?", abort=True, err=True)
    results = _run_all(aws, chosen, request, table, queue_url, s3_bucket_to_upload_to, include_complete)
    made = sum(result.created for result in results)
    known = sum(result.refused is None and not result.created for result in results)
    refused = sum(result.refused is not None for result in results)
    failed = len(chosen) - len(results)
    click.echo(
        f"{made} job(s) run again, {known} already run again by this request, {refused} refused"
        + (f", {failed} failed (repeat with --request-id {request})" if failed else "")
    )
    if refused or failed:
        raise SystemExit(1)


def _chosen(
    aws: Aws,
    jobs: tuple[str, ...],
    table: str,
    bucket: str | None,
    statuses: tuple[str, ...],
    tag: str | None,
    since: str | None,
    request: str,
) -> list[str]:
    """Return the UUIDs of the jobs named, or of the jobs the filters select; say which are left out."""
    if jobs and (statuses or tag is not None or since is not None):
        raise CliError("jobs named and --status/--tag/--since given", "Name jobs, or select them, not both")
    if jobs:
        from shepard_cli.commands.jobs import _job_id

        return list(dict.fromkeys(_job_id(aws, job, table, bucket) for job in jobs))
    if not (statuses or tag is not None or since is not None):
        hint = "Name jobs by UUID, or select them with --status, --tag or --since"
        raise CliError("no job to run again", hint)
    from datetime import UTC, datetime

    from shepard_cli._command import parse_status_filter
    from shepard_cli._retry_selection import DEFAULT_STATUSES, selected_jobs
    from shepard_cli._watch_filters import WatchFilters, parse_since

    try:
        moment = None if since is None else parse_since(since, datetime.now(UTC))
    except ValueError as exc:
        raise CliError(f"--since {exc}", "Give an age such as 30m or an ISO time") from None
    filters = WatchFilters(since=moment, tag=tag, statuses=parse_status_filter(statuses) or DEFAULT_STATUSES)
    chosen, left_out = selected_jobs(aws.client("dynamodb"), table, filters, request_id=request)
    for row in left_out:
        again = ", ".join(row.run_again_as) or "-"
        click.echo(f"{row.uuid}: left out, already run again as {again} (name it to run it once more)")
    if not chosen:
        click.echo(f"No job to run again among {filters.describe()}.")
    return chosen


def _run_all(
    aws: Aws,
    chosen: list[str],
    request: str,
    table: str,
    queue_url: str,
    bucket: str | None,
    include_complete: bool,  # noqa: FBT001
) -> list[RunAgainResult]:
    """Run each job again, printing one line per job; stop at an AWS failure (the request can be repeated)."""
    from shepard_cli._errors import explain
    from shepard_cli._render import warn
    from shepard_cli._run_again import run_again

    results: list[RunAgainResult] = []
    for job in chosen:
        try:
            result = run_again(
                aws,
                job,
                request,
                table=table,
                queue_url=queue_url,
                inputs_bucket=bucket,
                include_complete=include_complete,
            )
        except Exception as exc:
            why = explain(exc)
            if why is None:
                raise
            warn(f"{job}: not run again: {why}")
            break
        results.append(result)
        click.echo(_line(result))
    return results


def _line(result: RunAgainResult) -> str:
    """Return one job's line: its new job's UUID, or why it was refused."""
    if result.refused is not None:
        return f"{result.original}: refused: {result.refused}"
    if result.created:
        return f"{result.original}: run again as {result.new_uuid}"
    return f"{result.original}: already run again as {result.new_uuid} by this request"
