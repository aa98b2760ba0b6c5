"""Fake AWS credentials and the local Docker engine's socket, set before any client exists."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import MutableMapping

REGION: Final = "us-east-1"
ACCOUNT: Final = "123456789012"
FAKE_AWS_ENVIRONMENT: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Where scripts/docker-engine.sh starts an engine when none is configured.
LOCAL_ENGINE_SOCKET: Final = Path("/tmp/shepard-docker/docker.sock")  # noqa: S108


def use_fake_aws_credentials(environ: MutableMapping[str, str] | None = None) -> None:
    """Point every AWS client made later at fake credentials in us-east-1, never at a real profile."""
    target = os.environ if environ is None else environ
    target.update(FAKE_AWS_ENVIRONMENT)
    target.pop("AWS_PROFILE", None)
    target.pop("AWS_ENDPOINT_URL", None)


def use_local_docker_engine(environ: MutableMapping[str, str] | None = None) -> None:
    """Set DOCKER_HOST to the local engine's socket when none is set and that socket exists."""
    target = os.environ if environ is None else environ
    if "DOCKER_HOST" not in target and LOCAL_ENGINE_SOCKET.exists():
        target["DOCKER_HOST"] = f"unix://{LOCAL_ENGINE_SOCKET}"
