"""Decide how the worker runs a job's payload: a deployed image in the Docker engine, else a process."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shepard_cli.local._executor import BatchJob
    from shepard_cli.local._flock import FlockState


class PayloadResolver:
    """Map a job's worker image to the worker's runtime variables."""

    def __init__(self, state: FlockState) -> None:
        """Resolve payloads for the flock in `state`."""
        self._state = state

    def describe(self) -> str:
        """Return how payloads run, for `shepard local status`."""
        return "process (quick-deploy run.sh)"

    def environment_for(self, job: BatchJob) -> dict[str, str]:
        """Return SHEPARD_RUNTIME and the payload variables the worker needs for `job`."""
        del job
        return {"SHEPARD_RUNTIME": "process"}
