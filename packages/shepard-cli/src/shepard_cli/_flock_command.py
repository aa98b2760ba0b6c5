"""The `shepard build-flock` command: a thin click layer over shepard_cli._flock."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# ruff: noqa: D301

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from shepard_cli._app import aws_command, cli, pass_settings
from shepard_cli._profiles import check_profile_name

if TYPE_CHECKING:
    from shepard_cli._aws import Aws
    from shepard_cli._settings import Settings


def _default_template() -> Path | None:
    for folder in (Path.cwd(), *Path.cwd().parents):
        candidate = folder / "cloudformation" / "shepard.yml"
        if candidate.is_file():
            return candidate
    return None


@cli.command("build-flock")
@click.argument("stack")
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The generated shepard.yml (default: the nearest cloudformation/shepard.yml).",
)
@click.option(
    "--parameter",
    "-p",
    "parameters",
    multiple=True,
    metavar="KEY=VALUE",
    help="A template parameter; repeat for each (see cloudformation/README.md).",
)
@click.option(
    "--staging-bucket",
    metavar="BUCKET",
    help="An existing S3 bucket to stage the template in (it is over CloudFormation's inline limit).",
)
@click.option(
    "--save-profile",
    metavar="NAME",
    help="Write a profile NAME filled from the stack's outputs, and make it the current one.",
)
@aws_command
@pass_settings
def build_flock(  # noqa: PLR0913, PLR0917 - click passes one parameter per option
    settings: Settings,
    aws: Aws,
    stack: str,
    template: Path | None,
    parameters: tuple[str, ...],
    staging_bucket: str | None,
    save_profile: str | None,
) -> None:
    """Create a flock's stack, or update it, from the template; wait for it; show its outputs.

    The template is staged in S3 first, since it is larger than CloudFormation takes inline.

    \b
    Example:
      shepard build-flock my-flock --staging-bucket my-cfn-staging \\
        -p InputsBucket=my-inputs -p OutputsBucket=my-outputs \\
        -p ErrorsBucket=my-errors -p QuickDeployBucket=my-quick-deploy --save-profile my-flock
    """
    from shepard_cli._errors import CliError
    from shepard_cli._flock import build_flock as build
    from shepard_cli._flock import parse_parameters, profile_from_outputs

    template = template or _default_template()
    if template is None:
        raise CliError("no cloudformation/shepard.yml here or above", "Pass --template PATH")
    if save_profile is not None:
        check_profile_name(save_profile)
    cloudformation = aws.client("cloudformation")
    region = cloudformation.meta.region_name
    click.echo(f"Building stack {stack} from {template} (this can take 20-30 minutes on AWS)...")
    result = build(
        cloudformation,
        aws.client("s3"),
        stack=stack,
        template=template,
        parameters=parse_parameters(parameters),
        staging_bucket=staging_bucket,
        region=region,
    )
    click.echo(f"Stack {stack} {result.action}: {result.status}")
    for key, value in sorted(result.outputs.items()):
        click.echo(f"  {key} = {value}")
    if save_profile is not None:
        profile = profile_from_outputs(stack, result.outputs)
        if aws.access.endpoint_url:
            profile["shepard_cli_endpoint_url"] = aws.access.endpoint_url
        if region:
            profile["shepard_cli_region"] = region
        path = settings.store.save(save_profile, profile)
        settings.store.set_current(save_profile)
        click.echo(f"Profile {save_profile} written to {path} and made current.")
