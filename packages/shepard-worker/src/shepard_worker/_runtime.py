"""The interface every payload runtime implements: start the payload, wait for it, stop it."""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from shepard_worker._logs import PayloadLog
    from shepard_worker._workspace import Workspace


@dataclasses.dataclass(frozen=True, kw_only=True)
class PayloadSpec:
    """What to run: the environment, the job's folders and the options of the job definition."""

    job_uuid: str
    env: dict[str, str]
    workspace: Workspace
    quick_deploy_dir: Path | None = None
    ulimit_fileno: int | None = None
    allow_docker_access: bool = False
    attempt: int = 1
    stop: threading.Event | None = None
    """Set on SIGTERM: a runtime still preparing the payload (e.g. loading its image) gives up."""


class RunningPayload(abc.ABC):
    """A started payload."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> int | None:
        """Return the exit code once the payload ended (and its output is drained), or None on timeout."""

    @abc.abstractmethod
    def stop(self, grace_seconds: float) -> None:
        """Ask the payload to end (SIGTERM), killing it after `grace_seconds`."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the payload held (its container); safe to call more than once."""

    def ending(self) -> str | None:
        """Return how the payload ended when the runtime knows more than its exit code, else None."""
        return None


class Runtime(abc.ABC):
    """Runs a payload with the job's environment and folders, streaming its output to a PayloadLog."""

    name: str

    @abc.abstractmethod
    def read_only_path(self, mount: Path) -> Path:
        """Return where the payload sees the EFS or Lustre `mount` read-only."""

    @abc.abstractmethod
    def start(self, spec: PayloadSpec, payload_log: PayloadLog) -> RunningPayload:
        """Start the payload, or raise PayloadStartError with the reason."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the runtime's own resources."""
