"""The commands that start jobs: batch (zips to the inputs bucket) and batch-via-api (the endpoint)."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from shepard_cli._command import (
    aws_command,
    command,
    local_path,
    required,
)
from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from shepard_cli import _batch
    from shepard_cli._aws import Aws


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
