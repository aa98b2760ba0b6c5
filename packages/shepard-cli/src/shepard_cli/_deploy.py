"""deploy: build the payload image, nest it as a tar inside the worker image, log in and push it."""

from __future__ import annotations

import base64
import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlparse

from shepard_core import Setting

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import docker
    from mypy_boto3_ecr import ECRClient

DOCKERFILE_NAMES: Final = ("Dockerfile", "Dockerfile.txt")
DEFAULT_WORKER_IMAGE: Final = "shepard-worker:latest"
PAYLOAD_TAR_PATH: Final = "/opt/shepard/payload.tar"
PAYLOAD_LABEL: Final = "org.shepard.payload-image"
PAYLOAD_ENV: Final = Setting.PAYLOAD_IMAGE.value


def find_dockerfile(folder: Path) -> str:
    """Return the name of the folder's Dockerfile; refuse a folder with both or neither."""
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder", "Give the folder holding your Dockerfile")
    present = [name for name in DOCKERFILE_NAMES if (folder / name).is_file()]
    if len(present) == 2:  # noqa: PLR2004 - both names
        raise CliError(
            f"{folder} has both a Dockerfile and a Dockerfile.txt",
            "Keep one of them so the build is unambiguous",
        )
    if not present:
        raise CliError(f"{folder} has no Dockerfile or Dockerfile.txt", "Add one that builds your payload")
    return present[0]


def nested_dockerfile(worker_image: str, payload_image: str) -> str:
    """Return the Dockerfile of the nested image: the worker image plus the payload image's tar."""
    return (
        f"FROM {worker_image}\n"
        f"COPY payload.tar {PAYLOAD_TAR_PATH}\n"
        f'LABEL {PAYLOAD_LABEL}="{payload_image}"\n'
        f'ENV {PAYLOAD_ENV}="{payload_image}"\n'
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Registry:
    """Where to push: the registry host and the credentials for it (None when it needs none)."""

    host: str
    username: str | None = None
    password: str | None = None

    def auth_config(self) -> dict[str, str] | None:
        """Return the docker SDK's auth_config for this registry."""
        if self.username is None or self.password is None:
            return None
        return {"username": self.username, "password": self.password}


def ecr_registry(ecr: ECRClient, override: str | None = None) -> Registry:
    """Return the flock's registry from ECR's authorization token (the override's host, if given)."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    endpoint = data.get("proxyEndpoint", "")
    host = override or urlparse(endpoint).netloc or endpoint
    return Registry(host=host, username=username, password=password)


def _stream(lines: Iterable[dict[str, Any]], on_line: Callable[[dict[str, Any]], None]) -> None:
    failure: str | None = None
    for line in lines:  # read to the end even after an error, so the engine's connection is released
        if "error" in line or "errorDetail" in line:
            detail = line.get("errorDetail", {}).get("message") or line.get("error")
            failure = failure or str(detail).strip()
        elif failure is None:
            on_line(line)
    if failure is not None:
        raise CliError(f"Docker failed: {failure}", "Fix the cause above and deploy again")


def build_image(
    client: docker.DockerClient,
    folder: Path,
    dockerfile: str,
    tag: str,
    on_line: Callable[[dict[str, Any]], None],
) -> None:
    """Build `folder` with `dockerfile` into `tag`, sending each build message to `on_line`.

    Intermediate containers are removed whether the build succeeds or fails (`forcerm`).
    """
    lines = client.api.build(
        path=str(folder), dockerfile=dockerfile, tag=tag, rm=True, forcerm=True, decode=True, pull=False
    )
    _stream(lines, on_line)


def save_image(client: docker.DockerClient, image: str, destination: Path) -> int:
    """Write `docker save image` to `destination` and return its size in bytes."""
    with destination.open("wb") as f:
        for chunk in client.images.get(image).save(named=True):
            f.write(chunk)
    return destination.stat().st_size


def push_image(
    client: docker.DockerClient,
    repository: str,
    tag: str,
    registry: Registry,
    on_line: Callable[[dict[str, Any]], None],
) -> None:
    """Push `repository:tag` with the registry's credentials, sending each progress message to `on_line`."""
    auth = registry.auth_config()
    if auth is not None:
        client.login(
            username=auth["username"], password=auth["password"], registry=registry.host, reauth=True
        )
    lines = client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth)
    _stream(lines, on_line)


def check_worker_image(client: docker.DockerClient, worker_image: str) -> None:
    """Refuse to deploy when the worker image is not in the local engine."""
    import docker.errors

    try:
        client.images.get(worker_image)
    except docker.errors.ImageNotFound:
        raise CliError(
            f"the worker image {worker_image} is not in your Docker engine",
            "Build it from packages/shepard-worker/docker, or pass --worker-image",
        ) from None


def deploy(  # noqa: PLR0913 - the parts of a deployment
    client: docker.DockerClient,
    folder: Path,
    *,
    repository: str,
    registry: Registry,
    worker_image: str = DEFAULT_WORKER_IMAGE,
    tag: str = "latest",
    on_line: Callable[[dict[str, Any]], None] = lambda _line: None,
    on_step: Callable[[str], None] = lambda _step: None,
) -> str:
    """Build, nest and push the flock's image; return the reference pushed (`host/repo:tag`)."""
    dockerfile = find_dockerfile(folder)
    check_worker_image(client, worker_image)
    target = f"{registry.host}/{repository}"
    payload = f"shepard-payload/{repository}:{tag}"
    on_step(f"Building the payload image {payload} from {folder / dockerfile}")
    build_image(client, folder, dockerfile, payload, on_line)
    with tempfile.TemporaryDirectory(prefix="shepard-deploy-") as scratch:
        context = Path(scratch)
        size = save_image(client, payload, context / "payload.tar")
        on_step(f"Saved the payload image ({size / 1e6:,.1f} MB); nesting it in {worker_image}")
        (context / "Dockerfile").write_text(nested_dockerfile(worker_image, payload), encoding="utf-8")
        build_image(client, context, "Dockerfile", f"{target}:{tag}", on_line)
    on_step(f"Pushing {target}:{tag}")
    push_image(client, target, tag, registry, on_line)
    return f"{target}:{tag}"
