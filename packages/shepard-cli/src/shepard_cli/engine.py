"""Find the Docker engine scripts/docker-engine.sh starts when DOCKER_HOST names none."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import MutableMapping

DEFAULT_SOCKET: Final = Path("/var/run/docker.sock")
LOCAL_ENGINE_SOCKET: Final = Path("/tmp/shepard-docker/docker.sock")  # noqa: S108 - scripts/docker-engine.sh's engine


def adopt_local_engine(
    environ: MutableMapping[str, str] | None = None,
    *,
    default_socket: Path | None = None,
    local_socket: Path | None = None,
) -> str | None:
    """Set DOCKER_HOST to scripts/docker-engine.sh's socket if unset and the default socket is missing.

    Returns the DOCKER_HOST value set, or None when `environ` (default: os.environ) was left alone.
    Child processes (the executor, the CLI commands the demo runs) inherit the setting.
    """
    environ = os.environ if environ is None else environ
    default_socket = DEFAULT_SOCKET if default_socket is None else default_socket
    local_socket = LOCAL_ENGINE_SOCKET if local_socket is None else local_socket
    if environ.get("DOCKER_HOST") or default_socket.exists() or not local_socket.is_socket():
        return None
    environ["DOCKER_HOST"] = f"unix://{local_socket}"
    return environ["DOCKER_HOST"]
