"""The worker moves a job's status count with each write that takes its row to another group, exactly once."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from shepard_core import (
    GROUP_OF,
    LIST_GROUP,
    LIST_TAG,
    LIST_TIME,
    Attr,
    GroupMove,
    JobStatus,
    StatusGroup,
    is_counter_key,
    list_attributes,
    parse_counter_items,
    transact_counted,
)
from shepard_worker import ExitCode, run_job

TAG = "exp-7"
OK_SH = {"run.sh": 'echo hi > "$ROOT_OUTPUT_NAME/out.txt"\n'}
FAIL_SH = {"run.sh": "exit 3\n"}


class WritesBeforeFirstRowWrite:
    """A DynamoDB client that runs `action` once, just before the worker's first row write."""

    def __init__(self, client: Any, action: Any) -> None:
        self._client = client
        self._action = action

    def _before(self) -> None:
        if self._action is not None:
            action, self._action = self._action, None
            action()

    def update_item(self, **kwargs: Any) -> Any:
        self._before()
        return self._client.update_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._before()
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def schedule_counted(flock, status: JobStatus = JobStatus.SUBMITTED, *, attempt: int | None = None) -> None:
    """Make job-1 (TAG exp-7) as the scheduler does: its row, its list attributes and its creation count."""
    flock.quick_deploy("qd", OK_SH)
    flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd", "TAG": TAG}, status=status, attempt=attempt)
    group = GROUP_OF[status]
    listed = list_attributes("job-1", group, "2026-01-01T00:00:00.000Z", TAG)
    update = {
        "Update": {
            "TableName": flock.TABLE,
            "Key": {"UUID": {"S": "job-1"}},
            "UpdateExpression": "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(listed))),
            "ExpressionAttributeNames": {f"#a{i}": name for i, name in enumerate(listed)},
            "ExpressionAttributeValues": {f":a{i}": value for i, value in enumerate(listed.values())},
        }
    }
    transact_counted(flock.dynamodb, flock.TABLE, [update], [GroupMove(None, group, TAG)])


def items(flock) -> list[dict[str, Any]]:
    """Return every item of the table."""
    pages = flock.dynamodb.get_paginator("scan").paginate(TableName=flock.TABLE, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def counted(flock) -> tuple[dict[StatusGroup, int], dict[StatusGroup, int]]:
    """Return the counters' non-zero counts per group, in all and for TAG exp-7."""
    counts = parse_counter_items(item for item in items(flock) if is_counter_key(item["UUID"]["S"]))
    tagged = counts.tags.get(TAG, {})
    return (
        {group: n for group, n in counts.groups.items() if n},
        {group: n for group, n in tagged.items() if n},
    )


def scanned(flock) -> dict[StatusGroup, int]:
    """Return the job rows per status group, by a full scan."""
    rows = [item for item in items(flock) if Attr.JOB_STATUS in item]
    return dict(Counter(GROUP_OF[JobStatus(row[Attr.JOB_STATUS]["S"])] for row in rows))


def run(flock, dynamodb: Any = None, **overrides: str):
    return run_job(
        flock.config("job-1", **overrides),
        dynamodb=dynamodb or flock.dynamodb,
        handle_signals=False,
        echo=io.BytesIO(),
    )


class TestOneJobCountsOnce:
    def test_a_job_s_whole_life_counts_once_in_complete(self, flock) -> None:
        """Submitted -> running -> complete: the counters end with the job in complete alone, TAG too."""
        schedule_counted(flock)
        assert counted(flock) == ({StatusGroup.SUBMITTED: 1}, {StatusGroup.SUBMITTED: 1})
        result = run(flock)
        assert result.exit_code == ExitCode.OK, result.reason
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})
        assert scanned(flock) == {StatusGroup.COMPLETE: 1}
        row = flock.row()
        assert row[LIST_GROUP]["S"].startswith("complete#")
        assert row[LIST_TAG]["S"].startswith(f"{TAG}#")
        assert row[LIST_TIME]["S"] == "2026-01-01T00:00:00.000Z#job-1"

    def test_a_failed_payload_counts_once_in_failed(self, flock) -> None:
        """A payload that exits 3 leaves the job counted in failed, and nowhere else."""
        schedule_counted(flock)
        flock.quick_deploy("qd", FAIL_SH)
        result = run(flock)
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        assert counted(flock) == ({StatusGroup.FAILED: 1}, {StatusGroup.FAILED: 1})
        assert flock.row()[LIST_GROUP]["S"].startswith("failed#")

    def test_a_refused_claim_moves_nothing(self, flock) -> None:
        """A duplicate attempt of a complete job is refused, and the counts stay as they were."""
        schedule_counted(flock)
        assert run(flock).exit_code == ExitCode.OK
        again = run(flock, AWS_BATCH_JOB_ATTEMPT="2")
        assert again.exit_code == ExitCode.OK
        assert "already complete" in (again.reason or "")
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})

    def test_an_equal_attempt_s_refused_claim_moves_nothing(self, flock) -> None:
        """Attempt 1 of a row attempt 1 holds (running) is refused; the job stays counted in running."""
        schedule_counted(flock, JobStatus.IN_PROGRESS, attempt=1)
        result = run(flock)
        assert result.exit_code == ExitCode.CLAIM_REFUSED
        assert counted(flock) == ({StatusGroup.RUNNING: 1}, {StatusGroup.RUNNING: 1})

    def test_a_later_attempt_takes_over_a_failed_one_exactly(self, flock) -> None:
        """Failed -> running -> complete: attempt 2 takes the failed job out of failed and into complete."""
        schedule_counted(flock, JobStatus.JOB_FAILED, attempt=1)
        assert counted(flock) == ({StatusGroup.FAILED: 1}, {StatusGroup.FAILED: 1})
        result = run(flock, AWS_BATCH_JOB_ATTEMPT="2")
        assert result.exit_code == ExitCode.OK, result.reason
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})
        assert scanned(flock) == {StatusGroup.COMPLETE: 1}

    def test_a_later_attempt_takes_over_a_running_one_without_moving_a_count(self, flock) -> None:
        """Running -> running (attempt 2 over a killed attempt 1) -> complete counts the job once."""
        schedule_counted(flock, JobStatus.CALLING_PAYLOAD_CODE, attempt=1)
        result = run(flock, AWS_BATCH_JOB_ATTEMPT="2")
        assert result.exit_code == ExitCode.OK, result.reason
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})


class TestRowsFromBeforeTheCounters:
    def test_a_row_without_list_attributes_moves_no_count(self, flock) -> None:
        """A row written before the counters existed runs to its end and leaves the counters as they were."""
        flock.quick_deploy("qd", OK_SH)
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd", "TAG": TAG})
        result = run(flock)
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.job().status is JobStatus.JOB_COMPLETE
        assert counted(flock) == ({}, {})
        assert not [item for item in items(flock) if is_counter_key(item["UUID"]["S"])]


class TestStatusMovedUnderTheClaim:
    def test_a_status_recorded_between_read_and_claim_is_read_again_and_claimed(self, flock) -> None:
        """`submitted` is recorded after the child read `not_yet_initiated`: re-read, then claimed."""
        schedule_counted(flock, JobStatus.NOT_YET_INITIATED)

        def record() -> None:
            flock.dynamodb.update_item(
                TableName=flock.TABLE,
                Key={"UUID": {"S": "job-1"}},
                UpdateExpression="SET JOB_STATUS = :submitted",
                ExpressionAttributeValues={":submitted": {"S": JobStatus.SUBMITTED.value}},
            )

        result = run(flock, WritesBeforeFirstRowWrite(flock.dynamodb, record))
        assert result.exit_code == ExitCode.OK, result.reason
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})

    def test_a_job_ended_between_read_and_claim_is_refused_and_counted_once(self, flock) -> None:
        """Another writer ends the job (counted) after the worker read it: the claim moves nothing."""
        schedule_counted(flock)

        def end() -> None:
            transact_counted(
                flock.dynamodb,
                flock.TABLE,
                [
                    {
                        "Update": {
                            "TableName": flock.TABLE,
                            "Key": {"UUID": {"S": "job-1"}},
                            "UpdateExpression": "SET JOB_STATUS = :failed",
                            "ExpressionAttributeValues": {":failed": {"S": JobStatus.JOB_FAILED.value}},
                        }
                    }
                ],
                [GroupMove(StatusGroup.SUBMITTED, StatusGroup.FAILED, TAG)],
            )

        result = run(flock, WritesBeforeFirstRowWrite(flock.dynamodb, end))
        assert result.exit_code == ExitCode.OK, result.reason
        # A failed job is claimable: the re-read finds it failed and attempt 1 takes it on.
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})

    def test_a_job_completed_between_read_and_claim_is_refused_with_nothing_moved(self, flock) -> None:
        """Another attempt completes the job after this one read it: refused, counted once in complete."""
        schedule_counted(flock)

        def complete() -> None:
            transact_counted(
                flock.dynamodb,
                flock.TABLE,
                [
                    {
                        "Update": {
                            "TableName": flock.TABLE,
                            "Key": {"UUID": {"S": "job-1"}},
                            "UpdateExpression": "SET JOB_STATUS = :done, SHEPARD_ATTEMPT = :two",
                            "ExpressionAttributeValues": {
                                ":done": {"S": JobStatus.JOB_COMPLETE.value},
                                ":two": {"N": "2"},
                            },
                        }
                    }
                ],
                [GroupMove(StatusGroup.SUBMITTED, StatusGroup.COMPLETE, TAG)],
            )

        result = run(flock, WritesBeforeFirstRowWrite(flock.dynamodb, complete))
        assert result.exit_code == ExitCode.CLAIM_REFUSED
        assert "was claimed by another worker (or finished)" in (result.reason or "")
        assert counted(flock) == ({StatusGroup.COMPLETE: 1}, {StatusGroup.COMPLETE: 1})
        assert flock.keys(flock.OUTPUTS) == []


SIZED = {
    "SHEPARD_INSTANCE_TYPE": "local.flock",
    "SHEPARD_CAPACITY_TYPE": "on-demand",
    "SHEPARD_JOB_VCPUS": "2",
    "SHEPARD_JOB_MEMORY_MIB": "4096",
}


def usage_counted(flock) -> dict[Any, Any]:
    """Return the usage sums the counter items hold."""
    return dict(parse_counter_items(item for item in items(flock) if is_counter_key(item["UUID"]["S"])).usage)


class TestUsageCountedOnce:
    def test_a_complete_job_s_run_time_lands_in_the_usage_counter_as_its_row_records_it(self, flock) -> None:
        """The end write adds the row's own run time, under its instance, size and TAG, once."""
        schedule_counted(flock)
        assert run(flock, **SIZED).exit_code == ExitCode.OK
        job = flock.job()
        assert job.run_started_ms is not None
        assert job.run_ended_ms is not None
        [(key, total)] = usage_counted(flock).items()
        assert (key.instance_type, key.capacity_type, key.vcpus, key.memory_mib, key.tag) == (
            "local.flock",
            "on-demand",
            2.0,
            4096,
            TAG,
        )
        assert (total.run_ms, total.jobs) == (job.run_ended_ms - job.run_started_ms, 1)

    def test_a_failed_payload_counts_its_run_time_too(self, flock) -> None:
        """A failed job held its instance as long as it ran: its run time is counted once."""
        schedule_counted(flock)
        flock.quick_deploy("qd", FAIL_SH)
        assert run(flock, **SIZED).exit_code == ExitCode.PAYLOAD_FAILED
        [total] = usage_counted(flock).values()
        assert total.jobs == 1

    def test_a_refused_duplicate_adds_no_usage(self, flock) -> None:
        """A second attempt of a complete job is refused and the usage stays that of the first run."""
        schedule_counted(flock)
        assert run(flock, **SIZED).exit_code == ExitCode.OK
        first = usage_counted(flock)
        again = run(flock, AWS_BATCH_JOB_ATTEMPT="2", **SIZED)
        assert "already complete" in (again.reason or "")
        assert usage_counted(flock) == first

    def test_a_job_whose_instance_is_unknown_is_counted_unpriced(self, flock) -> None:
        """Without an instance type the run time goes to the unpriced counter of the job's TAG."""
        schedule_counted(flock)
        assert run(flock).exit_code == ExitCode.OK
        [(key, total)] = usage_counted(flock).items()
        assert (key.instance_type, key.tag, total.jobs) == (None, TAG, 1)

    def test_a_row_from_before_the_counters_adds_no_usage(self, flock) -> None:
        """A row the counters never saw created moves no count, and so adds no usage either."""
        flock.quick_deploy("qd", OK_SH)
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd", "TAG": TAG})
        assert run(flock, **SIZED).exit_code == ExitCode.OK
        assert usage_counted(flock) == {}
