"""The README's first command, `nox -s demo`, as assertions."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
from flock_testkit import EXAMPLES
from shepard_core import parse_child_job_id
from shepard_local import demo_problems, run_demo, summary_lines

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.long  # the whole demo, images built: about 2 minutes, run by `nox -s integration_long`
class TestDemo:
    @pytest.mark.slow
    def test_the_demo_runs_every_example_job_and_rejects_the_bad_one(self, tmp_path: Path):
        """The demo's 20 S3 jobs and its API jobs complete in few SubmitJob calls; the bad job is rejected."""
        # WHEN the demo runs (in Docker when an engine is reachable, else with the process runtime)
        lines: list[str] = []
        result = run_demo(EXAMPLES, tmp_path, echo=lines.append)

        # THEN every good job completed with an output, the bad one was rejected, outputs were retrieved
        if os.environ.get("SHEPARD_REQUIRE_DOCKER") == "1":
            # Where an engine must be present (CI), the container example ran in it.
            assert result.mode.startswith("Docker"), result.mode
        assert demo_problems(result) == []
        good = [job for job in result.jobs if job.label != "bad job"]
        assert {job.path for job in good} == {"S3", "API"}
        assert all(job.output_key for job in good)
        assert len(result.retrieved) == len(good)
        bad = next(job for job in result.jobs if job.label == "bad job")
        assert "reserved keyword" in (bad.reason or "")
        summary = "\n".join(summary_lines(result))
        assert "Median seconds from upload to start" in summary
        # AND the 20 jobs batched with --many took a few array SubmitJob calls, which the summary counts
        many = [job for job in good if job.path == "S3"]
        assert len(many) >= 20
        arrays = {parse_child_job_id(str(job.batch_job_id))[0] for job in many}
        assert len(arrays) < len(many)
        assert result.submit_job_calls == len(arrays) + len(good) - len(many)
        assert f"SubmitJob calls: {result.submit_job_calls} for the {len(good)} scheduled jobs" in summary
        assert "shepard local down" in "\n".join(lines)
