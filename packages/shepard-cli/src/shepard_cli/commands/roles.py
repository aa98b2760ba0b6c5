"""The role commands: set-role, release-role and check-role."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shepard_cli._command import aws_command, command, pass_settings
from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from shepard_cli._aws import Aws
    from shepard_cli._settings import Settings


@command("set-role")
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


@command("release-role", needs_profile=False)
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


@command("check-role", needs_profile=False)
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
