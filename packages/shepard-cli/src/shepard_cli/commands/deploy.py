"""The `shepard deploy` command: build the payload into the worker image and push it."""

# Click keeps help paragraphs unwrapped after a "\b" (backspace) line: docstrings must not be raw.
# Click passes parameters by keyword, so a command may have many.
# ruff: noqa: D301, PLR0917, PLR0913

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from shepard_cli._command import aws_command, command, local_path, required

if TYPE_CHECKING:
    from shepard_cli._aws import Aws


@command("deploy")
@click.option(
    "--path-to-docker-folder",
    "--path_to_docker_folder",
    "path_to_docker_folder",
    metavar="DIR",
    help="Folder with a Dockerfile or Dockerfile.txt (not both).",
)
@click.option(
    "--ecr-repo-to-push-to",
    "--ecr_repo_to_push_to",
    "ecr_repo_to_push_to",
    metavar="REPO",
    help="The flock's ECR repository name.",
)
@click.option(
    "--worker-image",
    "--worker_image",
    "worker_image",
    default=None,
    metavar="IMAGE",
    help="Local worker image to nest the payload in (default: shepard-worker:latest).",
)
@click.option("--tag", default="latest", show_default=True, help="Tag to push.")
@click.option(
    "--registry",
    metavar="HOST[:PORT]",
    help="Push here instead of ECR's registry, e.g. a local flock's 127.0.0.1:5000 "
    "(profile: shepard_cli_registry).",
)
@aws_command
def deploy(
    aws: Aws,
    path_to_docker_folder: str | None,
    ecr_repo_to_push_to: str | None,
    worker_image: str | None,
    tag: str,
    registry: str | None,
) -> None:
    """Build your code into the flock's worker image and push it: new jobs run it.

    Builds the folder's Dockerfile (or Dockerfile.txt) into a payload image, saves it as a tar inside
    the worker image, logs in to ECR and pushes the result.

    \b
    Example:
      shepard deploy --path-to-docker-folder ./my-code --ecr-repo-to-push-to my-flock-repo
    """
    import docker

    from shepard_cli import _deploy
    from shepard_cli._render import PushProgress
    from shepard_cli.engine import adopt_local_engine

    folder = local_path(required(path_to_docker_folder, "path_to_docker_folder"))
    _deploy.find_dockerfile(folder)
    repository = required(ecr_repo_to_push_to, "ecr_repo_to_push_to")
    override = registry or None
    ecr = aws.client("ecr")
    if override is None:
        ecr.describe_repositories(repositoryNames=[repository])
    target_registry = _deploy.ecr_registry(ecr, override)
    adopt_local_engine()
    client = docker.from_env()
    try:
        with PushProgress() as progress:
            reference = _deploy.deploy(
                client,
                folder,
                repository=repository,
                registry=target_registry,
                worker_image=worker_image or _deploy.DEFAULT_WORKER_IMAGE,
                tag=tag,
                on_line=progress.line,
                on_step=progress.step,
            )
    finally:
        client.close()
    click.echo(f"Deployed {reference}")
