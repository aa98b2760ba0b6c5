"""SIGTERM ends the job at any phase: a flag each phase checks, raised at once where a phase may end early."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Final

from shepard_worker._errors import ExitCode, TerminatedError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

log = logging.getLogger(__name__)

DEADLINE_MARGIN_SECONDS: Final = 15
"""After SIGTERM the worker exits by itself at the latest this long after the stop grace period.

With the default grace (10 s) that is 25 s: inside the 30 s AWS Batch (ECS) leaves before SIGKILL, so
a worker stuck where nothing can interrupt it still exits 143 rather than being killed.
"""


class StopSignal:
    """Turns SIGTERM into a stop of the job: the flag is set, and inside `interruptible()` it raises at once.

    The main thread runs every phase; a phase that may be abandoned half-way (downloads, zipping and
    uploading outputs) runs inside `interruptible()`, so SIGTERM raises TerminatedError there and the
    job goes straight to its error zip. Elsewhere (table writes, starting or stopping the payload, the
    error zip itself) SIGTERM only sets the flag, which the next `check()` turns into TerminatedError.
    A library may swallow the raised error (s3transfer ignores any exception while it waits for its
    transfers to finish), so every interruptible phase also calls `check()` as it goes and after it.
    """

    def __init__(self, stop: threading.Event, grace_seconds: float) -> None:
        """Use `stop` as the flag; `grace_seconds` is the payload's stop grace period."""
        self.stop = stop
        self._grace_seconds = grace_seconds
        self._interruptible = False
        self._deadline: threading.Timer | None = None

    def check(self) -> None:
        """Raise TerminatedError if a stop was requested."""
        if self.stop.is_set():
            raise TerminatedError("the worker was asked to stop (SIGTERM) before the payload finished")

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Run the block so that SIGTERM raises TerminatedError inside it at once (on the main thread)."""
        self.check()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    @contextlib.contextmanager
    def installed(self, *, enabled: bool) -> Iterator[None]:
        """Handle SIGTERM while the block runs (only when `enabled` and on the main thread)."""
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGTERM, self._on_term)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)
            if self._deadline is not None:
                self._deadline.cancel()

    def _on_term(self, signum: int, _frame: FrameType | None) -> None:
        first = not self.stop.is_set()
        self.stop.set()
        if first:
            log.warning("received %s: stopping the job", signal.Signals(signum).name)
            self._arm_deadline()
        if self._interruptible:
            self._interruptible = False
            raise TerminatedError("the worker was asked to stop (SIGTERM) before the job finished")

    def _arm_deadline(self) -> None:
        seconds = self._grace_seconds + DEADLINE_MARGIN_SECONDS
        self._deadline = threading.Timer(seconds, _exit_now, args=(seconds,))
        self._deadline.daemon = True
        self._deadline.start()


def _exit_now(seconds: float) -> None:
    log.error("the job did not end within %ss of SIGTERM; exiting now without its error zip", seconds)
    os._exit(ExitCode.TERMINATED)
