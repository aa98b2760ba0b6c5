"""The `shepard` click group: lazy commands, global options, profile defaults, one-line errors, `local`."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any, Final

import click

from shepard_cli import _registry
from shepard_cli._command import needs_profile
from shepard_cli._errors import explain
from shepard_cli._settings import Settings
from shepard_cli.profiles import ProfileStore, check_profile_name, option_defaults

LOCAL_MODULE: Final = "shepard_local"
"""The shepard-local package (`pip install shepard-local`); imported only when a `shepard local` command runs,
its click object `local` becomes `shepard local` (for example `shepard local up`)."""

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
        """Run a local flock (needs shepard-local: pip install shepard-local)."""
        raise click.ClickException(
            f"the local flock needs packages that are not installed ({missing}). "
            "Install them with: pip install shepard-local"
        )

    return local


class ShepardGroup(click.Group):
    """A group whose commands come from the registry, imported only when one runs or shows its help.

    It also accepts the underscore spellings of the original Shepard CLI (ginkgobioworks/shepard)
    and turns known failures into one line.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        """Build the group; registry commands are loaded into it on first use."""
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, click.Command] = {}

    def _canonical(self, cmd_name: str) -> str:
        name = _registry.ALIASES.get(cmd_name, cmd_name)
        if name in self.commands or name in _registry.BY_NAME or name == _registry.LOCAL:
            return name
        return name.replace("_", "-")

    def _load(self, name: str) -> click.Command | None:
        if name not in self._loaded:
            entry = _registry.BY_NAME.get(name)
            if entry is None:
                return None
            module_name, _, attribute = entry.target.partition(":")
            loaded = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(loaded, click.Command):  # pragma: no cover - the registry names commands
                raise TypeError(f"{entry.target} is not a click command")
            self._loaded[name] = loaded
        return self._loaded[name]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command for `cmd_name`, its hyphenated form or its alias; load it on demand."""
        name = self._canonical(cmd_name)
        command = super().get_command(ctx, name) or self._load(name)
        if command is None and name == _registry.LOCAL:
            command = _load_local()
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the hyphenated command names, with `local` when the extra is installed."""
        names = {*super().list_commands(ctx), *_registry.BY_NAME}
        if _local_available():
            names.add(_registry.LOCAL)
        return sorted(names)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the command list from the registry's short help, importing no command module."""
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            entry = _registry.BY_NAME.get(name)
            if entry is not None:
                rows.append((name, entry.summary))
            elif name == _registry.LOCAL:
                rows.append((name, _registry.LOCAL_SUMMARY))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.help or command.short_help or ""))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                # A bare command holding the summary shortens it exactly as the real one would.
                formatter.write_dl(
                    [(name, click.Command(name, help=text).get_short_help_str(limit)) for name, text in rows]
                )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the group's options; a command's options given before the command are moved after it.

        The original Shepard CLI's usage is `shepard_cli [OPTIONS] [COMMAND]`, so older scripts may put a
        command's options (`--s3_bucket_to_upload_to B batch`) before the command's name.
        """
        return super().parse_args(ctx, self._command_options_after_command(ctx, args))

    def _command_options_after_command(self, ctx: click.Context, args: list[str]) -> list[str]:
        own = {
            name: not param.is_flag
            for param in self.get_params(ctx)
            if isinstance(param, click.Option)
            for name in (*param.opts, *param.secondary_opts)
        }
        if not self._has_foreign_leading_option(args, own):
            return args  # no command's option before the command: no command module is loaded
        theirs: dict[str, bool] = {}
        for entry in _registry.COMMANDS:
            command = self._load(entry.name)
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

    @staticmethod
    def _has_foreign_leading_option(args: list[str], own: dict[str, bool]) -> bool:
        index = 0
        while index < len(args) and args[index].startswith("-") and args[index] != "--":
            name, has_value_inline = args[index].split("=", 1)[0], "=" in args[index]
            if name not in own:
                return True
            index += 2 if own[name] and not has_value_inline else 1
        return False

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
    invoked = ctx.invoked_subcommand
    command = None if invoked is None else ctx.command.get_command(ctx, invoked)  # type: ignore[attr-defined]
    # A missing or broken current profile must not lock out the commands that fix it.
    wants_current = use_env_variables and invoked is not None and needs_profile(command)
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
    if invoked is not None and command is not None:
        # The profile's values become the invoked command's option defaults: a flag still beats them.
        names = (param.name for param in command.params if param.name is not None)
        ctx.default_map = {invoked: option_defaults(settings.profile, names)}


def main() -> None:
    """Run the shepard command line."""
    from pathlib import Path

    cli(prog_name=Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "shepard")
