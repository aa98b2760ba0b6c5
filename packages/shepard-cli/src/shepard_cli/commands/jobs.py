"""The job commands: batch, batch-via-api, query, status, logs, cancel and retrieve."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from pathlib import Path
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
from shepard_cli._errors import CliError
from shepard_cli._wait_threshold import wait_threshold_option

if TYPE_CHECKING:
    from datetime import timedelta

    from shepard_cli import _batch
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


@command("batch")
@click.argument("folders", nargs=-1, metavar="[DIR]...")
@click.option(
    "--path-to-local-folder-to-batch",
    "--path_to_local_folder_to_batch",
    "path_to_local_folder_to_batch",
    metavar="DIR",
    help="Job folder (with inputs.txt) to zip and upload.",
)
@click.option(
    "--s3-bucket-to-upload-to",
    "--s3_bucket_to_upload_to",
    "s3_bucket_to_upload_to",
    metavar="BUCKET",
    help="The flock's inputs bucket (profile: shepard_cli_s3_bucket_to_upload_to).",
)
@click.option(
    "--zip-name-override",
    "--zip_name_override",
    "zip_name_override",
    metavar="NAME",
    help="Name the zip NAME instead of a fresh UUID.",
)
@click.option(
    "--many",
    multiple=True,
    metavar="DIR|TSV",
    help="Batch several jobs: repeat with job folders, or give a .tsv of parameter sets (header = variable "
    "names, one job per line) applied over --path-to-local-folder-to-batch.",
)
@click.option("--parallel", default=4, show_default=True, type=click.IntRange(1, 64), help="Uploads at once.")
@click.option(
    "--record",
    metavar="FILE",
    help="Where to write the TSV naming each job's source line, zip key and job UUID "
    "(default with --many: shepard-batch-<UTC time>.tsv in the current folder).",
)
@aws_command
@click.pass_context
def batch(
    ctx: click.Context,
    aws: Aws,
    folders: tuple[str, ...],
    path_to_local_folder_to_batch: str | None,
    s3_bucket_to_upload_to: str | None,
    zip_name_override: str | None,
    many: tuple[str, ...],
    parallel: int,
    record: str | None,
) -> None:
    """Zip job folders and upload them to the inputs bucket: each zip is one job.

    A job folder holds inputs.txt: a JSON object whose values are strings, numbers or booleans
    (no lists, objects or null); each name becomes an environment variable of the job, e.g.
    {"SAMPLE": "s42", "THRESHOLD": 0.5, "VERBOSE": true}. `{}` is a job with no variables.
    inputs.txt is checked first; a bad job is never uploaded (with --many, no job is).

    Links inside the job folder are followed (to files and to folders) and zipped under the
    link's name; links that leave the folder, dangling links and link loops are refused, all
    named in one message, and nothing is uploaded.

    Job folders may also be given as arguments: one stands for --path-to-local-folder-to-batch,
    several for one --many each.

    A .tsv of parameter sets is read literally: line 1 names the variables, each later line is one
    job, cells are split on tabs only (quotes are ordinary characters). A UTF-8 byte-order mark and
    CRLF line ends are accepted; empty or repeated column names, lines with a different number of
    cells, and other byte-order marks or carriage returns are refused, by line and column.

    One job prints its key and job UUID. Several print a one-line summary and write a record
    (--record, by default shepard-batch-<UTC time>.tsv here) naming each job's source line, zip key
    and job UUID; `shepard status`, `logs` and `cancel` take the UUID or the key.

    \b
    Example:
      shepard batch ./job
      shepard batch --path-to-local-folder-to-batch ./job
      shepard batch --many ./job1 --many ./job2
      shepard batch --path-to-local-folder-to-batch ./job --many params.tsv
    """
    from shepard_cli import _batch

    flag_given = (
        ctx.get_parameter_source("path_to_local_folder_to_batch") is click.core.ParameterSource.COMMANDLINE
    )
    if len(folders) == 1 and not flag_given:
        path_to_local_folder_to_batch = folders[0]
    elif folders:
        many = (*folders, *many)
    jobs: list[_batch.JobSpec] = []
    for item in many:
        path = Path(item)
        if path.is_file() and path.suffix.lower() in {".tsv", ".txt"}:
            if not path_to_local_folder_to_batch:
                raise CliError(
                    f"{item} sets parameters for a job folder", "Pass --path-to-local-folder-to-batch"
                )
            jobs += _batch.jobs_from_tsv(path, local_path(path_to_local_folder_to_batch))
        else:
            jobs.append(_batch.read_job(path))
    if not many:
        folder = required(path_to_local_folder_to_batch, "path_to_local_folder_to_batch")
        jobs.append(_batch.read_job(local_path(folder)))
    bucket = required(s3_bucket_to_upload_to, "s3_bucket_to_upload_to")
    if zip_name_override is not None:
        _batch.zip_key(zip_name_override)  # refuse a bad name before zipping anything
    _upload_and_report(aws, bucket, jobs, zip_name_override, parallel, record, recorded=bool(many))


def _upload_and_report(
    aws: Aws,
    bucket: str,
    jobs: list[_batch.JobSpec],
    zip_name_override: str | None,
    parallel: int,
    record: str | None,
    *,
    recorded: bool,
) -> None:
    """Upload the jobs; print one line per job for one job, else a summary and the record file's path."""
    import time

    from shepard_cli import _batch
    from shepard_cli._batch_record import default_record_path, write_record
    from shepard_cli._render import byte_progress, count_progress, warn

    record_path = None
    if record is not None:
        record_path = local_path(record)
    elif recorded or len(jobs) > 1:
        record_path = default_record_path(Path.cwd())
    done: list[_batch.BatchedJob] = []
    started = time.monotonic()
    try:
        with byte_progress() if len(jobs) == 1 else count_progress() as progress:
            _batch.batch_jobs(
                aws.client("s3"),
                bucket,
                jobs,
                zip_name_override=zip_name_override,
                parallel=parallel,
                progress=progress,
                on_done=done.append,
            )
    finally:
        if record_path is not None and done:
            write_record(record_path, done)
        if record_path is None:
            for item in done:
                job = f" (job {item.job_uuid})" if item.job_uuid else ""
                click.echo(f"Batched {item.job.name} as s3://{bucket}/{item.key}{job}")
        elif len(done) == len(jobs):
            click.echo(
                f"Batched {len(done):,} job(s) to s3://{bucket} in {time.monotonic() - started:.0f} s; "
                f"each job's source line, key and job UUID are in {record_path}"
            )
        if done and len(done) < len(jobs):
            where = f"in {record_path}" if record_path is not None else "listed above"
            warn(f"{len(done)} of {len(jobs)} job(s) were batched ({where}); the others were not")
        if done and not any(item.job_uuid for item in done):
            warn(
                f"bucket {bucket} is not versioned, so job UUIDs are known only once the scheduler has "
                "run; `shepard status KEY` finds a job by its zip's key"
            )


@command("batch-via-api")
@click.option(
    "--lambda-to-invoke",
    "--lambda_to_invoke",
    "lambda_to_invoke",
    metavar="FUNCTION",
    help="The flock's batching endpoint Lambda (profile: shepard_cli_lambda_to_invoke).",
)
@click.option(
    "--json-payload",
    "--json_payload",
    "json_payload",
    required=True,
    metavar="JSON",
    help="The job's variables as a JSON object, a JSON list of such objects (one job each, up to "
    "1,000), or @FILE to read them from a file.",
)
@click.option(
    "--client-token",
    "--client_token",
    "client_token",
    metavar="TOKEN",
    help="Name this request (1-64 letters, digits, ._:-): sending the same payload again with the same "
    "token runs none of its jobs twice. Default: a new token, printed first, for each run.",
)
@aws_command
def batch_via_api(
    aws: Aws, lambda_to_invoke: str | None, json_payload: str, client_token: str | None
) -> None:
    """Start jobs through the flock's batching endpoint, without uploading a zip.

    Each run is a new request under a fresh client token, printed first (on stderr). If the
    command dies or the endpoint asks for a retry, run it again with --client-token TOKEN and the
    same payload: the jobs already submitted are answered as such, never run twice. A list is
    one array; an invalid job in it is refused alone (named by position) and the others run.

    \b
    Example:
      shepard batch-via-api --json-payload '{"SAMPLE": "42", "TAG": "run1"}'
      shepard batch-via-api --json-payload '[{"SAMPLE": "1"}, {"SAMPLE": "2"}]'
      shepard batch-via-api --json-payload @job/inputs.txt --client-token run1-2026-05-01
    """
    from shepard_cli._endpoint import answer_lines, check_client_token, invoke_endpoint, new_client_token

    function = required(lambda_to_invoke, "lambda_to_invoke")
    if json_payload.startswith("@"):
        payload_file = local_path(json_payload[1:])
        try:
            json_payload = payload_file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CliError(f"{payload_file} is not UTF-8 text", "Save the JSON payload as UTF-8") from None
    token = check_client_token(client_token) if client_token is not None else new_client_token()
    if client_token is None:
        click.echo(f"Client token: {token} (to repeat this request safely: --client-token {token})", err=True)
    answer = invoke_endpoint(aws.client("lambda"), function, json_payload, token=token)
    lines, error = answer_lines(answer, token)
    for line in lines:
        click.echo(line)
    if error is not None:
        raise error


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
