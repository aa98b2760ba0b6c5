"""The pieces every command is built from: its class, the AWS access options, required values."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

import click

from shepard_cli._errors import CliError
from shepard_cli._settings import Settings
from shepard_cli.profiles import ATTRIBUTE_OF_OPTION

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from shepard_core import JobStatus

    from shepard_cli._aws import Aws


class ShepardCommand(click.Command):
    """A command that declares whether it runs with the current profile loaded."""

    def __init__(self, *args: Any, needs_profile: bool = True, **kwargs: Any) -> None:  # noqa: ANN401
        """Build the command; `needs_profile=False` lets it run when the current profile is broken."""
        super().__init__(*args, **kwargs)
        self.needs_profile = needs_profile


def command(name: str, *, needs_profile: bool = True) -> Callable[[Callable[..., Any]], ShepardCommand]:
    """Return a decorator making a function the command `name` (see ShepardCommand for needs_profile)."""
    decorator: Callable[[Callable[..., Any]], ShepardCommand] = click.command(
        name, cls=ShepardCommand, needs_profile=needs_profile
    )
    return decorator


def needs_profile(command: click.Command | None) -> bool:
    """Return whether the command runs with the current profile (commands of other kinds do)."""
    return getattr(command, "needs_profile", True) is not False


pass_settings = click.make_pass_decorator(Settings)


def local_path(value: str) -> Path:
    """Return a user-given path with `~` expanded (profile values do not pass through a shell)."""
    from pathlib import Path

    return Path(value).expanduser()


def print_json(document: object) -> None:
    """Print a JSON document for scripts."""
    import json

    click.echo(json.dumps(document, indent=2, default=str))


def required(value: str | None, name: str) -> str:
    """Return the value (flag, else profile); if none was given, say which option and attribute give it."""
    if value:
        return value
    ctx = click.get_current_context()
    flag = next(
        (param.opts[0] for param in ctx.command.params if param.name == name and param.opts),
        f"--{name.replace('_', '-')}",
    )
    attribute = ATTRIBUTE_OF_OPTION.get(name)
    where = f" or set {attribute} in your profile (shepard configure)" if attribute else ""
    raise CliError(f"no value for {flag}", f"Pass {flag}{where}")


def _forget_profile(ctx: click.Context, _param: click.Parameter, value: bool | None) -> bool | None:  # noqa: FBT001
    """Drop the profile's defaults and settings when the command is told to act as if none were set."""
    if value is False:
        ctx.default_map = None
        settings = ctx.find_object(Settings)
        if settings is not None:
            settings.profile, settings.profile_name = {}, None
    return value


OUTPUT_OPTION: Final = click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: machine-readable output for scripts.",
)

STATUS_OPTION: Final = click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help="Only jobs with this status (repeatable): a group - submitted (waiting for AWS Batch), "
    "running (including uploading outputs or logs), complete, failed (ran and failed), rejected "
    "(refused before running; not part of failed) - or active (submitted and running), finished "
    "(complete, failed and rejected), or one JOB_STATUS value.",
)
"""The one `--status` option of every command that lists jobs: the same words select the same jobs."""


def parse_status_filter(words: tuple[str, ...]) -> frozenset[JobStatus] | None:
    """Return the statuses the `--status` words select (None: all), or raise CliError for unknown ones."""
    if not words:
        return None
    from shepard_core import UnknownStatusWordError, status_choices, statuses_for_words

    try:
        return statuses_for_words(words)
    except UnknownStatusWordError as exc:
        choices = ", ".join(repr(word) for word in status_choices())
        raise CliError(f"unknown status {exc.word!r}", f"Choose from {choices}") from None


_AWS_OPTIONS: Final = (
    click.option(
        "--account-number", "--account_number", "account_number", help="AWS account number of the flock."
    ),
    click.option(
        "--role-to-assume-to-target-account",
        "--role_to_assume_to_target_account",
        "role_to_assume_to_target_account",
        metavar="ROLE",
        help="Role (name or ARN) to assume in that account.",
    ),
    click.option(
        "--dont-assume",
        "--dont_assume",
        "dont_assume",
        type=click.BOOL,
        default=None,
        help="True: use your own credentials, assume no role.",
    ),
    click.option("--mfa-token", "--mfa_token", "mfa_token", help="Code from your MFA device."),
    click.option("--serial-number", "--serial_number", "serial_number", help="ARN of your MFA device."),
    click.option("--endpoint-url", "--endpoint_url", "endpoint_url", metavar="URL", help="AWS endpoint URL."),
    click.option(
        "--use-env-variables",
        "--use_env_variables",
        "use_env_variables",
        type=click.BOOL,
        default=None,
        is_eager=True,
        expose_value=False,
        callback=_forget_profile,
        help="False: act as if no profile were set (as the global option).",
    ),
)


def aws_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the role and endpoint options to a command and hand it an `aws` client factory instead."""

    @functools.wraps(func)
    def wrapper(  # noqa: PLR0913 - the original Shepard CLI's access options
        *args: Any,  # noqa: ANN401
        account_number: str | None,
        role_to_assume_to_target_account: str | None,
        dont_assume: bool | None,
        mfa_token: str | None,
        serial_number: str | None,
        endpoint_url: str | None,
        **kwargs: Any,  # noqa: ANN401
    ) -> Any:  # noqa: ANN401
        settings = click.get_current_context().find_object(Settings)
        if settings is None:  # pragma: no cover - the group always sets it
            raise RuntimeError("command run outside the shepard group")
        aws: Aws = settings.aws(
            endpoint_url=endpoint_url,
            account_number=account_number,
            role=role_to_assume_to_target_account,
            dont_assume=dont_assume,
            mfa_token=mfa_token,
            serial_number=serial_number,
        )
        return func(*args, aws=aws, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_AWS_OPTIONS):
        decorated = option(decorated)
    return decorated
