"""Find and end every process a payload left behind, as a container's end does, without privileges.

The worker makes itself a child subreaper (Linux `prctl(PR_SET_CHILD_SUBREAPER)`, allowed to any
user): a process the payload leaves behind (`setsid cmd &`, `nohup`, a double fork, a daemon) is
re-parented to the worker instead of to PID 1 when its parent ends, so it stays findable in /proc
however it detached (new session, new process group, closed stdin). The payload's processes are the
payload's main process, the worker's children that appeared after the payload started, and all their
descendants. Cgroups would hold them too, but creating one needs root and a writable cgroup tree,
which a Batch container does not have.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from typing import Final

log = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER: Final = 36
_PR_GET_CHILD_SUBREAPER: Final = 37
POLL_SECONDS: Final = 0.05
KILL_WAIT_SECONDS: Final = 5.0
"""How long SIGKILLed processes get to vanish (a process in uninterruptible sleep may take a while)."""


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - every Linux has a libc
        return None


def _subreaper_flag(libc: ctypes.CDLL) -> int:
    value = ctypes.c_int(0)
    if libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return 0
    return value.value


def _process_table() -> dict[int, tuple[int, str]]:
    """Return {pid: (parent pid, state letter)} for every process /proc shows."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):  # noqa: PTH208 - names only, in a hot loop
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:  # noqa: PTH123 - a hot loop over /proc
                data = f.read()
        except OSError:
            continue  # it ended while we looked
        fields = data.rpartition(b")")[2].split()
        if len(fields) >= 2:  # noqa: PLR2004 - state and parent pid
            table[int(entry)] = (int(fields[1]), fields[0].decode("ascii", "replace"))
    return table


class Reaper:
    """The processes of one payload started by this process: found, signalled and reaped."""

    def __init__(self) -> None:
        """Become a child subreaper (if the system allows it) and note the children that exist already."""
        self._pid = os.getpid()
        self._libc = _libc()
        self._previous_flag: int | None = None
        if self._libc is not None:
            self._previous_flag = _subreaper_flag(self._libc)
            if self._libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                log.warning(
                    "could not become a child subreaper (%s): processes the payload detaches may outlive it",
                    os.strerror(ctypes.get_errno()),
                )
                self._previous_flag = None
        self._existing = self._children(self._table()) if self._can_list() else set()

    def _can_list(self) -> bool:
        return os.path.isdir("/proc")  # noqa: PTH112 - a plain check

    def _table(self) -> dict[int, tuple[int, str]]:
        return _process_table() if self._can_list() else {}

    def _children(self, table: dict[int, tuple[int, str]]) -> set[int]:
        return {pid for pid, (ppid, _state) in table.items() if ppid == self._pid}

    def processes(self, main_pid: int) -> set[int]:
        """Return the payload's live processes: `main_pid`, new children of the worker, their descendants."""
        table = self._table()
        roots = (self._children(table) - self._existing) | {main_pid}
        below: dict[int, list[int]] = {}
        for pid, (ppid, _state) in table.items():
            below.setdefault(ppid, []).append(pid)
        found: set[int] = set()
        pending = [pid for pid in roots if pid in table]
        while pending:
            pid = pending.pop()
            if pid in found:
                continue
            found.add(pid)
            pending.extend(below.get(pid, ()))
        return {pid for pid in found if table[pid][1] not in {"Z", "X"}}

    def send(self, main_pid: int, signum: signal.Signals) -> int:
        """Send `signum` to every live process of the payload and its main process group; return how many."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(main_pid, signum)
        pids = self.processes(main_pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
        return len(pids)

    def end(self, main_pid: int, grace_seconds: float) -> int:
        """SIGTERM every process of the payload, SIGKILL what is left after `grace_seconds`; return the count.

        The main process is not reaped here (its Popen does that); every other child is.
        """
        count = self.send(main_pid, signal.SIGTERM)
        if count and not self._wait_gone(main_pid, grace_seconds):
            # Frozen first, so no survivor sees a sibling die (a shell would print "Killed" into the
            # job's log); SIGKILL is sent again on every poll, as a process may fork once more.
            self.send(main_pid, signal.SIGSTOP)
            if not self._wait_gone(main_pid, KILL_WAIT_SECONDS, signal.SIGKILL):
                log.error("processes of the payload survived SIGKILL: %s", sorted(self.processes(main_pid)))
        self.reap(main_pid)
        return count

    def _wait_gone(self, main_pid: int, seconds: float, resend: signal.Signals | None = None) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if resend is not None:
                self.send(main_pid, resend)
            self.reap(main_pid)
            if not self.processes(main_pid) - {main_pid} and not _alive(main_pid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)

    def reap(self, main_pid: int) -> None:
        """Collect the exit status of every ended child re-parented to the worker (never the main process)."""
        table = self._table()
        for pid in self._children(table) - self._existing - {main_pid}:
            if table[pid][1] in {"Z", "X"}:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)

    def close(self) -> None:
        """Give back the subreaper flag the worker had before."""
        if self._libc is not None and self._previous_flag is not None:
            self._libc.prctl(_PR_SET_CHILD_SUBREAPER, self._previous_flag, 0, 0, 0)
            self._previous_flag = None


def _alive(pid: int) -> bool:
    """Return whether `pid` runs (a zombie waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:  # noqa: PTH123 - a hot loop over /proc
            state = f.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {b"Z", b"X"}
