"""Fixtures of shepard-local's tests: the template shepard-flock ships, a moto server, the emulator."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def running_emulator(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start the emulator as `shepard local up` does, on a free port; yield its endpoint and process."""
    port = free_port()
    log = directory / "emulator.log"
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
        yield endpoint, process
    finally:
        # As `shepard local down` does: SIGTERM, and SIGKILL if the process has not exited by then (a
        # loaded machine can take longer than that to exit moto's server with thousands of items).
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def own_emulator(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """An emulator of this test alone: its endpoint and its process (which the test may pause)."""
    with running_emulator(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The emulator as `shepard local up` starts it: its own process on a free port."""
    with running_emulator(tmp_path_factory.mktemp("emulator")) as (endpoint, _process):
        yield endpoint


@pytest.fixture
def amended_items(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Amend moto's item writes, index queries and transactions as the emulator does, in this process.

    Return the number of items each index query started from its partition record (one entry a query).
    """
    import threading

    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from shepard_local import _emulator_index_query, _emulator_partition_index, _emulator_scaling

    picked: list[int] = []
    partition_items = _emulator_partition_index.partition_items

    def counted(table: object, conditions: list[tuple[str, object]]) -> list[object] | None:
        found = partition_items(table, conditions)
        if found is not None:
            picked.append(len(found))
        return found

    monkeypatch.setattr(_emulator_partition_index, "partition_items", counted)
    monkeypatch.setattr(Table, "put_item", _emulator_partition_index.recording_puts(Table.put_item))
    monkeypatch.setattr(Table, "delete_item", _emulator_partition_index.recording_deletes(Table.delete_item))
    monkeypatch.setattr(
        DynamoDBBackend,
        "update_item",
        _emulator_partition_index.recording_updates(DynamoDBBackend.update_item),
    )
    monkeypatch.setattr(dynamodb_models, "copy", _emulator_scaling._TablesKept(Table))
    monkeypatch.setattr(
        DynamoDBBackend,
        "transact_write_items",
        _emulator_scaling.journaled(DynamoDBBackend.transact_write_items, threading.RLock()),
    )
    monkeypatch.setattr(Table, "query", _emulator_index_query.from_matching_items(Table.query))
    return picked
