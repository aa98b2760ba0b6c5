"""Every `shepard` command: parse options, resolve them against the profile, call the logic, print."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import click

from shepard_cli import _flock_command  # noqa: F401 - registers `shepard build-flock`
from shepard_cli._app import aws_command, cli, pass_settings
from shepard_cli._errors import CliError
from shepard_cli._profiles import PATH_ATTRIBUTES, PROFILE_ATTRIBUTES, check_profile_name

if TYPE_CHECKING:
    from shepard_cli._aws import Aws
    from shepard_cli._settings import Settings


def _local_path(value: str) -> Path:
    """Return a user-given path with `~` expanded (profile values do not pass through a shell)."""
    return Path(value).expanduser()


def _print_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


_OUTPUT = click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: machine-readable output for scripts.",
)
_TABLE = click.option(
    "--dynamo-db-to-query",
    "--dynamo_db_to_query",
    "dynamo_db_to_query",
    metavar="TABLE",
    help="The flock's DynamoDB table (profile: shepard_cli_dynamo_db_to_query).",
)


# --------------------------------------------------------------------------------------------- deploy
@cli.command()
@click.option(
    "--path-to-docker-folder",
    "--path_to_docker_folder",
    "path_to_docker_folder",
    metavar="DIR",
    help="Folder with a Dockerfile or Dockerfile.txt (not both).",
)
@click.option(
    "--ecr-repo-to-push-to",
    "--ecr_repo_to_push_to",
    "ecr_repo_to_push_to",
    metavar="REPO",
    help="The flock's ECR repository name.",
)
@click.option(
    "--worker-image",
    "--worker_image",
    "worker_image",
    default=None,
    metavar="IMAGE",
    help="Local worker image to nest the payload in (default: shepard-worker:latest).",
)
@click.option("--tag", default="latest", show_default=True, help="Tag to push.")
@click.option(
    "--registry",
    metavar="HOST[:PORT]",
    help="Push here instead of ECR's registry, e.g. a local flock's 127.0.0.1:5000 "
    "(profile: shepard_cli_registry).",
)
@aws_command
@pass_settings
def deploy(
    settings: Settings,
    aws: Aws,
    path_to_docker_folder: str | None,
    ecr_repo_to_push_to: str | None,
    worker_image: str | None,
    tag: str,
    registry: str | None,
) -> None:
    """Build your code into the flock's worker image and push it: new jobs run it.

    Builds the folder's Dockerfile (or Dockerfile.txt) into a payload image, saves it as a tar inside
    the worker image, logs in to ECR and pushes the result.

    \b
    Example:
      shepard deploy --path-to-docker-folder ./my-code --ecr-repo-to-push-to my-flock-repo
    """
    import docker

    from shepard_cli import _deploy
    from shepard_cli._console import stderr

    folder = _local_path(
        settings.need(path_to_docker_folder, "shepard_cli_path_to_docker_folder", "--path-to-docker-folder")
    )
    _deploy.find_dockerfile(folder)
    repository = settings.need(
        ecr_repo_to_push_to, "shepard_cli_ecr_repo_to_push_to", "--ecr-repo-to-push-to"
    )
    override = settings.get(registry, "shepard_cli_registry")
    ecr = aws.client("ecr")
    if override is None:
        ecr.describe_repositories(repositoryNames=[repository])
    target_registry = _deploy.ecr_registry(ecr, override)
    console = stderr()
    from shepard_cli._engine import adopt_local_engine

    adopt_local_engine()
    client = docker.from_env()
    try:
        with _PushProgress(console) as progress:
            reference = _deploy.deploy(
                client,
                folder,
                repository=repository,
                registry=target_registry,
                worker_image=worker_image or _deploy.DEFAULT_WORKER_IMAGE,
                tag=tag,
                on_line=progress.line,
                on_step=progress.step,
            )
    finally:
        client.close()
    click.echo(f"Deployed {reference}")


class _PushProgress:
    """Shows build output and one progress bar per pushed layer."""

    def __init__(self, console: Any) -> None:  # noqa: ANN401 - a rich Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console, transient=True
        )
        self.layers: dict[str, tuple[Any, int]] = {}

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def step(self, message: str) -> None:
        self.progress.console.print(f"[bold]{message}[/bold]")

    def line(self, line: dict[str, Any]) -> None:
        from rich.text import Text

        if "stream" in line and line["stream"].strip():
            self.progress.console.print(Text(line["stream"].rstrip(), style="dim"))
            return
        layer = line.get("id")
        detail = line.get("progressDetail") or {}
        if layer and line.get("status") == "Pushing" and detail.get("total"):
            if layer not in self.layers:
                total = int(detail["total"])
                self.layers[layer] = (self.progress.add_task(f"layer {layer}", total=total), total)
            self.progress.update(self.layers[layer][0], completed=detail.get("current", 0))
        elif layer and line.get("status") in {"Pushed", "Layer already exists"}:
            if layer in self.layers:
                task, total = self.layers[layer]
                self.progress.update(task, completed=total)
            self.progress.console.print(Text(f"{layer}: {line['status']}", style="dim"))


# ---------------------------------------------------------------------------------------------- batch
@cli.command()
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
@aws_command
@pass_settings
def batch(
    settings: Settings,
    aws: Aws,
    folders: tuple[str, ...],
    path_to_local_folder_to_batch: str | None,
    s3_bucket_to_upload_to: str | None,
    zip_name_override: str | None,
    many: tuple[str, ...],
    parallel: int,
) -> None:
    """Zip job folders and upload them to the inputs bucket: each zip is one job.

    inputs.txt is checked first; a bad job is never uploaded. Job folders may also be given as
    arguments: one stands for --path-to-local-folder-to-batch, several for one --many each.

    \b
    Example:
      shepard batch ./job
      shepard batch --path-to-local-folder-to-batch ./job
      shepard batch --many ./job1 --many ./job2
      shepard batch --path-to-local-folder-to-batch ./job --many params.tsv
    """
    from shepard_cli import _batch
    from shepard_cli._console import byte_progress, warn

    if len(folders) == 1 and path_to_local_folder_to_batch is None:
        path_to_local_folder_to_batch = folders[0]
    elif folders:
        many = (*folders, *many)
    folder_value = settings.get(path_to_local_folder_to_batch, "shepard_cli_path_to_local_folder_to_batch")
    jobs: list[_batch.JobSpec] = []
    for item in many:
        path = Path(item)
        if path.is_file() and path.suffix.lower() in {".tsv", ".txt"}:
            if folder_value is None:
                raise CliError(
                    f"{item} sets parameters for a job folder", "Pass --path-to-local-folder-to-batch"
                )
            jobs += _batch.jobs_from_tsv(path, _local_path(folder_value))
        else:
            jobs.append(_batch.read_job(path))
    if not many:
        folder = settings.need(
            path_to_local_folder_to_batch,
            "shepard_cli_path_to_local_folder_to_batch",
            "--path-to-local-folder-to-batch",
        )
        jobs.append(_batch.read_job(_local_path(folder)))
    bucket = settings.need(
        s3_bucket_to_upload_to, "shepard_cli_s3_bucket_to_upload_to", "--s3-bucket-to-upload-to"
    )
    if zip_name_override is not None:
        _batch.zip_key(zip_name_override)  # refuse a bad name before zipping anything
    s3 = aws.client("s3")
    done: list[tuple[_batch.JobSpec, str]] = []
    try:
        with byte_progress() as progress:
            _batch.batch_jobs(
                s3,
                bucket,
                jobs,
                zip_name_override=zip_name_override,
                parallel=parallel,
                progress=progress,
                on_done=lambda job, key: done.append((job, key)),
            )
    finally:
        for job, key in done:
            click.echo(f"Batched {job.name} as s3://{bucket}/{key}")
        if done and len(done) < len(jobs):
            warn(f"{len(done)} of {len(jobs)} job(s) were batched (listed above); the others were not")


@cli.command("batch-via-api")
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
    help="The job's variables as a JSON object, or @FILE to read them from a file.",
)
@aws_command
@pass_settings
def batch_via_api(settings: Settings, aws: Aws, lambda_to_invoke: str | None, json_payload: str) -> None:
    """Start one job through the flock's batching endpoint, without uploading a zip.

    \b
    Example:
      shepard batch-via-api --json-payload '{"SAMPLE": "42", "TAG": "run1"}'
      shepard batch-via-api --json-payload @job/inputs.txt
    """
    from shepard_cli._jobs import invoke_endpoint

    function = settings.need(lambda_to_invoke, "shepard_cli_lambda_to_invoke", "--lambda-to-invoke")
    if json_payload.startswith("@"):
        payload_file = _local_path(json_payload[1:])
        try:
            json_payload = payload_file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CliError(f"{payload_file} is not UTF-8 text", "Save the JSON payload as UTF-8") from None
    answer = invoke_endpoint(aws.client("lambda"), function, json_payload)
    job = answer.get("uuid") or answer.get("UUID") or answer.get("job_id") or answer.get("job_uuid")
    batch_id = answer.get("batch_job_id") or answer.get("SHEPARD_BATCH_JOB_ID") or answer.get("batchJobId")
    if not job:
        raise CliError(
            f"the batching endpoint answered without a job id: {json.dumps(answer)}", "See its logs"
        )
    verb = "was already submitted" if answer.get("duplicate") else "submitted"
    click.echo(f"Job {job} {verb}" + (f" (AWS Batch job {batch_id})" if batch_id else ""))


# ------------------------------------------------------------------------------------------- the jobs
@cli.command()
@_TABLE
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help="Only jobs with this status (repeatable): a JOB_STATUS value, "
    "or active, succeeded, failed, finished.",
)
@click.option(
    "--errors-bucket",
    "--errors_bucket",
    "errors_bucket",
    metavar="BUCKET",
    help="The flock's errors bucket, to include rejections (profile: shepard_cli_errors_bucket).",
)
@_OUTPUT
@aws_command
@pass_settings
def query(
    settings: Settings,
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
    from shepard_cli._jobs import list_jobs, parse_status_filter

    table = settings.need(dynamo_db_to_query, "shepard_cli_dynamo_db_to_query", "--dynamo-db-to-query")
    wanted = parse_status_filter(statuses)
    bucket = settings.get(errors_bucket, "shepard_cli_errors_bucket")
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
        from shepard_cli._console import warn

        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")  # noqa: PLR2004 - a few
        warn(
            f"{len(skipped)} item(s) of table {table} are not Shepard job rows and are left out ({shown}); "
            "is it the flock's TableName?"
        )
    if output == "json":
        _print_json([view.to_json() for view in views])
        return
    from rich.table import Table

    from shepard_cli._console import stdout

    grid = Table(title=f"{len(views)} job(s) in {table}", show_lines=False)
    for column in ("UUID", "STATUS", "START TIME", "INPUT ZIP", "INPUTS / REASON"):
        grid.add_column(column, overflow="fold")
    for view in views:
        detail = view.reason or ", ".join(f"{k}={v}" for k, v in sorted(view.inputs.items()))
        style = "red" if view.reason else None
        grid.add_row(
            view.uuid, view.status, view.start_time or "", view.input_zip_name or "", detail, style=style
        )
    stdout().print(grid)


@cli.command()
@click.argument("job")
@_TABLE
@_OUTPUT
@aws_command
@pass_settings
def status(settings: Settings, aws: Aws, job: str, dynamo_db_to_query: str | None, output: str) -> None:
    """Show one job: its row (status, inputs, times) and its AWS Batch state.

    \b
    Example:
      shepard status 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10
    """
    from shepard_cli._jobs import job_status

    table = settings.need(dynamo_db_to_query, "shepard_cli_dynamo_db_to_query", "--dynamo-db-to-query")
    document = job_status(aws.client("dynamodb"), aws.client("batch"), table, job)
    if output == "json":
        _print_json(document)
        return
    from rich.table import Table

    from shepard_cli._console import stdout

    grid = Table(show_header=False, title=f"job {job}")
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in document["job"].items():
        if key == "inputs":
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))  # noqa: PLW2901
        if value not in (None, ""):
            grid.add_row(key, str(value))
    for key, value in (document["batch"] or {}).items():
        if value not in (None, ""):
            grid.add_row(f"batch {key}", str(value))
    stdout().print(grid)


@cli.command()
@click.argument("job")
@_TABLE
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the job ends.")
@aws_command
@pass_settings
def logs(settings: Settings, aws: Aws, job: str, dynamo_db_to_query: str | None, follow: bool) -> None:  # noqa: FBT001
    """Print a job's logs from CloudWatch Logs (the stream of its AWS Batch job).

    \b
    Example:
      shepard logs 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10 --follow
    """
    from shepard_cli._jobs import follow_logs

    table = settings.need(dynamo_db_to_query, "shepard_cli_dynamo_db_to_query", "--dynamo-db-to-query")
    follow_logs(
        aws.client("dynamodb"),
        aws.client("batch"),
        aws.client("logs"),
        table,
        job,
        follow=follow,
        emit=click.echo,
    )


@cli.command()
@click.argument("job")
@_TABLE
@aws_command
@pass_settings
def cancel(settings: Settings, aws: Aws, job: str, dynamo_db_to_query: str | None) -> None:
    """Cancel a job that has not ended (terminate its AWS Batch job).

    \b
    Example:
      shepard cancel 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10
    """
    from shepard_cli._jobs import cancel_job

    table = settings.need(dynamo_db_to_query, "shepard_cli_dynamo_db_to_query", "--dynamo-db-to-query")
    click.echo(cancel_job(aws.client("dynamodb"), aws.client("batch"), table, job))


# ------------------------------------------------------------------------------- describe, secretify
@cli.command()
@click.option(
    "--cloudformation-to-describe",
    "--cloudformation_to_describe",
    "cloudformation_to_describe",
    metavar="STACK",
    help="The flock's stack name (profile: shepard_cli_cloudformation_to_describe).",
)
@_OUTPUT
@aws_command
@pass_settings
def describe(settings: Settings, aws: Aws, cloudformation_to_describe: str | None, output: str) -> None:
    """Show the flock's stack: status, parameters, outputs and resources.

    \b
    Example:
      shepard describe --cloudformation-to-describe my-flock
    """
    from shepard_cli._describe import describe_stack

    stack = settings.need(
        cloudformation_to_describe, "shepard_cli_cloudformation_to_describe", "--cloudformation-to-describe"
    )
    document = describe_stack(aws.client("cloudformation"), stack)
    if output == "json":
        _print_json(document)
        return
    from rich.table import Table

    from shepard_cli._console import stdout

    console = stdout()
    console.print(f"[bold]{document['name']}[/bold]: {document['status']}")
    for section in ("parameters", "outputs"):
        grid = Table(title=section, show_header=False)
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        for key, value in document[section].items():
            grid.add_row(key, str(value))
        console.print(grid)
    grid = Table(title="resources")
    for column in ("LOGICAL ID", "TYPE", "PHYSICAL ID", "STATUS"):
        grid.add_column(column, overflow="fold")
    for r in document["resources"]:
        grid.add_row(r["logical_id"], r["type"], r["physical_id"] or "", r["status"] or "")
    console.print(grid)


@cli.command()
@click.option(
    "--path-to-local-secrets",
    "--path_to_local_secrets",
    "path_to_local_secrets",
    metavar="DIR",
    help="Folder of secret files (profile: shepard_cli_path_to_local_secrets).",
)
@click.option(
    "--secret-store",
    "--secret_store",
    "secret_store",
    metavar="SECRET",
    help="The flock's Secrets Manager secret (profile: shepard_cli_secret_store).",
)
@aws_command
@pass_settings
def secretify(
    settings: Settings, aws: Aws, path_to_local_secrets: str | None, secret_store: str | None
) -> None:
    """Store a folder's files in the flock's secret; jobs find them in $ROOT_INPUT_NAME/secrets.

    Each file becomes one key (its name) holding its bytes in base64. The secret is replaced.

    \b
    Example:
      shepard secretify --path-to-local-secrets ./secrets --secret-store my-flock-secrets
    """
    from shepard_cli import _secrets
    from shepard_cli._console import warn

    folder = _local_path(
        settings.need(path_to_local_secrets, "shepard_cli_path_to_local_secrets", "--path-to-local-secrets")
    )
    secret_id = settings.need(secret_store, "shepard_cli_secret_store", "--secret-store")
    document = _secrets.secret_document(folder)
    text = _secrets.secret_string(document)
    if _secrets.near_limit(text):
        warn(
            f"the secret is {len(text.encode()):,} of the {_secrets.SECRET_LIMIT_BYTES:,} bytes "
            "Secrets Manager allows; it cannot grow much more"
        )
    version = _secrets.put_secret(aws.client("secretsmanager"), secret_id, text)
    click.echo(f"Stored {len(document)} file(s) in secret {secret_id} (version {version})")


# ------------------------------------------------------------------------------------------ retrieve
@cli.command()
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
@pass_settings
def retrieve(
    settings: Settings,
    aws: Aws,
    s3_bucket_for_results: str | None,
    directory_to_sync_s3_bucket_to: str | None,
    prefix: str,
    job: str | None,
    parallel: int,
) -> None:
    """Sync the outputs bucket into a local folder: only new or changed objects are fetched.

    \b
    Example:
      shepard retrieve --s3-bucket-for-results my-flock-outputs --directory-to-sync-s3-bucket-to ./results
    """
    from shepard_cli._console import byte_progress
    from shepard_cli._retrieve import sync

    bucket = settings.need(
        s3_bucket_for_results, "shepard_cli_s3_bucket_for_results", "--s3-bucket-for-results"
    )
    directory = _local_path(
        settings.need(
            directory_to_sync_s3_bucket_to,
            "shepard_cli_directory_to_sync_s3_bucket_to",
            "--directory-to-sync-s3-bucket-to",
        )
    )
    select = None if job is None else (lambda key: f"result@{job}_" in key)
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
    for key in result.fetched:
        click.echo(f"Fetched {key}")
    click.echo(f"{len(result.fetched)} fetched, {result.unchanged} already up to date, in {directory}")


# -------------------------------------------------------------------------------------- check-update
@cli.command("check-update")
def check_update() -> None:
    """Say whether a newer shepard-cli is published on PyPI.

    \b
    Example:
      shepard check-update
    """
    from shepard_cli._update import installed_version, is_newer, latest_version

    current = installed_version()
    latest = latest_version()
    if is_newer(latest, current):
        click.echo(f"shepard-cli {latest} is out (you have {current}): pip install --upgrade shepard-cli")
    else:
        click.echo(f"shepard-cli {current} is up to date (newest published: {latest})")


# ------------------------------------------------------------------------------------------ profiles
_PROFILE_NAME = click.option(
    "--profile-name", "--profile_name", "profile_name", metavar="NAME", help="The profile to act on."
)


def _name(argument: str | None, option: str | None) -> str:
    name = option or argument
    if not name:
        raise CliError("no profile name given", "Pass it as an argument or with --profile-name")
    return check_profile_name(name)


@cli.command()
@click.argument("name", required=False)
@_PROFILE_NAME
@pass_settings
def configure(settings: Settings, name: str | None, profile_name: str | None) -> None:
    """Create or edit a profile by answering prompts (Enter keeps the value shown, '-' clears it).

    The first profile configured becomes the current one.

    \b
    Example:
      shepard configure my-flock
    """
    store = settings.store
    if not (profile_name or name):
        profile_name = click.prompt("Profile name")
    profile = _name(name, profile_name)
    current = store.load(profile) if store.exists(profile) else {}
    answers = dict(current)
    for attribute, meaning in PROFILE_ATTRIBUTES.items():
        answer = click.prompt(
            f"{attribute} ({meaning})", default=current.get(attribute, ""), show_default=True
        )
        answer = answer.strip()
        if answer == "-":
            answers.pop(attribute, None)
        elif answer and attribute in PATH_ATTRIBUTES:
            answers[attribute] = str(Path(answer).expanduser().absolute())
        elif answer:
            answers[attribute] = answer
    path = store.save(profile, answers)
    if store.current() is None:
        store.set_current(profile)
    click.echo(f"Saved profile {profile} to {path}")


@cli.command("check-profile")
@pass_settings
def check_profile(settings: Settings) -> None:
    """List the profiles (the current one underlined) and show the current one's attributes.

    \b
    Example:
      shepard check-profile
    """
    from shepard_cli._console import stdout

    console = stdout()
    store = settings.store
    current = settings.profile_name or store.current()
    names = store.names()
    if not names:
        console.print("No profiles yet: create one with `shepard configure NAME`.")
    for name in names:
        console.print(f"[underline]{name}[/underline] (current)" if name == current else name)
    if current is None:
        console.print("No profile is currently set.")
        return
    console.print(f"\nAttributes of {current}:")
    for key, value in sorted(store.load(current).items()):
        console.print(f"  {key} = {value}", markup=False)


@cli.command("set-profile")
@click.argument("name", required=False)
@_PROFILE_NAME
@pass_settings
def set_profile(settings: Settings, name: str | None, profile_name: str | None) -> None:
    """Make a profile the current one.

    \b
    Example:
      shepard set-profile my-flock
    """
    profile = _name(name, profile_name)
    settings.store.set_current(profile)
    click.echo(f"Current profile: {profile}")


@cli.command("delete-profile")
@click.argument("name", required=False)
@_PROFILE_NAME
@pass_settings
def delete_profile(settings: Settings, name: str | None, profile_name: str | None) -> None:
    """Delete a profile (if it is the current one, no profile is current afterwards).

    \b
    Example:
      shepard delete-profile old-flock
    """
    profile = _name(name, profile_name)
    settings.store.delete(profile)
    click.echo(f"Deleted profile {profile}")


@cli.command("where-am-i")
@pass_settings
def where_am_i(settings: Settings) -> None:
    """Print the folder holding the profiles (set SHEPARD_CLI_HOME to move it); files dropped in are used.

    \b
    Example:
      shepard where-am-i
    """
    click.echo(str(settings.store.home))


@cli.command("clear-profile-config")
@pass_settings
def clear_profile_config(settings: Settings) -> None:
    """Unset the current profile; the profiles themselves stay.

    \b
    Example:
      shepard clear-profile-config
    """
    if settings.store.clear_current():
        click.echo("No profile is current now.")
    else:
        click.echo("No profile was current.")


# --------------------------------------------------------------------------------------------- roles
@cli.command("set-role")
@click.option(
    "--duration-seconds", default=3600, show_default=True, type=click.IntRange(900, 43200), help="How long."
)
@aws_command
@pass_settings
def set_role(settings: Settings, aws: Aws, duration_seconds: int) -> None:
    """Assume the role once (with MFA if given) and use it for every command until it expires.

    The temporary credentials are cached in the profile folder, readable by you only.

    \b
    Example:
      shepard set-role --account-number 123456789012 --role-to-assume-to-target-account Admin \\
          --mfa-token 123456 --serial-number arn:aws:iam::111111111111:mfa/me
    """
    import boto3

    from shepard_cli._aws import RoleCache, assume_role, role_arn_for

    access = aws.access
    if not access.role:
        raise CliError(
            "no role to assume",
            "Pass --role-to-assume-to-target-account or set it in your profile (shepard configure)",
        )
    cache = RoleCache(settings.store.home)
    sts = boto3.Session(region_name=access.region).client("sts", endpoint_url=access.endpoint_url)
    credentials = assume_role(
        sts,
        role_arn_for(access.account_number, access.role),
        mfa_token=access.mfa_token,
        serial_number=access.serial_number,
        duration_seconds=duration_seconds,
    )
    cache.save(credentials)
    click.echo(
        f"Acting as role {credentials.role_name} in account {credentials.account} until "
        f"{credentials.expiration:%Y-%m-%d %H:%M:%S} UTC"
    )


@cli.command("release-role")
@pass_settings
def release_role(settings: Settings) -> None:
    """Forget the role set with set-role; commands use your own credentials again.

    \b
    Example:
      shepard release-role
    """
    from shepard_cli._aws import RoleCache

    if RoleCache(settings.store.home).clear():
        click.echo("Role released.")
    else:
        click.echo("No role was set.")


@cli.command("check-role")
@pass_settings
def check_role(settings: Settings) -> None:
    """Say whether a role is set and, if so, its account, name and expiry.

    \b
    Example:
      shepard check-role
    """
    from shepard_cli._aws import RoleCache

    credentials = RoleCache(settings.store.home).load()
    if credentials is None:
        click.echo("No role is set: commands use your own credentials (or assume the profile's role).")
        return
    state = "EXPIRED at" if credentials.expired() else "expires"
    click.echo(
        f"Role {credentials.role_name} in account {credentials.account} ({credentials.role_arn}), "
        f"{state} {credentials.expiration:%Y-%m-%d %H:%M:%S} UTC"
    )
    if credentials.expired():
        raise CliError("the role has expired", "Run `shepard set-role` again, or `shepard release-role`")


@cli.command("help")
@click.pass_context
def help_(ctx: click.Context) -> None:
    """Show this list of commands.

    \b
    Example:
      shepard help
    """
    parent = ctx.parent
    click.echo(parent.get_help() if parent is not None else "")


def main() -> None:
    """Run the shepard command line."""
    cli(prog_name=Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "shepard")
