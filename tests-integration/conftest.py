"""A local flock shared by the integration tests, started and stopped with the real `shepard local` CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The helpers live in a module beside the tests, importable by every test file.
sys.path.insert(0, str(Path(__file__).parent))

from flock_testkit import EXAMPLES, TEMPLATE, Flock, shepard_command

if TYPE_CHECKING:
    from collections.abc import Iterator


BATCHING_WINDOW_SECONDS = 5
"""The integration flock's batching window: wider than the default second, so uploads from one test
client that trickle in still gather into arrays, yet a lone job waits at most a few seconds."""

ARRAYS_BATCHING_WINDOW_SECONDS = 30
"""The window of the flock that takes 2,000 uploads at once: a test client uploads 10-20 zips a second
on two cores, and a user batching thousands widens the window the same way."""


def _running_flock(
    tmp_path_factory: pytest.TempPathFactory, *, prefix: str, window_seconds: int
) -> Iterator[Flock]:
    """Start a local flock (process runtime, the quick-deploy example uploaded); stop it afterwards."""
    from shepard_local import LOCAL_CREDENTIALS, FlockState, local_session

    work = tmp_path_factory.mktemp(prefix)
    env = {
        **os.environ,
        **LOCAL_CREDENTIALS,
        "SHEPARD_CLI_HOME": str(work / "cli"),
        "SHEPARD_LOCAL_DIR": str(work / "local"),
        "SHEPARD_TEMPLATE": os.environ.get("SHEPARD_TEMPLATE", str(TEMPLATE)),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    up = subprocess.run(  # noqa: S603 - a fixed argument list
        [
            *shepard_command(),
            *("local", "up", "--runtime", "process", "--concurrency", "4", "--prefix", prefix),
            *("--parameter", f"SchedulerBatchingWindowSeconds={window_seconds}"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    state = FlockState.load(work / "local")
    assert state is not None
    running = Flock(directory=work / "local", env=env, state=state, session=local_session())
    running.cli("local", "quick-deploy", str(EXAMPLES / "hello-quick-deploy" / "hello"))
    yield running
    down = subprocess.run(  # noqa: S603 - a fixed argument list
        [*shepard_command(), "local", "down"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert down.returncode == 0, down.stdout + down.stderr
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def flock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flock]:
    """One local flock shared by the integration tests."""
    yield from _running_flock(
        tmp_path_factory, prefix="shepard-local", window_seconds=BATCHING_WINDOW_SECONDS
    )


@pytest.fixture(scope="module")
def wide_window_flock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flock]:
    """A flock of its own whose scheduler gathers uploads for 30 s, for the tests that upload thousands."""
    yield from _running_flock(
        tmp_path_factory, prefix="shepard-arrays", window_seconds=ARRAYS_BATCHING_WINDOW_SECONDS
    )
