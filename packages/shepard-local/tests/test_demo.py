"""The demo's own judgement of a run: what counts as a problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shepard_local import demo_problems
from shepard_local._demo import DemoJob, DemoResult

if TYPE_CHECKING:
    from pathlib import Path


class TestDemoCheck:
    def test_a_job_started_before_its_upload_is_a_problem(self, tmp_path: Path):
        """The demo's check refuses a start time earlier than the job's upload, so its medians hold."""
        job = DemoJob(label="S3 job", path="S3", uploaded_at=100.0, status="job_complete", started_at=99.5)
        result = DemoResult(mode="process", jobs=[job], retrieved=[], retrieve_dir=tmp_path, seconds=1.0)
        assert demo_problems(result) == ["S3 job started_at -0.50 s after its upload"]

    def test_settled_jobs_in_order_pass(self, tmp_path: Path):
        """Good jobs complete after their upload and the bad job is rejected: no problem."""
        good = DemoJob(
            label="S3 job",
            path="S3",
            uploaded_at=100.0,
            status="job_complete",
            started_at=100.5,
            outputs_at=103.0,
        )
        bad = DemoJob(label="bad job", path="S3", uploaded_at=100.0, status="rejected")
        result = DemoResult(
            mode="process", jobs=[good, bad], retrieved=[], retrieve_dir=tmp_path, seconds=1.0
        )
        assert demo_problems(result) == []
