"""What jobs cost on the local flock: rows record their run, SubmitJob carries tags, `shepard cost` prices."""

from __future__ import annotations

import json

from flock_testkit import SETTLED, Flock
from shepard_core import parse_child_job_id

# The local figures (docs/cost.md): local.flock is 4 vCPUs, 16 GiB at USD 0.20/h; the template's job
# (1 vCPU, 2048 MiB) holds a quarter of it.
LOCAL_HOURLY_USD = 0.20
JOB_SHARE = 0.25


class TestCost:
    def test_finished_jobs_are_priced_with_the_local_figures_and_carry_the_flock_s_tags(self, flock: Flock):
        """Two jobs of one TAG run; their rows hold instance, size and run; `shepard cost` prices both."""
        # GIVEN two jobs tagged `costed` that run to their end on the local flock
        keys = {"cost/one.zip", "cost/two.zip"}
        for key in sorted(keys):
            flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "TAG": "costed"})

        def settled() -> dict | None:
            found = flock.rows_for(keys)
            done = len(found) == len(keys) and all(row["JOB_STATUS"] in SETTLED for row in found.values())
            return found if done else None

        rows = flock.wait_for(settled, timeout=120, what="the costed jobs to finish")
        # THEN each row records what pricing needs
        seconds = 0.0
        for row in rows.values():
            assert row["JOB_STATUS"] == "job_complete"
            assert (row["SHEPARD_INSTANCE_TYPE"], row["SHEPARD_CAPACITY_TYPE"]) == (
                "local.flock",
                "on-demand",
            )
            assert (row["SHEPARD_VCPUS"], row["SHEPARD_MEMORY_MIB"]) == ("1", "2048")
            run = int(row["SHEPARD_RUN_ENDED"]) - int(row["SHEPARD_RUN_STARTED"])
            assert run >= 0
            seconds += run / 1000

        # AND the Batch job carries the flock's tags and the shared TAG
        batch = flock.client("batch")
        parents = {parse_child_job_id(row["SHEPARD_BATCH_JOB_ID"])[0] for row in rows.values()}
        for parent in parents:
            [job] = batch.describe_jobs(jobs=[parent])["jobs"]
            tags = batch.list_tags_for_resource(resourceArn=job["jobArn"])["tags"]
            assert tags["ShepardTag"] == "costed"
            assert {"Project", "WorkloadType"} <= set(tags)

        # WHEN the user asks what the tag cost
        document = json.loads(
            flock.cli("--profile", "local", "cost", "--tag", "costed", "--output", "json").stdout
        )

        # THEN both jobs are priced at the local figures, and the table view shows a cost line
        assert document["jobs"]["priced"] == 2
        assert document["unpriced"] == []
        expected = LOCAL_HOURLY_USD * JOB_SHARE * seconds / 3600
        assert abs(document["total_usd"] - expected) < 1e-5
        assert set(document["by_tag"]) == {"costed"}
        text = flock.cli("--profile", "local", "cost", "--tag", "costed").stdout
        assert "for 2 priced job(s)" in text
