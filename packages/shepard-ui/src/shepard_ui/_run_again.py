"""The Run again button's action: shepard-cli's `run_again`, once per request id, when this install has it."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    from shepard_ui._flock import Flock

    RunAgain: TypeAlias = Callable[[Flock, str, str], dict[str, Any]]


def run_again_job(flock: Flock, job_uuid: str, request_id: str) -> dict[str, Any]:
    """Run a failed job again from its original upload; the same request id never makes a second job.

    Return the new job's UUID and a sentence; raise CliError when the job may not run again (rejected,
    still running, upload gone) or the flock's scheduler queue is not known, saying what to do.
    """
    from shepard_cli._run_again import run_again

    names = flock.names
    if not names.scheduler_queue_url:
        raise CliError(
            "the flock's scheduler queue is not known, so no job can be run again from here",
            "Pass --scheduler-queue-url to shepard ui or set shepard_cli_scheduler_queue_url in the profile",
        )
    result = run_again(
        flock,
        job_uuid,
        request_id,
        table=names.table,
        queue_url=names.scheduler_queue_url,
        inputs_bucket=names.inputs_bucket,
    )
    if result.refused is not None or result.new_uuid is None:
        raise CliError(result.refused or f"job {job_uuid} was not run again")
    said = "Runs again as" if result.created else "Already running again (this same request) as"
    return {"job_uuid": result.new_uuid, "message": f"{said} job {result.new_uuid}:"}


def load_run_again() -> RunAgain | None:
    """Return the function running a job again (flock, job UUID, request id), or None without one."""
    if importlib.util.find_spec("shepard_cli._run_again") is None:
        return None
    return run_again_job
