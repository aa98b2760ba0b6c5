"""The pytest plugin every Shepard test run loads: fake AWS credentials, moto fixtures, `requires_*` marks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from shepard_flock import LambdaContext

from shepard_testing._browser import REQUIRE_BROWSER_VAR, browser_unavailable_reason
from shepard_testing._docker import REQUIRE_DOCKER_VAR, docker_unavailable_reason
from shepard_testing._environment import use_fake_aws_credentials, use_local_docker_engine

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shepard_testing._batch_gate import BatchJobGate
    from shepard_testing._moto import MotoServer


def pytest_configure(config: pytest.Config) -> None:
    """Set fake AWS credentials before any client exists, find the local engine, declare the markers."""
    use_fake_aws_credentials()
    use_local_docker_engine()
    config.addinivalue_line(
        "markers",
        f"requires_docker: needs a reachable Docker engine (skipped without one; a failure when "
        f"{REQUIRE_DOCKER_VAR}=1)",
    )
    config.addinivalue_line(
        "markers",
        f"requires_browser: drives headless Chromium (skipped without chromium, chromedriver and selenium; "
        f"a failure when {REQUIRE_BROWSER_VAR}=1)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip `requires_docker` and `requires_browser` tests that cannot run here; fail them if CI demands."""
    checks = (
        ("requires_docker", REQUIRE_DOCKER_VAR, docker_unavailable_reason),
        ("requires_browser", REQUIRE_BROWSER_VAR, browser_unavailable_reason),
    )
    for marker, variable, unavailable in checks:
        if item.get_closest_marker(marker) is None:
            continue
        reason = unavailable()
        if reason is None:
            continue
        if os.environ.get(variable) == "1":
            pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """Yield one moto server for the whole session."""
    from shepard_testing._moto import MotoServer

    with MotoServer() as server:
        yield server


@pytest.fixture
def aws_endpoint(moto_server: MotoServer) -> str:
    """Return the URL of a freshly reset moto server; Batch jobs there skip Docker."""
    return moto_server.fresh()


@pytest.fixture
def lambda_context() -> LambdaContext:
    """Return a fresh Lambda context with a minute to go."""
    return LambdaContext()


@pytest.fixture
def batch_job_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchJobGate]:
    """Hold Batch jobs on the in-process moto server unended until `release()` (or the test's end)."""
    from shepard_testing._batch_gate import BatchJobGate

    with BatchJobGate(monkeypatch) as gate:
        yield gate


@pytest.fixture
def waiting_batch_job(aws_endpoint: str, batch_job_gate: BatchJobGate) -> Iterator[str]:
    """Return the Batch id of a job held waiting for an instance no compute environment can give.

    It needs NEEDS_VCPUS vCPUs from the m5 compute environment `flock-ce` behind the queue `flock-queue`.
    """
    from shepard_testing._environment import REGION
    from shepard_testing._waiting_batch_job import batch_job_waiting_for_an_instance

    with batch_job_waiting_for_an_instance(aws_endpoint, batch_job_gate, REGION) as job:
        yield job
