"""Fixtures of shepard-local's tests: the template shepard-flock ships, a moto server, the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING

import pytest
from shepard_local._control import LOCAL_CREDENTIALS, free_port

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


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator as `shepard local up` starts it: its own process on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    environment = {**os.environ, **LOCAL_CREDENTIALS}
    environment.pop("AWS_ENDPOINT_URL", None)
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            [sys.executable, "-m", "shepard_local._emulator", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the emulator did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield endpoint
    finally:
        # As `shepard local down` does: SIGTERM, and SIGKILL if the process has not exited by then (a
        # loaded machine can take longer than that to exit moto's server with thousands of items).
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
