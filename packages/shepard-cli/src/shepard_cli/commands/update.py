"""The `shepard check-update` command (the original Shepard's `update`): is a newer shepard-cli out?"""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

import click

from shepard_cli._command import command


@command("check-update", needs_profile=False)
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
