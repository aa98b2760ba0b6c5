"""`shepard ui`: serve the flock's web app on 127.0.0.1 (needs the shepard-ui package)."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0913, PLR0917

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Final

import click

from shepard_cli._command import aws_command, command, required
from shepard_cli._errors import CliError
from shepard_cli._settings import Settings

if TYPE_CHECKING:
    from shepard_cli._aws import Aws

UI_MODULE: Final = "shepard_ui"
INSTALL_HINT: Final = "Install it with: pip install shepard-ui"


def _ui_available() -> bool:
    try:
        return importlib.util.find_spec(UI_MODULE) is not None
    except (ImportError, ValueError):
        return False


@command("ui")
@click.option(
    "--dynamo-db-to-query",
    "--dynamo_db_to_query",
    "dynamo_db_to_query",
    metavar="TABLE",
    help="The flock's DynamoDB table (profile: shepard_cli_dynamo_db_to_query).",
)
@click.option(
    "--s3-bucket-to-upload-to",
    "--s3_bucket_to_upload_to",
    "s3_bucket_to_upload_to",
    metavar="BUCKET",
    help="The flock's inputs bucket, for New batch (profile: shepard_cli_s3_bucket_to_upload_to).",
)
@click.option(
    "--s3-bucket-for-results",
    "--s3_bucket_for_results",
    "s3_bucket_for_results",
    metavar="BUCKET",
    help="The flock's outputs bucket, for downloads (profile: shepard_cli_s3_bucket_for_results).",
)
@click.option(
    "--errors-bucket",
    "--errors_bucket",
    "errors_bucket",
    metavar="BUCKET",
    help="The flock's errors bucket: error zips and rejection reports (profile: shepard_cli_errors_bucket).",
)
@click.option(
    "--scheduler-queue-url",
    "--scheduler_queue_url",
    "scheduler_queue_url",
    metavar="URL",
    help="The flock's scheduler queue, for Run again (profile: shepard_cli_scheduler_queue_url).",
)
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="Port on 127.0.0.1 (default: a free one)."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the app in the web browser.")
@aws_command
def ui(
    aws: Aws,
    dynamo_db_to_query: str | None,
    s3_bucket_to_upload_to: str | None,
    s3_bucket_for_results: str | None,
    errors_bucket: str | None,
    scheduler_queue_url: str | None,
    port: int,
    open_browser: bool,  # noqa: FBT001
) -> None:
    """Serve the flock's web app on 127.0.0.1 until Ctrl-C: overview, jobs, batch, logs, results.

    The printed URL holds a random token: only a browser that opened it may use the app.
    Works with a flock on AWS and with a local one (`shepard local up`).

    \b
    Example:
      shepard ui --open
      shepard ui --port 8765
    """
    if not _ui_available():
        raise CliError("`shepard ui` needs the shepard-ui package, which is not installed", INSTALL_HINT)
    from shepard_ui import Flock, FlockNames, Secrets, app_url, bind, create_app, serve
    from shepard_ui._run_again import load_run_again

    settings = click.get_current_context().find_object(Settings)
    names = FlockNames(
        table=required(dynamo_db_to_query, "dynamo_db_to_query"),
        inputs_bucket=s3_bucket_to_upload_to or None,
        outputs_bucket=s3_bucket_for_results or None,
        errors_bucket=errors_bucket or None,
        scheduler_queue_url=scheduler_queue_url or None,
        profile_name=settings.profile_name if settings is not None else None,
        endpoint_url=aws.access.endpoint_url,
    )
    try:
        listener = bind(port)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})", "Pick another --port") from None
    bound = int(listener.getsockname()[1])
    secrets = Secrets.new()
    app = create_app(Flock(names, aws), secrets, bound, run_again=load_run_again())
    url = app_url(bound, secrets)
    click.echo(f"Shepard UI for table {names.table}: {url}")
    click.echo("Open that URL (it holds the token); Ctrl-C stops the server.")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    serve(listener, app)
    click.echo("Stopped.")
