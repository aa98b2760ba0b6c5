"""Fixtures of shepard-local's tests: the template shepard-flock ships, and a moto server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def template() -> Path:
    """The generated shepard.yml shipped inside the installed shepard-flock package."""
    from shepard_flock import packaged_template

    path = packaged_template()
    assert path.is_file(), f"{path} is missing: run `nox -s template`"
    return path


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    """A moto server on a free port, with stand-in credentials in the environment."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()
