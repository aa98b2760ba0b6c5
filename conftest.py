"""Fixtures shared by every package's tests: fake AWS credentials, a moto server, a Docker engine."""

from __future__ import annotations

import os
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUIRE_DOCKER_VAR = "SHEPARD_REQUIRE_DOCKER"
LOCAL_ENGINE_SOCKET = "/tmp/shepard-docker/docker.sock"  # noqa: S108 - where scripts/docker-engine.sh starts one


def pytest_configure(config: pytest.Config) -> None:
    """Point every AWS client at fake credentials before any client exists."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    if "DOCKER_HOST" not in os.environ and os.path.exists(LOCAL_ENGINE_SOCKET):  # noqa: PTH110
        os.environ["DOCKER_HOST"] = f"unix://{LOCAL_ENGINE_SOCKET}"


class MotoServer:
    """A moto server in a thread on 127.0.0.1, reset between tests."""

    def __init__(self) -> None:
        """Start the server on a free port."""
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every resource the last test made."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request).close()  # noqa: S310

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply moto's runtime configuration (for example Batch without Docker)."""
        import json

        request = urllib.request.Request(  # noqa: S310
            f"{self.url}/moto-api/config",
            data=json.dumps(settings).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request).close()  # noqa: S310

    def stop(self) -> None:
        """Stop the server thread."""
        self._server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """Yield one moto server for the whole session."""
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def aws_endpoint(moto_server: MotoServer) -> str:
    """Return the URL of a freshly reset moto server; Batch jobs there skip Docker."""
    moto_server.reset()
    moto_server.configure({"batch": {"use_docker": False}})
    return moto_server.url


def _docker_unavailable_reason() -> str | None:
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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip `requires_docker` tests without an engine, or fail them when CI demands an engine."""
    if item.get_closest_marker("requires_docker") is None:
        return
    reason = _docker_unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_DOCKER_VAR) == "1":
        pytest.fail(f"{REQUIRE_DOCKER_VAR}=1 but {reason}", pytrace=False)
    pytest.skip(reason)
