"""A local flock shared by the integration tests, started and stopped with the real `shepard local` CLI."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The helpers live in a module beside the tests, importable by every test file.
sys.path.insert(0, str(Path(__file__).parent))

from flock_testkit import EXAMPLES, Flock, flock_down, flock_up

if TYPE_CHECKING:
    from collections.abc import Iterator


BATCHING_WINDOW_SECONDS = 5
"""The integration flock's batching window: wider than the default second, so uploads from one test
client that trickle in still gather into arrays, yet a lone job waits at most a few seconds."""


def _running_flock(
    tmp_path_factory: pytest.TempPathFactory, *, prefix: str, window_seconds: int | None
) -> Iterator[Flock]:
    """Start a local flock (process runtime, the quick-deploy example uploaded); stop it afterwards."""
    work = tmp_path_factory.mktemp(prefix)
    running = flock_up(work, prefix=prefix, window_seconds=window_seconds)
    running.cli("local", "quick-deploy", str(EXAMPLES / "hello-quick-deploy" / "hello"))
    yield running
    flock_down(running)
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def flock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flock]:
    """One local flock shared by the integration tests."""
    yield from _running_flock(
        tmp_path_factory, prefix="shepard-local", window_seconds=BATCHING_WINDOW_SECONDS
    )


@pytest.fixture(scope="module")
def default_flock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flock]:
    """A flock of its own as a plain `shepard local up` makes it, for the tests that upload thousands."""
    yield from _running_flock(tmp_path_factory, prefix="shepard-arrays", window_seconds=None)
