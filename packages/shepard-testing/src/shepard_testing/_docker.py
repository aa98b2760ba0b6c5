"""Whether a Docker engine is reachable, and why not."""

from __future__ import annotations

REQUIRE_DOCKER_VAR = "SHEPARD_REQUIRE_DOCKER"


def docker_unavailable_reason() -> str | None:
    """Return why no Docker engine can be used here, or None when one answers a ping."""
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed"
    try:
        client = docker.from_env(timeout=5)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
        return f"no Docker engine reachable ({exc.__class__.__name__}: {exc})"
    return None
