"""Many uploads through the local flock become a few Batch array jobs, and every job still runs once."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flock_testkit import SETTLED, Flock, flock_stats

UPLOADS = int(os.environ.get("SHEPARD_ARRAY_UPLOADS", "2000"))
"""How many uploads the test drops at once (2,000; fewer when iterating locally)."""
JOBS_PER_SUBMIT = 10
"""Fewest jobs per SubmitJob call on average: the default 1 s window gathers ReceiveMessage's 10 at least."""


@pytest.mark.long
class TestManyUploadsFewArrays:
    def test_uploads_become_at_most_one_submit_job_per_ten_jobs_and_all_complete(self, default_flock: Flock):
        """On a default flock 2,000 uploads take at most 200 SubmitJob calls; each job completes once."""
        flock = default_flock
        # GIVEN the flock's SubmitJob count so far, and many job zips dropped at once
        before = flock_stats(flock)["submit_job_calls"]
        keys = {f"arrays/job-{n:05d}.zip" for n in range(UPLOADS)}
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda key: flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": "a"}),
                    sorted(keys),
                )
            )

        # WHEN every job has settled
        def settled() -> dict[str, dict[str, object]] | None:
            rows = flock.rows_for(keys)
            done = len(rows) == UPLOADS and all(row["JOB_STATUS"] in SETTLED for row in rows.values())
            return rows if done else None

        rows = flock.wait_for(
            settled, timeout=max(300, 1.2 * UPLOADS), what=f"{UPLOADS} jobs to settle", interval=20
        )
        elapsed = time.monotonic() - started

        # THEN every job completed, each in its own child, with few SubmitJob calls
        assert {row["JOB_STATUS"] for row in rows.values()} == {"job_complete"}
        children = [str(row["SHEPARD_BATCH_JOB_ID"]) for row in rows.values()]
        assert len(set(children)) == UPLOADS
        executor = flock.executor_jobs()
        assert all(len(executor[child]["attempts"]) == 1 for child in children)
        calls = flock_stats(flock)["submit_job_calls"] - before
        print(  # noqa: T201 - the figure this test measures
            f"\n{UPLOADS} uploads: {calls} SubmitJob calls ({UPLOADS / max(calls, 1):.0f} jobs per call), "
            f"all complete in {elapsed:.0f} s"
        )
        assert calls <= math.ceil(UPLOADS / JOBS_PER_SUBMIT)
