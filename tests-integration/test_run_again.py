"""Running a failed job again on the local flock: a new job with its own row and error zip, per request."""

from __future__ import annotations

import json

from flock_testkit import SETTLED, Flock
from shepard_core import job_id_for_run_again
from test_job_outcomes import settled_row


class TestRunAgain:
    def test_a_failed_job_run_again_is_a_new_job_and_a_repeated_request_makes_no_other(self, flock: Flock):
        """`shepard retry` twice with one request id: one new job, which runs and fails on its own record."""
        # GIVEN a job whose payload fails every time it runs
        key = "run-again/failing.zip"
        flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "FAIL": "True", "TAG": "run-again"})
        original = str(settled_row(flock, key)["UUID"])
        assert flock.rows()[original]["JOB_STATUS"] == "job_failed"

        # WHEN it is run again, and the same request is repeated
        first = flock.cli("retry", original, "--request-id", "it-run-again-1")
        second = flock.cli("retry", original, "--request-id", "it-run-again-1")

        # THEN the first made one new job and the second named the same job, making nothing new
        new = job_id_for_run_again(original, "it-run-again-1")
        assert f"{original}: run again as {new}" in first.stdout
        assert f"{original}: already run again as {new} by this request" in second.stdout
        row = flock.wait_for(
            lambda: next((r for r in [flock.rows().get(new)] if r and r["JOB_STATUS"] in SETTLED), None),
            timeout=120,
            what="the job run again to settle",
        )
        # AND the new job ran from the same upload and failed on its own record
        assert row["JOB_STATUS"] == "job_failed"
        assert row["INPUT_ZIP_NAME"] == key
        assert row["SHEPARD_RUN_AGAIN_OF"] == original
        made = [r for r in flock.rows().values() if r.get("SHEPARD_RUN_AGAIN_OF") == original]
        assert [r["UUID"] for r in made] == [new]
        assert len(flock.executor_job_of(new)["attempts"]) == 1
        # AND each attempt has its own error zip
        assert len(flock.error_zips_of(original)) == 1
        assert len(flock.error_zips_of(new)) == 1
        # AND `shepard query` finds both, each naming the other
        listed = {
            view["uuid"]: view
            for view in json.loads(flock.cli("query", "--status", "failed", "--output", "json").stdout)
        }
        assert listed[original]["run_again_as"] == [new]
        assert listed[new]["run_again_of"] == original

    def test_a_rejected_job_is_refused_with_what_to_change(self, flock: Flock):
        """A rejected job is not run again: the command names its reason and says to upload it again."""
        key = "run-again/rejected.zip"
        flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "SHEPARD_BAD": "x"})
        rejected = str(settled_row(flock, key)["UUID"])
        done = flock.cli("retry", rejected, check=False)
        assert done.returncode == 1
        assert f"{rejected}: refused: job {rejected} was rejected" in done.stdout
        assert "upload the job again" in done.stdout
        assert not [r for r in flock.rows().values() if r.get("SHEPARD_RUN_AGAIN_OF") == rejected]
