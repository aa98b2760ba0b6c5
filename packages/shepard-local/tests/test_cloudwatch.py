"""Job log streams: created once however many executor threads start jobs at the same moment."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import boto3
from botocore.errorfactory import ClientExceptionsFactory
from shepard_local._cloudwatch import LOG_GROUP, LogStream

if TYPE_CHECKING:
    import pytest


class TestLogStream:
    def test_threads_sharing_a_fresh_client_all_get_their_stream(
        self, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
    ):
        """Sixteen threads opening streams through one new client at once all succeed, and lines arrive."""
        # GIVEN a fresh client shared by sixteen threads, whose exception classes botocore builds
        # lazily (slowed down here, so every thread races to build its own set, as can happen anyway)
        build = ClientExceptionsFactory._create_client_exceptions

        def slow_build(factory: ClientExceptionsFactory, model: object) -> object:
            time.sleep(0.05)
            return build(factory, model)

        monkeypatch.setattr(ClientExceptionsFactory, "_create_client_exceptions", slow_build)
        session = boto3.session.Session(region_name="us-east-1")
        logs = session.client("logs", endpoint_url=aws_endpoint)
        start = threading.Barrier(16)
        failures: list[BaseException] = []

        def open_stream(number: int) -> None:
            start.wait()
            try:
                stream = LogStream(logs, f"job/{number}")
                stream.add(f"line from {number}")
                stream.flush()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                failures.append(exc)

        # WHEN they open their streams at the same moment
        threads = [threading.Thread(target=open_stream, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # THEN none failed, and each stream holds its line
        assert failures == []
        events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName="job/7")["events"]
        assert [event["message"] for event in events] == ["line from 7"]
