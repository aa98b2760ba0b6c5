"""The commands about jobs already started: query, status, logs, cancel and retrieve."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import click

from shepard_cli._command import (
    OUTPUT_OPTION,
    STATUS_OPTION,
    aws_command,
    command,
    local_path,
    print_json,
    required,
)
from shepard_cli._wait_threshold import wait_threshold_option

if TYPE_CHECKING:
    from datetime import timedelta

    from shepard_cli._aws import Aws

_TABLE: Final = click.option(
    "--dynamo-db-to-query",
    "--dynamo_db_to_query",
    "dynamo_db_to_query",
    metavar="TABLE",
    help="The flock's DynamoDB table (profile: shepard_cli_dynamo_db_to_query).",
)

_INPUTS_BUCKET: Final = click.option(
    "--s3-bucket-to-upload-to",
    "--s3_bucket_to_upload_to",
    "s3_bucket_to_upload_to",
    metavar="BUCKET",
    help="The flock's inputs bucket, to find a job by its zip's key "
    "(profile: shepard_cli_s3_bucket_to_upload_to).",
)

_ERRORS_BUCKET: Final = click.option(
    "--errors-bucket",
    "--errors_bucket",
    "errors_bucket",
    metavar="BUCKET",
    help="The flock's errors bucket, which holds rejection reports (profile: shepard_cli_errors_bucket).",
)


@command("query")
@_TABLE
@STATUS_OPTION
@_ERRORS_BUCKET
@OUTPUT_OPTION
@aws_command
def query(
    aws: Aws,
    dynamo_db_to_query: str | None,
    statuses: tuple[str, ...],
    errors_bucket: str | None,
    output: str,
) -> None:
    """List the flock's jobs: status, start time, zip, and why rejected jobs were refused.

    \b
    Example:
      shepard query --status active
      shepard query --status rejected --output json
    """
    from shepard_cli._command import parse_status_filter
    from shepard_cli._jobs import list_jobs

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    wanted = parse_status_filter(statuses)
    bucket = errors_bucket or None
    skipped: list[str] = []
    views = list_jobs(
        aws.client("dynamodb"),
        table,
        statuses=wanted,
        s3=aws.client("s3") if bucket else None,
        errors_bucket=bucket,
        skipped=skipped,
    )
    if skipped:
        from shepard_cli._render import warn

        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")  # noqa: PLR2004 - a few
        warn(
            f"{len(skipped)} item(s) of table {table} are not Shepard job rows and are left out ({shown}); "
            "is it the flock's TableName?"
        )
    if output == "json":
        print_json([view.to_json() for view in views])
        return
    from shepard_cli._render import job_table

    job_table(views, table)


def _job_id(aws: Aws, job: str, table: str, bucket: str | None) -> str:
    """Return the UUID of the job named by UUID, by its zip's key, or by s3://BUCKET/KEY."""
    from shepard_cli._job_keys import is_job_uuid, resolve_job_id

    if is_job_uuid(job):  # no client is made for the common case
        return job.lower()
    return resolve_job_id(
        job, dynamodb=aws.client("dynamodb"), table=table, s3=aws.client("s3"), bucket=bucket
    )


@command("status")
@click.argument("job", metavar="JOB")
@_TABLE
@_INPUTS_BUCKET
@_ERRORS_BUCKET
@wait_threshold_option
@OUTPUT_OPTION
@aws_command
def status(
    aws: Aws,
    job: str,
    dynamo_db_to_query: str | None,
    s3_bucket_to_upload_to: str | None,
    errors_bucket: str | None,
    wait_threshold: timedelta,
    output: str,
) -> None:
    """Show one job: its row (status, inputs, times) and its AWS Batch state.

    JOB is the job's UUID, or its zip's key in the inputs bucket (or s3://BUCKET/KEY).
    A job waiting for AWS Batch longer than --wait-threshold also shows why: Batch's reason, its job
    queue's and compute environment's state, and the cause found (no instance type fits the job, the
    compute environment is at its maxvCpus, DISABLED or INVALID, no Spot capacity, ...).

    \b
    Example:
      shepard status 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10
      shepard status 0d9b5c4e-2f1a-4b8e-9c3d-7e6f5a4b3c2d.zip
    """
    from shepard_cli._jobs import job_status

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    job = _job_id(aws, job, table, s3_bucket_to_upload_to)
    document = job_status(
        aws.client("dynamodb"), aws.client("batch"), table, job, errors_bucket=errors_bucket or None
    )
    from shepard_cli._wait_reader import WaitReader
    from shepard_cli._wait_status import add_wait_diagnosis

    add_wait_diagnosis(document, lambda: WaitReader(aws.client("batch"), aws.client("ec2")), wait_threshold)
    if output == "json":
        print_json(document)
        return
    from shepard_cli._render import job_status_table

    job_status_table(job, document)


@command("logs")
@click.argument("job", metavar="JOB")
@_TABLE
@_INPUTS_BUCKET
@_ERRORS_BUCKET
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the job ends.")
@click.option(
    "--attempt",
    type=click.IntRange(min=1),
    metavar="N",
    help="Print attempt N's log (1 is the first) instead of the latest attempt's.",
)
@aws_command
def logs(
    aws: Aws,
    job: str,
    dynamo_db_to_query: str | None,
    s3_bucket_to_upload_to: str | None,
    errors_bucket: str | None,
    follow: bool,  # noqa: FBT001
    attempt: int | None,
) -> None:
    """Print a job's logs from CloudWatch Logs (the stream of its AWS Batch job's latest attempt).

    AWS Batch may run a job more than once (a lost Spot instance is retried): when it did, logs
    says on stderr which attempt it prints of how many and how each ended, and --attempt N prints
    an earlier one. A job of an array is found by its own UUID like any other.
    A rejected job never ran: logs says why it was rejected and where its report is.
    JOB is the job's UUID, or its zip's key in the inputs bucket (or s3://BUCKET/KEY).

    \b
    Example:
      shepard logs 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10 --follow
      shepard logs 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10 --attempt 1
    """
    from shepard_cli._jobs import follow_logs

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    job = _job_id(aws, job, table, s3_bucket_to_upload_to)
    follow_logs(
        aws.client("dynamodb"),
        aws.client("batch"),
        aws.client("logs"),
        table,
        job,
        follow=follow,
        emit=click.echo,
        errors_bucket=errors_bucket or None,
        s3=aws.client("s3") if errors_bucket else None,
        attempt=attempt,
        notice=lambda line: click.echo(line, err=True),
    )


@command("cancel")
@click.argument("job", metavar="JOB")
@_TABLE
@_INPUTS_BUCKET
@aws_command
def cancel(aws: Aws, job: str, dynamo_db_to_query: str | None, s3_bucket_to_upload_to: str | None) -> None:
    """Cancel a job that has not ended: its own AWS Batch job, never the other jobs of its array.

    A job still queued is cancelled (CancelJob); one starting or running is terminated (TerminateJob).
    JOB is the job's UUID, or its zip's key in the inputs bucket (or s3://BUCKET/KEY).

    \b
    Example:
      shepard cancel 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10
    """
    from shepard_cli._jobs import cancel_job

    table = required(dynamo_db_to_query, "dynamo_db_to_query")
    job = _job_id(aws, job, table, s3_bucket_to_upload_to)
    click.echo(cancel_job(aws.client("dynamodb"), aws.client("batch"), table, job))


@command("retrieve")
@click.option(
    "--s3-bucket-for-results",
    "--s3_bucket_for_results",
    "s3_bucket_for_results",
    metavar="BUCKET",
    help="The flock's outputs bucket (profile: shepard_cli_s3_bucket_for_results).",
)
@click.option(
    "--directory-to-sync-s3-bucket-to",
    "--directory_to_sync_s3_bucket_to",
    "directory_to_sync_s3_bucket_to",
    metavar="DIR",
    help="Local folder to sync into (profile: shepard_cli_directory_to_sync_s3_bucket_to).",
)
@click.option("--prefix", default="", help="Only objects whose key starts with this.")
@click.option("--job", "job", metavar="UUID", help="Only this job's outputs.")
@click.option(
    "--parallel", default=8, show_default=True, type=click.IntRange(1, 64), help="Downloads at once."
)
@aws_command
def retrieve(
    aws: Aws,
    s3_bucket_for_results: str | None,
    directory_to_sync_s3_bucket_to: str | None,
    prefix: str,
    job: str | None,
    parallel: int,
) -> None:
    """Sync the outputs bucket into a local folder: only new or changed objects are fetched.

    Every file lands inside the folder. A key that resolves to the folder or above it (`..`, `x/..`),
    or that collides with a folder or a file (`dup` and `dup/x`), is skipped with one warning line.

    \b
    Example:
      shepard retrieve --s3-bucket-for-results my-flock-outputs --directory-to-sync-s3-bucket-to ./results
    """
    from shepard_cli._render import byte_progress, warn
    from shepard_cli._retrieve import sync

    bucket = required(s3_bucket_for_results, "s3_bucket_for_results")
    directory = local_path(required(directory_to_sync_s3_bucket_to, "directory_to_sync_s3_bucket_to"))
    select = None if job is None else (lambda key: _is_output_of(key, job))
    with byte_progress() as progress:
        result = sync(
            aws.client("s3"),
            bucket,
            directory,
            prefix=prefix,
            parallel=parallel,
            progress=progress,
            select=select,
        )
    for key, why in result.skipped:
        warn(f"skipped key {key!r}: {why}")
    for key in result.fetched:
        click.echo(f"Fetched {key}")
    skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
    click.echo(
        f"{len(result.fetched)} fetched, {result.unchanged} already up to date{skipped}, in {directory}"
    )


def _is_output_of(key: str, job: str) -> bool:
    """Return whether the outputs-bucket `key` is one of job `job`'s output zips."""
    from shepard_core import parse_output_object_name

    name = parse_output_object_name(key.rsplit("/", 1)[-1])
    return name is not None and name.job_uuid == job
