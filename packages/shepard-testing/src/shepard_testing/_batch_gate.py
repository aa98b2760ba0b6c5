"""Hold the Batch jobs of the in-process moto server in their first state until a test lets them end."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType

    import pytest

HOLD_LIMIT_SECONDS = 120.0
"""How long a held job waits at most, so a test that forgets to let go still ends."""


class BatchJobGate:
    """Keep every Batch job submitted to moto's simple Batch running until `release()`, then fail it.

    moto's simple Batch marks a job FAILED after sleeping `MOTO_SIMPLE_BATCH_FAIL_AFTER` seconds inside
    SubmitJob (so the caller submits from a thread); the gate replaces that sleep with a wait on an event,
    so "the job has not ended yet" holds for exactly as long as the test needs, whatever the machine's load.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Hold jobs from now on; `monkeypatch` undoes it at the end of the test."""
        from moto.batch_simple import models

        self._released = threading.Event()
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "1")
        monkeypatch.setattr(models, "sleep", self._hold)

    def _hold(self, _seconds: float) -> None:
        self._released.wait(HOLD_LIMIT_SECONDS)

    def release(self) -> None:
        """Let every held job, and every job submitted later, end (as FAILED)."""
        self._released.set()

    def __enter__(self) -> Self:
        """Return the gate."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Release the held jobs."""
        self.release()
