"""An array child finds its job in the manifest, and only the array that owns a job's row runs it."""

from __future__ import annotations

import io
from typing import Any

from shepard_core import Attr, JobStatus
from shepard_worker import ExitCode, run_job

TOKEN = "a" * 32
OTHER = "b" * 32
ARRAY = "0f2e6c1a-array"
RUN_SH = {"run.sh": 'printf "%s" "$UUID" > "$ROOT_OUTPUT_NAME/uuid.txt"\n'}


def child_env(index: int, *, token: str = TOKEN, attempt: int = 1) -> dict[str, str]:
    """Return the overrides Batch and the scheduler give array child `index` (no UUID)."""
    return {
        "UUID": "",
        "SHEPARD_ARRAY_CLAIM": token,
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
        "AWS_BATCH_JOB_ID": f"{ARRAY}:{index}",
        "AWS_BATCH_JOB_ATTEMPT": str(attempt),
    }


def run(flock, dynamodb: Any = None, **env: str):
    return run_job(
        flock.config("", **env), dynamodb=dynamodb or flock.dynamodb, handle_signals=False, echo=io.BytesIO()
    )


class CountingDynamoDB:
    """A DynamoDB client that counts GetItem calls per key and can act just before the first row write.

    A row write is an UpdateItem, or a TransactWriteItems (a write that moves the status counters too).
    """

    def __init__(self, client: Any, before_update: Any = None) -> None:
        self._client = client
        self._before_update = before_update
        self.gets: list[str] = []

    def get_item(self, **kwargs: Any) -> Any:
        self.gets.append(kwargs["Key"]["UUID"]["S"])
        return self._client.get_item(**kwargs)

    def _before_write(self) -> None:
        if self._before_update is not None:
            action, self._before_update = self._before_update, None
            action()

    def update_item(self, **kwargs: Any) -> Any:
        self._before_write()
        return self._client.update_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._before_write()
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class TestChildFindsItsJob:
    def test_a_child_runs_the_job_at_its_index_and_records_its_batch_id(self, flock) -> None:
        """Child 1 runs the manifest's second job with one manifest read and records its own Batch job id."""
        # GIVEN an array of three jobs claimed by TOKEN
        flock.quick_deploy("qd", RUN_SH)
        jobs = ["job-a", "job-b", "job-c"]
        for job in jobs:
            flock.schedule(job, inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, jobs)
        counting = CountingDynamoDB(flock.dynamodb)
        # WHEN child 1 runs
        result = run(flock, counting, **child_env(1))
        # THEN it ran job-b only, read the manifest once, and the row names its child id
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.zip(flock.OUTPUTS, result.output_keys[0]).read("uuid.txt") == b"job-b"
        assert [key for key in counting.gets if key.startswith("SHEPARD_ARRAY#")] == [
            f"SHEPARD_ARRAY#{TOKEN}#0"
        ]
        row = flock.job("job-b")
        assert row.status is JobStatus.JOB_COMPLETE
        assert row.batch_job_id == f"{ARRAY}:1"
        assert flock.job("job-a").status is JobStatus.SUBMITTED
        assert flock.job("job-c").status is JobStatus.SUBMITTED

    def test_a_child_past_the_first_thousand_reads_the_second_manifest_item(self, flock) -> None:
        """Child 1,001 finds its job at position 1 of manifest item 1."""
        flock.quick_deploy("qd", RUN_SH)
        jobs = [f"job-{i}" for i in range(1_002)]
        flock.schedule("job-1001", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, jobs)
        result = run(flock, **child_env(1_001))
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.zip(flock.OUTPUTS, result.output_keys[0]).read("uuid.txt") == b"job-1001"

    def test_a_plain_job_with_a_claim_runs_its_uuid(self, flock) -> None:
        """A group of one (UUID and claim token, no index) runs its job and records its Batch job id."""
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("solo", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        result = run(flock, UUID="solo", SHEPARD_ARRAY_CLAIM=TOKEN, AWS_BATCH_JOB_ID="plain-id")
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.job("solo").batch_job_id == "plain-id"


class TestFence:
    def test_a_row_claimed_by_another_array_is_left_alone(self, flock) -> None:
        """A child whose job's row names another claim token exits 0 and changes nothing."""
        # GIVEN a job re-claimed by another array after this array was submitted
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("job-a", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=OTHER)
        flock.manifest(TOKEN, ["job-a"])
        before = flock.row("job-a")
        # WHEN this array's child runs
        result = run(flock, **child_env(0))
        # THEN it refuses in one logged reason, and the row and buckets are untouched
        assert result.exit_code == ExitCode.OK
        assert f"belongs to claim {OTHER}" in (result.reason or "")
        assert flock.row("job-a") == before
        assert flock.keys(flock.OUTPUTS) == []
        assert flock.keys(flock.ERRORS) == []

    def test_a_row_without_a_claim_is_left_alone_by_a_claimed_worker(self, flock) -> None:
        """A worker with a claim token does not run a row that names no claim."""
        flock.schedule("job-a", inputs={})
        flock.manifest(TOKEN, ["job-a"])
        before = flock.row("job-a")
        result = run(flock, **child_env(0))
        assert result.exit_code == ExitCode.OK
        assert "belongs to no claim" in (result.reason or "")
        assert flock.row("job-a") == before

    def test_a_claim_moved_between_read_and_update_is_refused_by_the_condition(self, flock) -> None:
        """When another array takes the row after the child read it, the conditional claim fails: exit 0."""
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("job-a", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, ["job-a"])

        def steal() -> None:
            flock.dynamodb.update_item(
                TableName=flock.TABLE,
                Key={"UUID": {"S": "job-a"}},
                UpdateExpression="SET #claim = :other",
                ExpressionAttributeNames={"#claim": Attr.ARRAY_CLAIM},
                ExpressionAttributeValues={":other": {"S": OTHER}},
            )

        result = run(flock, CountingDynamoDB(flock.dynamodb, before_update=steal), **child_env(0))
        assert result.exit_code == ExitCode.OK
        assert f"belongs to claim {OTHER}" in (result.reason or "")
        row = flock.job("job-a")
        assert (row.status, row.attempt, row.batch_job_id) == (JobStatus.SUBMITTED, None, None)
        assert flock.keys(flock.OUTPUTS) == []

    def test_a_missing_manifest_exits_0_saying_so(self, flock) -> None:
        """A child whose array has no manifest item exits 0 and names the missing item."""
        result = run(flock, **child_env(4))
        assert result.exit_code == ExitCode.OK
        assert f"no manifest item SHEPARD_ARRAY#{TOKEN}#0" in (result.reason or "")
        assert flock.keys(flock.ERRORS) == []

    def test_an_index_past_the_manifest_exits_0(self, flock) -> None:
        """A child whose index the manifest does not reach exits 0."""
        flock.manifest(TOKEN, ["job-a"])
        result = run(flock, **child_env(1))
        assert result.exit_code == ExitCode.OK
        assert "lists only 1" in (result.reason or "")

    def test_a_missing_row_exits_0_for_a_claimed_worker(self, flock) -> None:
        """A child whose job's row is gone exits 0 without writing anything."""
        flock.manifest(TOKEN, ["gone"])
        result = run(flock, **child_env(0))
        assert result.exit_code == ExitCode.OK
        assert "gone has no row" in (result.reason or "")
        assert flock.keys(flock.ERRORS) == []
        assert "Item" not in flock.dynamodb.get_item(TableName=flock.TABLE, Key={"UUID": {"S": "gone"}})


class TestRetry:
    def test_a_retried_child_takes_over_its_own_row(self, flock) -> None:
        """Attempt 2 of the same child (same claim) takes over a row attempt 1 left running."""
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule(
            "job-a",
            inputs={"QUICK_DEPLOY_DIRECTORY": "qd"},
            claim=TOKEN,
            status=JobStatus.CALLING_PAYLOAD_CODE,
            attempt=1,
        )
        flock.manifest(TOKEN, ["job-a"])
        result = run(flock, **child_env(0, attempt=2))
        assert result.exit_code == ExitCode.OK, result.reason
        row = flock.job("job-a")
        assert (row.status, row.attempt) == (JobStatus.JOB_COMPLETE, 2)

    def test_an_equal_attempt_of_the_same_child_is_refused(self, flock) -> None:
        """A duplicate of attempt 1 cannot claim the row attempt 1 holds."""
        flock.schedule("job-a", inputs={}, claim=TOKEN, status=JobStatus.CALLING_PAYLOAD_CODE, attempt=1)
        flock.manifest(TOKEN, ["job-a"])
        result = run(flock, **child_env(0))
        assert result.exit_code == ExitCode.CLAIM_REFUSED
        assert flock.job("job-a").status is JobStatus.CALLING_PAYLOAD_CODE


DUPLICATE = "7c41d9b2-duplicate"
"""A second Batch array carrying the same claim token: a SubmitJob the SDK resent after it had succeeded."""


def hold(flock, job_uuid: str, *, batch_job_id: str, attempt: int) -> None:
    """Make the row read as held by `attempt` of Batch job `batch_job_id`, mid-payload."""
    flock.dynamodb.update_item(
        TableName=flock.TABLE,
        Key={"UUID": {"S": job_uuid}},
        UpdateExpression="SET #batch = :batch, #attempt = :attempt, #status = :status",
        ExpressionAttributeNames={
            "#batch": Attr.BATCH_JOB_ID,
            "#attempt": Attr.ATTEMPT,
            "#status": Attr.JOB_STATUS,
        },
        ExpressionAttributeValues={
            ":batch": {"S": batch_job_id},
            ":attempt": {"N": str(attempt)},
            ":status": {"S": JobStatus.CALLING_PAYLOAD_CODE.value},
        },
    )


def duplicate_env(index: int, *, attempt: int) -> dict[str, str]:
    """Return the overrides of child `index` of the duplicate array: same claim token, its own Batch id."""
    return {**child_env(index, attempt=attempt), "AWS_BATCH_JOB_ID": f"{DUPLICATE}:{index}"}


class TestDuplicateSubmission:
    def test_a_duplicates_later_attempt_never_takes_over_from_the_holder(self, flock) -> None:
        """Attempt 2 of a duplicate Batch job (same token) leaves the original's attempt 1 its row."""
        # GIVEN the original's attempt 1 running the payload; the duplicate's attempt 1 died before claiming
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("job-a", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, ["job-a"])
        hold(flock, "job-a", batch_job_id=f"{ARRAY}:0", attempt=1)
        before = flock.row("job-a")
        # WHEN the duplicate's attempt 2 starts
        result = run(flock, **duplicate_env(0, attempt=2))
        # THEN it runs nothing, says which Batch job holds the row, and changes nothing
        assert result.exit_code == ExitCode.OK
        assert f"held by attempt 1 of Batch job {ARRAY}:0" in (result.reason or "")
        assert flock.row("job-a") == before
        assert flock.keys(flock.OUTPUTS) == []
        assert flock.keys(flock.ERRORS) == []

    def test_a_duplicates_first_attempt_is_left_out_too(self, flock) -> None:
        """Attempt 1 of a duplicate Batch job cannot claim a row attempt 1 of the original holds."""
        flock.schedule("job-a", inputs={}, claim=TOKEN)
        flock.manifest(TOKEN, ["job-a"])
        hold(flock, "job-a", batch_job_id=f"{ARRAY}:0", attempt=1)
        before = flock.row("job-a")
        result = run(flock, **duplicate_env(0, attempt=1))
        assert result.exit_code == ExitCode.OK
        assert flock.row("job-a") == before

    def test_the_holders_own_later_attempt_still_takes_over(self, flock) -> None:
        """Attempt 3 of the Batch job that holds the row takes it over and runs the job."""
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("job-a", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, ["job-a"])
        hold(flock, "job-a", batch_job_id=f"{DUPLICATE}:0", attempt=2)
        result = run(flock, **duplicate_env(0, attempt=3))
        assert result.exit_code == ExitCode.OK, result.reason
        row = flock.job("job-a")
        assert (row.status, row.attempt, row.batch_job_id) == (JobStatus.JOB_COMPLETE, 3, f"{DUPLICATE}:0")

    def test_the_original_claiming_between_read_and_update_fences_the_duplicate(self, flock) -> None:
        """When the original claims after the duplicate read the row, the conditional claim refuses it."""
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("job-a", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, ["job-a"])

        def original_claims() -> None:
            hold(flock, "job-a", batch_job_id=f"{ARRAY}:0", attempt=1)

        counting = CountingDynamoDB(flock.dynamodb, before_update=original_claims)
        result = run(flock, counting, **duplicate_env(0, attempt=2))
        assert result.exit_code == ExitCode.OK
        assert f"held by attempt 1 of Batch job {ARRAY}:0" in (result.reason or "")
        row = flock.job("job-a")
        assert (row.attempt, row.batch_job_id) == (1, f"{ARRAY}:0")
        assert flock.keys(flock.OUTPUTS) == []

    def test_whichever_claims_first_is_the_one_that_runs(self, flock) -> None:
        """With both jobs alive the first to claim runs the job; the other, whatever its attempt, does not."""
        flock.quick_deploy("qd", RUN_SH)
        flock.schedule("job-a", inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, claim=TOKEN)
        flock.manifest(TOKEN, ["job-a"])
        first = run(flock, **duplicate_env(0, attempt=1))
        assert first.exit_code == ExitCode.OK, first.reason
        second = run(flock, **child_env(0, attempt=2))
        assert second.exit_code == ExitCode.OK
        assert len(flock.keys(flock.OUTPUTS)) == 1
        assert flock.job("job-a").batch_job_id == f"{DUPLICATE}:0"
