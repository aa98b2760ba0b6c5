"""The `shepard` click group: global options, underscore aliases, one-line errors, the `local` hook."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

import functools
import importlib
import importlib.util
from typing import TYPE_CHECKING, Any, Final

import click

from shepard_cli._errors import explain
from shepard_cli._profiles import ProfileStore, check_profile_name
from shepard_cli._settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from shepard_cli._aws import Aws

LOCAL_MODULE: Final = "shepard_local"
"""The shepard-local package (`shepard-cli[local]`); imported only when a `shepard local` command runs,
its click object `local` becomes `shepard local` (for example `shepard local up`)."""

EXTRA_ALIASES: Final = {"update": "check-update"}
CONTEXT_SETTINGS: Final = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _local_available() -> bool:
    try:
        return importlib.util.find_spec(LOCAL_MODULE) is not None
    except (ImportError, ValueError):
        return False


def _load_local() -> click.Command | None:
    if not _local_available():
        return _missing_local_extra(None)
    try:
        module = importlib.import_module(LOCAL_MODULE)
    except ImportError as exc:
        return _missing_local_extra(exc)
    command = getattr(module, "local", None)
    return command if isinstance(command, click.Command) else None


def _missing_local_extra(exc: ImportError | None) -> click.Command:
    missing = "shepard-local" if exc is None else exc.name or str(exc)

    @click.command(name="local", context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def local(args: tuple[str, ...]) -> None:  # noqa: ARG001 - accepts whatever was meant for `local`
        """Run a local flock (needs the `local` extra: pip install 'shepard-cli[local]')."""
        raise click.ClickException(
            f"the local flock needs packages that are not installed ({missing}). "
            "Install them with: pip install 'shepard-cli[local]'"
        )

    return local


class ShepardGroup(click.Group):
    """A group that accepts the seed's underscore spellings and turns known failures into one line."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command for `cmd_name`, its hyphenated form or its alias; load `local` on demand."""
        name = EXTRA_ALIASES.get(cmd_name, cmd_name)
        command = super().get_command(ctx, name) or super().get_command(ctx, name.replace("_", "-"))
        if command is None and name == "local":
            command = _load_local()
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the hyphenated command names, with `local` when the extra is installed."""
        names = super().list_commands(ctx)
        if "local" not in names and _local_available():
            names = sorted([*names, "local"])
        return names

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the group's options; a command's options given before the command are moved after it.

        The seed's usage is `shepard_cli [OPTIONS] [COMMAND]`, so older scripts may put a command's
        options (`--s3_bucket_to_upload_to B batch`) before the command's name.
        """
        return super().parse_args(ctx, self._command_options_after_command(ctx, args))

    def _command_options_after_command(self, ctx: click.Context, args: list[str]) -> list[str]:
        own = {
            name: not param.is_flag
            for param in self.params
            if isinstance(param, click.Option)
            for name in param.opts
        }
        theirs: dict[str, bool] = {}
        for command_name in super().list_commands(ctx):
            command = super().get_command(ctx, command_name)
            for param in command.params if command is not None else ():
                if isinstance(param, click.Option):
                    theirs |= dict.fromkeys(param.opts, not param.is_flag)
        kept: list[str] = []
        moved: list[str] = []
        index = 0
        while index < len(args) and args[index].startswith("-") and args[index] != "--":
            token = args[index]
            name, has_value_inline = token.split("=", 1)[0], "=" in token
            target = moved if name in theirs and name not in own else kept
            takes_value = theirs.get(name, False) if target is moved else own.get(name, False)
            width = 2 if takes_value and not has_value_inline else 1
            target.extend(args[index : index + width])
            index += width
        if not moved or index >= len(args):
            return args
        return [*kept, args[index], *moved, *args[index + 1 :]]

    def invoke(self, ctx: click.Context) -> Any:  # noqa: ANN401 - whatever the command returns
        """Run the command; user mistakes and AWS or Docker failures end in one line, exit code 1."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None


@click.group(cls=ShepardGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--profile",
    "profile",
    metavar="NAME",
    help="Use this profile for this command instead of the current one.",
)
@click.option(
    "--endpoint-url",
    "--endpoint_url",
    "endpoint_url",
    metavar="URL",
    help="AWS endpoint of a local flock (default: $AWS_ENDPOINT_URL, then the profile's).",
)
@click.option(
    "--use-env-variables",
    "--use_env_variables",
    "use_env_variables",
    type=click.BOOL,
    default=True,
    show_default=True,
    help="False: act as if no profile were set.",
)
@click.version_option(package_name="shepard-cli", prog_name="shepard")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, endpoint_url: str | None, use_env_variables: bool) -> None:  # noqa: FBT001
    """Deploy code to a Shepard flock, batch jobs, query them and fetch their results.

    Options of each command may be spelled with hyphens or, as in older scripts, underscores;
    commands too (batch-via-api or batch_via_api); a command's options may also come before its
    name. A flag beats the profile; the profile beats the default.

    \b
    Example:
      shepard configure my-flock
      shepard batch --path-to-local-folder-to-batch ./job
      shepard query --status active
    """
    store = ProfileStore()
    settings = Settings(store=store, endpoint_url=endpoint_url)
    # A missing or broken current profile must not lock out the commands that fix it.
    wants_current = use_env_variables and not _names_no_profile(ctx.invoked_subcommand)
    name = profile if profile is not None else (store.current() if wants_current else None)
    if name is not None:
        try:
            settings.profile = store.load(check_profile_name(name))
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None
        settings.profile_name = name
    ctx.obj = settings


pass_settings = click.make_pass_decorator(Settings)

PROFILE_FREE_COMMANDS: Final = frozenset(
    {
        "configure",
        "check-profile",
        "set-profile",
        "delete-profile",
        "where-am-i",
        "clear-profile-config",
        "check-role",
        "release-role",
        "check-update",
        "help",
    }
)
"""Commands that manage profiles or need none: they run without loading the current profile."""


def _names_no_profile(command: str | None) -> bool:
    if command is None:
        return False
    name = EXTRA_ALIASES.get(command, command).replace("_", "-")
    return name in PROFILE_FREE_COMMANDS


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
        help="False: act as if no profile were set (as the global option).",
    ),
)


def aws_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the role and endpoint options to a command and hand it an `aws` client factory instead."""

    @functools.wraps(func)
    def wrapper(  # noqa: PLR0913 - the seed's access options
        *args: Any,  # noqa: ANN401
        account_number: str | None,
        role_to_assume_to_target_account: str | None,
        dont_assume: bool | None,
        mfa_token: str | None,
        serial_number: str | None,
        endpoint_url: str | None,
        use_env_variables: bool | None,
        **kwargs: Any,  # noqa: ANN401
    ) -> Any:  # noqa: ANN401
        settings = click.get_current_context().find_object(Settings)
        if settings is None:  # pragma: no cover - the group always sets it
            raise RuntimeError("command run outside the shepard group")
        if use_env_variables is False:
            settings.profile, settings.profile_name = {}, None
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
