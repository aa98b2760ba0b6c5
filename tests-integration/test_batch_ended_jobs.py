"""Jobs Batch ends without their worker reach a final status with Batch's reason, end to end.

The local flock's executor emits Batch's "Batch Job State Change" events and runs the template's
reconciler on them: a child cancelled while still pending, and a worker SIGKILLed on its last attempt,
both end `job_failed` with Batch's reason, shown by `shepard query` and `shepard watch --once`.
"""

from __future__ import annotations

import json
import os
import signal

import pytest
from flock_testkit import SETTLED, Flock

SLEEP_SECONDS = "15"
"""Long enough for the flock's four slots to stay busy while a test cancels a child still queued."""


def _worker_pid(flock: Flock, batch_job_id: str) -> int | None:
    """Return the pid of the worker running Batch job `batch_job_id`'s current attempt, if one runs."""
    attempts = flock.executor_jobs().get(batch_job_id, {}).get("attempts", [])
    running = [attempt for attempt in attempts if attempt.get("stopped_at") is None and attempt.get("pid")]
    return int(running[-1]["pid"]) if running else None


def _queued_behind_busy_slots(flock: Flock, keys: set[str]) -> dict | None:
    """Return a row of `keys` still queued in Batch while four of its siblings' payloads run, or None."""
    rows = list(flock.rows_for(keys).values())
    if sum(row["JOB_STATUS"] == "calling_payload_code" for row in rows) < 4:
        return None
    for row in rows:
        job = flock.executor_job_of(row["UUID"]) if row["JOB_STATUS"] == "submitted" else None
        if job is not None and job["status"] == "RUNNABLE" and not job["attempts"]:
            return row
    return None


def _failed_view(flock: Flock, uuid: str, prefix: str) -> tuple[dict, dict]:
    """Return the job as `shepard query` shows it and the failed problem `shepard watch --once` lists."""
    queried = json.loads(
        flock.cli("--profile", "local", "query", "--status", "failed", "--output", "json").stdout
    )
    [job] = [view for view in queried if view["uuid"] == uuid]
    watched = flock.cli(
        "--profile", "local", "watch", "--once", "--output", "json", "--prefix", prefix
    ).stdout
    [problem] = [p for p in json.loads(watched)["problems"] if p["uuid"] == uuid]
    return job, problem


class TestBatchEndedJobs:
    @pytest.mark.long  # waits out a held array child: about 35 s, run by `nox -s integration_long`
    def test_a_cancelled_pending_child_ends_failed_with_the_cancel_reason(self, flock: Flock):
        """`shepard cancel` of a child still queued: the row ends job_failed with Batch's reason."""
        # GIVEN an array of six sleeping jobs on a flock running four at a time
        keys = {f"reconcile-cancel/{n}.zip" for n in range(6)}
        for key in sorted(keys):
            flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "SLEEP_SECONDS": SLEEP_SECONDS})
        rows = flock.wait_for(
            lambda: len(found := flock.rows_for(keys)) == len(keys) and found,
            timeout=60,
            what="the six rows",
        )
        pending = flock.wait_for(
            lambda: _queued_behind_busy_slots(flock, keys), timeout=60, what="a queued child"
        )
        uuid = str(pending["UUID"])
        assert len(rows) == len(keys)

        # WHEN the user cancels it
        said = flock.cli("--profile", "local", "cancel", uuid).stdout
        assert "Cancelled job" in said

        # THEN Batch's event ends its row as failed, with the cancel's reason, and no attempt ran
        row = flock.wait_for(
            lambda: (r := flock.rows().get(uuid)) and r["JOB_STATUS"] in SETTLED and r,
            timeout=90,
            what="the cancelled child's row to end",
        )
        assert row["JOB_STATUS"] == "job_failed"
        assert f"Cancelled with shepard cancel {uuid}" in row["SHEPARD_FAILURE_REASON"]
        assert "before it started" in row["SHEPARD_FAILURE_REASON"]
        assert "SHEPARD_ATTEMPT" not in row
        assert flock.executor_job_of(uuid)["attempts"] == []
        job, problem = _failed_view(flock, uuid, "reconcile-cancel/")
        assert f"Cancelled with shepard cancel {uuid}" in job["reason"]
        assert f"Cancelled with shepard cancel {uuid}" in problem["reason"]
        assert problem["error_zip_key"] in flock.error_zips_of(uuid)
        # AND the watch ends: every job of the array is counted as ended
        flock.wait_for(
            lambda: all(r["JOB_STATUS"] in SETTLED for r in flock.rows_for(keys).values()),
            timeout=120,
            what="the array's other jobs to end",
        )
        watched = json.loads(
            flock.cli(
                "--profile", "local", "watch", "--once", "--output", "json", "--prefix", "reconcile-cancel/"
            ).stdout
        )
        assert watched["counts"]["failed"] == 1
        assert watched["counts"]["complete"] == len(keys) - 1
        assert watched["progress"] == 1.0

    def test_a_worker_sigkilled_on_its_last_attempt_ends_failed_with_exit_code_137(self, flock: Flock):
        """A worker killed with SIGKILL mid-payload: its row ends job_failed with Batch's reason and 137."""
        # GIVEN a job whose payload runs (its one attempt: a container exit is not retried)
        key = "reconcile-kill/killed.zip"
        uuid = flock.start_sleeping_job(key, "killed", int(SLEEP_SECONDS) * 2)
        batch_job_id = flock.rows()[uuid]["SHEPARD_BATCH_JOB_ID"]
        pid = flock.wait_for(
            lambda: _worker_pid(flock, batch_job_id), timeout=30, what="the worker's process"
        )

        # WHEN the kernel kills the worker (as the OOM killer or `kill -9` does)
        os.kill(pid, signal.SIGKILL)

        # THEN Batch's event ends the row: failed, exit code 137, Batch's reason, an error zip
        row = flock.wait_for(
            lambda: (r := flock.rows().get(uuid)) and r["JOB_STATUS"] in SETTLED and r,
            timeout=90,
            what="the killed job's row to end",
        )
        assert row["JOB_STATUS"] == "job_failed"
        assert row["SHEPARD_EXIT_CODE"] == "137"
        assert "on attempt 1: Essential container in task exited" in row["SHEPARD_FAILURE_REASON"]
        assert len(flock.executor_job_of(uuid)["attempts"]) == 1
        job, problem = _failed_view(flock, uuid, "reconcile-kill/")
        assert "container exit code 137" in job["reason"]
        assert problem["exit_code"] == 137
        [zip_key] = flock.error_zips_of(uuid)
        assert problem["error_zip_key"] == zip_key
        members = flock.zip_members(flock.state.names.errors_bucket, zip_key)
        assert b"the worker had last recorded 'calling_payload_code'" in members["reason.txt"]
        assert members["exit_code.txt"] == b"137\n"
