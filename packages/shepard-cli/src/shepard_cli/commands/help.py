"""The `shepard help` command: the group's own help, for those who type it as a command."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

import click

from shepard_cli._command import command


@command("help", needs_profile=False)
@click.pass_context
def help_(ctx: click.Context) -> None:
    """Show this list of commands.

    \b
    Example:
      shepard help
    """
    parent = ctx.parent
    click.echo(parent.get_help() if parent is not None else "")
