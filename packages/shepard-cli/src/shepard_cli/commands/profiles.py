"""The profile commands: configure, check-, set- and delete-profile, where-am-i, clear-profile-config."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from shepard_cli._command import command, pass_settings
from shepard_cli._errors import CliError
from shepard_cli.profiles import PATH_ATTRIBUTES, PROFILE_ATTRIBUTES, check_profile_name

if TYPE_CHECKING:
    from shepard_cli._settings import Settings

_PROFILE_NAME: Final = click.option(
    "--profile-name", "--profile_name", "profile_name", metavar="NAME", help="The profile to act on."
)


def _name(argument: str | None, option: str | None) -> str:
    name = option or argument
    if not name:
        raise CliError("no profile name given", "Pass it as an argument or with --profile-name")
    return check_profile_name(name)


@command("configure", needs_profile=False)
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


@command("check-profile", needs_profile=False)
@pass_settings
def check_profile(settings: Settings) -> None:
    """List the profiles (the current one underlined) and show the current one's attributes.

    \b
    Example:
      shepard check-profile
    """
    from shepard_cli._render import stdout

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


@command("set-profile", needs_profile=False)
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


@command("delete-profile", needs_profile=False)
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


@command("where-am-i", needs_profile=False)
@pass_settings
def where_am_i(settings: Settings) -> None:
    """Print the folder holding the profiles (set SHEPARD_CLI_HOME to move it); files dropped in are used.

    \b
    Example:
      shepard where-am-i
    """
    click.echo(str(settings.store.home))


@command("clear-profile-config", needs_profile=False)
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
