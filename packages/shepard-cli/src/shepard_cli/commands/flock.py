"""The flock commands: build-flock (its CloudFormation stack), describe and secretify."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from shepard_cli._command import (
    OUTPUT_OPTION,
    aws_command,
    command,
    local_path,
    pass_settings,
    print_json,
    required,
)
from shepard_cli.profiles import ENDPOINT_ATTRIBUTE, REGION_ATTRIBUTE, check_profile_name

if TYPE_CHECKING:
    from shepard_cli._aws import Aws
    from shepard_cli._settings import Settings


@command("build-flock")
@click.argument("stack")
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The generated shepard.yml (default: $SHEPARD_TEMPLATE, the nearest cloudformation/shepard.yml, "
    "else the one shepard-flock ships).",
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
def build_flock(
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
    from shepard_flock import find_template, profile_from_stack

    from shepard_cli._stack_build import build_stack, parse_parameters

    template = template or find_template()
    if save_profile is not None:
        check_profile_name(save_profile)
    cloudformation = aws.client("cloudformation")
    region = cloudformation.meta.region_name
    click.echo(f"Building stack {stack} from {template} (this can take 20-30 minutes on AWS)...")
    result = build_stack(
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
        profile = profile_from_stack(stack, result.outputs)
        if aws.access.endpoint_url:
            profile[ENDPOINT_ATTRIBUTE] = aws.access.endpoint_url
        if region:
            profile[REGION_ATTRIBUTE] = region
        path = settings.store.save(save_profile, profile)
        settings.store.set_current(save_profile)
        click.echo(f"Profile {save_profile} written to {path} and made current.")


@command("describe")
@click.option(
    "--cloudformation-to-describe",
    "--cloudformation_to_describe",
    "cloudformation_to_describe",
    metavar="STACK",
    help="The flock's stack name (profile: shepard_cli_cloudformation_to_describe).",
)
@OUTPUT_OPTION
@aws_command
def describe(aws: Aws, cloudformation_to_describe: str | None, output: str) -> None:
    """Show the flock's stack: status, parameters, outputs, resources and its dashboard's URL.

    \b
    Example:
      shepard describe --cloudformation-to-describe my-flock
    """
    from shepard_cli._describe import describe_stack

    stack = required(cloudformation_to_describe, "cloudformation_to_describe")
    document = describe_stack(aws.client("cloudformation"), stack)
    if output == "json":
        print_json(document)
        return
    from shepard_cli._render import stack_tables

    stack_tables(document)
    if document["dashboard_url"]:
        click.echo(f"Dashboard: {document['dashboard_url']}")


@command("secretify")
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
def secretify(aws: Aws, path_to_local_secrets: str | None, secret_store: str | None) -> None:
    """Store a folder's files in the flock's secret; jobs find them in $ROOT_INPUT_NAME/secrets.

    Each file becomes one key (its name) holding its bytes in base64. The secret is replaced.

    \b
    Example:
      shepard secretify --path-to-local-secrets ./secrets --secret-store my-flock-secrets
    """
    from shepard_cli import _secrets
    from shepard_cli._render import warn

    folder = local_path(required(path_to_local_secrets, "path_to_local_secrets"))
    secret_id = required(secret_store, "secret_store")
    document = _secrets.secret_document(folder)
    text = _secrets.secret_string(document)
    if _secrets.near_limit(text):
        warn(
            f"the secret is {len(text.encode()):,} of the {_secrets.SECRET_LIMIT_BYTES:,} bytes "
            "Secrets Manager allows; it cannot grow much more"
        )
    version = _secrets.put_secret(aws.client("secretsmanager"), secret_id, text)
    click.echo(f"Stored {len(document)} file(s) in secret {secret_id} (version {version})")
