"""The local flock's Batch job end events: built as Batch sends them, matched by the template's rule."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest
from shepard_flock import load_template
from shepard_local._batch_events import (
    BatchEventBus,
    container_exit_code,
    job_state_change,
    matches,
    rule_of,
)
from shepard_local._executor import Executor

if TYPE_CHECKING:
    from pathlib import Path

QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/q"
CLAIM = "0123456789abcdef0123456789abcdef"
# The worker stands in for one killed by the kernel (OOM) or `kill -9`: it SIGKILLs itself.
KILLED_WORKER = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"


class OneArray:
    """A Batch client whose queue holds one array job of two children, as the emulator describes it."""

    def list_jobs(self, jobQueue: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's spelling
        return {"jobSummaryList": [{"jobId": "arr"}]}

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        return {
            "jobs": [
                {
                    "jobId": "arr",
                    "jobName": f"shepard-{CLAIM}",
                    "jobDefinition": "arn:jd",
                    "createdAt": 1_000,
                    "arrayProperties": {"size": 2},
                    "container": {"environment": [{"name": "SHEPARD_ARRAY_CLAIM", "value": CLAIM}]},
                }
            ]
        }

    def describe_job_definitions(self, jobDefinitions: list[str]) -> dict[str, Any]:  # noqa: N803
        strategy = {"attempts": 3, "evaluateOnExit": [{"onReason": "*", "action": "EXIT"}]}
        return {"jobDefinitions": [{"retryStrategy": strategy, "containerProperties": {"image": "i"}}]}


@pytest.fixture
def ended(tmp_path: Path) -> tuple[Executor, list[dict[str, Any]]]:
    """Return an executor of that array whose workers are killed by SIGKILL, and the events it emits."""
    emitted: list[dict[str, Any]] = []
    running = Executor(
        OneArray(),  # type: ignore[arg-type]
        job_queue="q",
        worker_command=[sys.executable, "-c", KILLED_WORKER],
        base_environment={},
        log_dir=tmp_path,
        concurrency=1,
        runtime_environment=lambda _job: {},
        on_end=lambda job: emitted.append(
            job_state_change(job, job_queue_arn=QUEUE_ARN, region="r", account="1")
        ),
    )
    running.discover()
    return running, emitted


def rule_pattern(template: Path) -> dict[str, Any]:
    """Return the pattern of the rule targeting the reconciler, its queue resolved to QUEUE_ARN."""
    resources = load_template(template)["Resources"]
    pattern = resources[rule_of(template, "ShepardReconcilerFunction")]["Properties"]["EventPattern"]
    assert pattern["detail"]["jobQueue"] == [{"Ref": "JobQueue"}]
    return {**pattern, "detail": {**pattern["detail"], "jobQueue": [QUEUE_ARN]}}


class TestEvents:
    def test_a_cancelled_pending_child_ends_failed_with_the_cancel_reason(self, ended):
        """A child cancelled before it ran emits FAILED, no attempt, the reason, its index and its claim."""
        running, emitted = ended
        assert running.cancel("arr:1", "Cancelled with shepard cancel job-1")
        running._pending.put(None)
        running._slot()
        cancelled = next(e["detail"] for e in emitted if e["detail"]["jobId"] == "arr:1")
        assert cancelled["status"] == "FAILED"
        assert cancelled["attempts"] == []
        assert cancelled["statusReason"] == "Cancelled with shepard cancel job-1"
        assert cancelled["arrayProperties"] == {"index": 1}
        assert cancelled["jobName"] == f"shepard-{CLAIM}"
        assert {"name": "SHEPARD_ARRAY_CLAIM", "value": CLAIM} in cancelled["container"]["environment"]

    def test_a_sigkilled_worker_s_last_attempt_ends_failed_with_exit_code_137(self, ended):
        """A worker killed by SIGKILL on its last attempt emits FAILED with the container's 137."""
        running, emitted = ended
        running._pending.put(None)
        running._slot()
        assert sorted(e["detail"]["jobId"] for e in emitted) == ["arr:0", "arr:1"]
        detail = emitted[0]["detail"]
        assert detail["status"] == "FAILED"
        [attempt] = detail["attempts"]
        assert attempt["container"]["exitCode"] == 137
        assert attempt["statusReason"] == "Essential container in task exited"
        assert detail["container"]["exitCode"] == 137
        assert emitted[0]["source"] == "aws.batch"
        assert emitted[0]["detail-type"] == "Batch Job State Change"

    def test_the_template_s_rule_takes_ends_of_its_queue_only(self, template, ended):
        """The rule matches FAILED and SUCCEEDED jobs of the flock's queue, nothing else."""
        pattern = rule_pattern(template)
        running, emitted = ended
        running._pending.put(None)
        running._slot()
        event = emitted[0]
        assert matches(pattern, event)
        succeeded = {**event, "detail": {**event["detail"], "status": "SUCCEEDED"}}
        assert matches(pattern, succeeded)
        for change in ({"status": "RUNNABLE"}, {"jobQueue": "arn:aws:batch:us-east-1:1:job-queue/other"}):
            assert not matches(pattern, {**event, "detail": {**event["detail"], **change}})
        assert not matches(pattern, {**event, "source": "aws.ecs"})

    def test_signal_deaths_read_as_a_container_s_exit_codes(self):
        """A process's -9 and -15 are the 137 and 143 a container reports; plain codes stay."""
        assert [container_exit_code(c) for c in (-9, -15, 0, 3, None)] == [137, 143, 0, 3, None]


class TestBus:
    def test_matching_events_reach_the_handler_and_a_failure_is_retried(self):
        """The bus delivers matching events in order, tries a failing invocation again, skips the rest."""
        seen: list[str] = []

        def handler(event: dict[str, Any], context: Any) -> None:
            seen.append(event["detail"]["jobId"])
            if len(seen) == 1:
                raise RuntimeError("the table is unreachable")
            assert context.function_name == "reconciler"

        bus = BatchEventBus(
            pattern={"source": ["aws.batch"], "detail": {"status": ["FAILED"]}},
            handler=handler,
            function_name="reconciler",
            region="us-east-1",
        )
        bus.start()
        for job_id, status in (("a", "FAILED"), ("b", "RUNNING"), ("c", "FAILED")):
            bus.publish({"source": "aws.batch", "detail": {"jobId": job_id, "status": status}})
        bus.stop()
        assert seen == ["a", "a", "c"]
        assert bus.delivered == 2
        assert bus.dead_letters == 0
