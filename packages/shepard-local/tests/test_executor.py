"""The Batch executor: how a failed attempt is judged, and what it does with a queue's jobs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest
from shepard_local._executor import HOST_RECLAIM_REASON, Executor, retry_action

if TYPE_CHECKING:
    from pathlib import Path

STRATEGY = {
    "attempts": 3,
    "evaluateOnExit": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onReason": "*", "action": "EXIT"},
    ],
}


class FakeBatch:
    """A Batch client holding one queue's jobs and one job definition, as the emulator describes them."""

    def __init__(self, jobs: list[dict[str, Any]], strategy: dict[str, Any]) -> None:
        self.jobs = jobs
        self.strategy = strategy
        self.described: list[list[str]] = []

    def list_jobs(self, jobQueue: str) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        return {"jobSummaryList": [{"jobId": job["jobId"]} for job in self.jobs]}

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        self.described.append(list(jobs))
        return {"jobs": [job for job in self.jobs if job["jobId"] in jobs]}

    def describe_job_definitions(self, jobDefinitions: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"jobDefinitions": [{"retryStrategy": self.strategy, "containerProperties": {"image": "i"}}]}


def batch_job(job_id: str, exit_code: int) -> dict[str, Any]:
    """Return a DescribeJobs entry whose environment tells the fake worker how to exit."""
    return {
        "jobId": job_id,
        "jobName": f"name-{job_id}",
        "jobDefinition": "arn:jd",
        "createdAt": 1_000,
        "container": {
            "environment": [
                {"name": "EXIT_CODE", "value": str(exit_code)},
                # The emulator repeats this one per DescribeJobs call; the first value counts.
                {"name": "AWS_BATCH_JOB_ID", "value": job_id},
                {"name": "AWS_BATCH_JOB_ID", "value": "duplicate"},
            ]
        },
    }


def executor(batch: FakeBatch, tmp_path: Path) -> Executor:
    """Return an executor whose worker is a Python one-liner exiting with the job's EXIT_CODE."""
    worker = [sys.executable, "-c", "import os, sys; sys.exit(int(os.environ['EXIT_CODE']))"]
    return Executor(
        batch,  # type: ignore[arg-type]
        job_queue="q",
        worker_command=worker,
        base_environment={},
        log_dir=tmp_path,
        concurrency=1,
        runtime_environment=lambda _job: {"SHEPARD_RUNTIME": "process"},
    )


class TestRetryAction:
    def test_a_host_reclaim_is_retried(self):
        """A stop whose status reason starts with `Host EC2` matches the first rule: RETRY."""
        assert retry_action(STRATEGY, status_reason=HOST_RECLAIM_REASON, reason="", exit_code=None) == "RETRY"

    def test_a_payload_failure_is_not_retried(self):
        """A container that exited non-zero matches the catch-all rule: EXIT."""
        action = retry_action(
            STRATEGY, status_reason="Essential container in task exited", reason="", exit_code=3
        )
        assert action == "EXIT"

    def test_without_rules_batch_retries(self):
        """With no evaluateOnExit rule matching, Batch retries while attempts remain."""
        assert retry_action({"attempts": 2}, status_reason="x", reason="", exit_code=1) == "RETRY"

    def test_exit_code_rules_match_globs(self):
        """An onExitCode rule matches the exit code as a glob."""
        strategy = {"evaluateOnExit": [{"onExitCode": "13*", "action": "exit"}]}
        assert retry_action(strategy, status_reason="", reason="", exit_code=137) == "EXIT"


class TestExecutor:
    def test_discovered_jobs_are_described_in_chunks_of_a_hundred(self, tmp_path: Path):
        """New jobs are described at most 100 at a time and each is queued once, its duplicated id ignored."""
        # GIVEN a queue holding 150 jobs
        batch = FakeBatch([batch_job(f"j{n}", 0) for n in range(150)], STRATEGY)
        running = executor(batch, tmp_path)

        # WHEN the executor looks twice
        first, second = running.discover(), running.discover()

        # THEN every job was found once, in DescribeJobs calls of at most 100 ids
        assert (first, second) == (150, 0)
        assert [len(ids) for ids in batch.described] == [100, 50]
        assert running._jobs["j0"].environment["AWS_BATCH_JOB_ID"] == "j0"

    @pytest.mark.parametrize(
        ("strategy", "exit_code", "status", "attempts"),
        [
            (STRATEGY, 0, "SUCCEEDED", 1),
            (STRATEGY, 3, "FAILED", 1),
            ({"attempts": 2}, 3, "FAILED", 2),
            ({"attempts": 3, "evaluateOnExit": [{"onExitCode": "4", "action": "RETRY"}]}, 4, "FAILED", 3),
        ],
        ids=["success", "payload-failure-exits", "no-rule-retries", "exit-code-rule-retries"],
    )
    def test_the_retry_strategy_decides_how_many_attempts_run(
        self, tmp_path: Path, strategy, exit_code, status, attempts
    ):
        """A failed attempt is retried only when the job definition's strategy says so and attempts remain."""
        # GIVEN one job whose worker exits `exit_code`
        running = executor(FakeBatch([batch_job("j", exit_code)], strategy), tmp_path)
        running.discover()
        job = running._jobs["j"]

        # WHEN the executor runs it
        running._run_job(job)

        # THEN it ended with the expected status after the expected number of attempts
        assert job.status == status
        assert [attempt.exit_code for attempt in job.attempts] == [exit_code] * attempts
        assert (tmp_path / "name-j" / f"attempt-{attempts}.log").is_file()
