"""The Batch executor: how a failed attempt is judged, and what it does with a queue's jobs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest
from shepard_local._batch_jobs import Attempt, retry_action
from shepard_local._executor import HOST_RECLAIM_REASON, Executor

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


RECORDING_WORKER = (
    "import os, sys\n"
    "index = os.environ.get('AWS_BATCH_JOB_ARRAY_INDEX', '-')\n"
    "with open(os.environ['RECORD'], 'a') as record:\n"
    "    print(os.environ['AWS_BATCH_JOB_ID'], index, os.environ['AWS_BATCH_JOB_ATTEMPT'],\n"
    "          os.environ['SHEPARD_ARRAY_CLAIM'], file=record)\n"
    "sys.exit(int(os.environ.get('EXIT_' + index, '0')))\n"
)


def array_job(job_id: str, size: int, **environment: str) -> dict[str, Any]:
    """Return the DescribeJobs entry of an array job with `size` children and the given overrides."""
    variables = {"SHEPARD_ARRAY_CLAIM": "token", **environment}
    return {
        "jobId": job_id,
        "jobName": "shepard-token",
        "jobDefinition": "arn:jd",
        "createdAt": 1_000,
        "arrayProperties": {"size": size},
        "container": {
            "environment": [{"name": k, "value": v} for k, v in variables.items()],
            "logStreamName": "def/default/stream",
        },
    }


def run_all(running: Executor) -> None:
    """Run every job the executor has queued, one at a time, then return."""
    running._pending.put(None)
    running._slot()


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "record.txt"


def array_executor(batch: FakeBatch, tmp_path: Path, record: Path) -> Executor:
    return Executor(
        batch,  # type: ignore[arg-type]
        job_queue="q",
        worker_command=[sys.executable, "-c", RECORDING_WORKER],
        base_environment={"RECORD": str(record)},
        log_dir=tmp_path,
        concurrency=1,
        runtime_environment=lambda _job: {},
    )


class TestArrays:
    def test_an_array_fans_out_into_children_with_their_index_and_id(self, tmp_path: Path, record: Path):
        """Each child runs once with its AWS_BATCH_JOB_ARRAY_INDEX, its id <array>:<i> and the overrides."""
        # GIVEN an array of three, listed by the emulator together with its children
        listed = [array_job("arr", 3), *({"jobId": f"arr:{i}"} for i in range(3))]
        running = array_executor(FakeBatch(listed, {"attempts": 1}), tmp_path, record)
        # WHEN the executor discovers and runs the queue
        assert running.discover() == 1
        run_all(running)
        # THEN each child ran once, the array ran nothing itself, and the array succeeded
        assert sorted(record.read_text().splitlines()) == [f"arr:{i} {i} 1 token" for i in range(3)]
        assert running._jobs["arr"].status == "SUCCEEDED"
        assert running._jobs["arr"].status_summary() == {"SUCCEEDED": 3}
        assert running.submitted() == 1

    def test_the_retry_strategy_applies_per_child(self, tmp_path: Path, record: Path):
        """A failing child is retried on its own; its siblings run once and the array ends FAILED."""
        strategy = {"attempts": 2, "evaluateOnExit": [{"onExitCode": "4", "action": "RETRY"}]}
        running = array_executor(FakeBatch([array_job("arr", 3, EXIT_1="4")], strategy), tmp_path, record)
        running.discover()
        run_all(running)
        lines = sorted(record.read_text().splitlines())
        assert lines == ["arr:0 0 1 token", "arr:1 1 1 token", "arr:1 1 2 token", "arr:2 2 1 token"]
        assert [running._jobs[f"arr:{i}"].status for i in range(3)] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
        assert running._jobs["arr"].status == "FAILED"

    def test_each_attempt_logs_to_its_own_stream(self, tmp_path: Path, record: Path):
        """A retried child's attempts each name their own log stream; the job's is the latest attempt's."""
        strategy = {"attempts": 2, "evaluateOnExit": [{"onExitCode": "4", "action": "RETRY"}]}
        running = array_executor(FakeBatch([array_job("arr", 2, EXIT_1="4")], strategy), tmp_path, record)
        running.discover()
        run_all(running)
        child = running.overlay({"jobId": "arr:1", "container": {"logStreamName": "moto"}})
        assert [attempt["container"]["logStreamName"] for attempt in child["attempts"]] == [
            "def/default/stream-1",
            "def/default/stream-1/attempt-2",
        ]
        assert child["container"]["logStreamName"] == "def/default/stream-1/attempt-2"
        once = running.overlay({"jobId": "arr:0", "container": {}})
        assert [attempt["container"]["logStreamName"] for attempt in once["attempts"]] == [
            "def/default/stream-0"
        ]

    def test_counts_give_each_child_s_status_and_each_array_s_summary(self, tmp_path: Path, record: Path):
        """Counts hold every child by status (arrays aside) and each array's size and summary."""
        strategy = {"attempts": 1}
        running = array_executor(FakeBatch([array_job("arr", 3, EXIT_1="4")], strategy), tmp_path, record)
        running.discover()
        assert running.counts() == (
            {"RUNNABLE": 3},
            [{"jobId": "arr", "status": "PENDING", "arraySize": 3, "statusSummary": {"RUNNABLE": 3}}],
        )
        run_all(running)
        by_status, arrays = running.counts()
        assert by_status == {"SUCCEEDED": 2, "FAILED": 1}
        assert arrays == [
            {
                "jobId": "arr",
                "status": "FAILED",
                "arraySize": 3,
                "statusSummary": {"SUCCEEDED": 2, "FAILED": 1},
            }
        ]

    def test_terminating_a_child_leaves_its_siblings(self, tmp_path: Path, record: Path):
        """TerminateJob on child 1 before it runs fails that child only."""
        running = array_executor(FakeBatch([array_job("arr", 3)], {"attempts": 1}), tmp_path, record)
        running.discover()
        assert running.terminate("arr:1", "stop it")
        run_all(running)
        assert sorted(record.read_text().splitlines()) == ["arr:0 0 1 token", "arr:2 2 1 token"]
        assert running._jobs["arr:1"].status == "FAILED"
        assert running._jobs["arr"].status == "FAILED"

    def test_cancel_leaves_a_started_child_running(self, tmp_path: Path, record: Path):
        """CancelJob affects a queued child only; a child already running is left to finish."""
        running = array_executor(FakeBatch([array_job("arr", 2)], {"attempts": 1}), tmp_path, record)
        running.discover()
        running._jobs["arr:0"].attempts.append(Attempt(number=1, started_at=0))
        running._jobs["arr:0"].status = "RUNNING"
        assert not running.cancel("arr:0", "no")
        assert running.cancel("arr:1", "no")
        assert running._jobs["arr:1"].terminate_reason == "no"
        assert running._jobs["arr:0"].terminate_reason is None

    def test_described_children_carry_their_index_and_own_stream(self, tmp_path: Path, record: Path):
        """DescribeJobs of a child shows its arrayProperties.index and its own log stream."""
        running = array_executor(FakeBatch([array_job("arr", 2)], {"attempts": 1}), tmp_path, record)
        running.discover()
        child = running.overlay({"jobId": "arr:1", "container": {"logStreamName": "moto"}})
        assert child["arrayProperties"] == {"index": 1}
        assert child["container"]["logStreamName"] == "def/default/stream-1"
        parent = running.overlay({"jobId": "arr"})
        assert parent["arrayProperties"] == {"size": 2, "statusSummary": {"RUNNABLE": 2}}
