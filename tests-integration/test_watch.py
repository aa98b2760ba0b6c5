"""`shepard watch` against the local flock: a snapshot of real jobs, and where their problems are."""

from __future__ import annotations

import json

from flock_testkit import SETTLED, Flock


class TestWatch:
    def test_snapshot_counts_real_jobs_and_names_their_error_zip_and_report(self, flock: Flock):
        """After a good, a failing and a rejected job settle, watch counts each and names existing keys."""
        # GIVEN three jobs under one prefix: one completes, one fails, one is rejected
        keys = {"watch/good.zip", "watch/failing.zip", "watch/rejected.zip"}
        flock.upload("watch/good.zip", {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": "watched"})
        flock.upload(
            "watch/failing.zip", {"QUICK_DEPLOY_DIRECTORY": "hello", "FAIL": "True", "TAG": "watched"}
        )
        flock.upload("watch/rejected.zip", {"UUID": "my-own-id"})
        flock.wait_for(
            lambda: (
                len(rows := flock.rows_for(keys)) == len(keys)
                and all(row["JOB_STATUS"] in SETTLED for row in rows.values())
            ),
            timeout=120,
            what="the watched jobs to settle",
        )

        # WHEN a user takes one JSON snapshot of them with the local profile
        done = flock.cli("--profile", "local", "watch", "--once", "--output", "json", "--prefix", "watch/")
        snapshot = json.loads(done.stdout)

        # THEN each job is counted in its group and each problem names a key the errors bucket holds
        assert snapshot["counts"] == {"submitted": 0, "running": 0, "complete": 1, "failed": 1, "rejected": 1}
        assert snapshot["progress"] == 1.0
        errors = set(flock.keys(flock.state.names.errors_bucket))
        problems = {problem["group"]: problem for problem in snapshot["problems"]}
        assert problems["failed"]["error_zip_key"] in errors
        assert problems["failed"]["exit_code"] not in (None, 0)
        assert problems["rejected"]["report_key"] in errors
        assert "reserved" in problems["rejected"]["reason"]

        # AND the plain form, off a terminal, carries no escape codes
        plain = flock.cli("--profile", "local", "watch", "--once", "--prefix", "watch/").stdout
        assert "3 jobs: submitted 0, running 0, complete 1, failed 1, rejected 1" in plain
        assert "\x1b" not in plain
