"""Each row the scheduler creates, and each end the reconciler records, moves the status counts once."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from shepard_core import (
    GROUP_OF,
    LIST_GROUP,
    LIST_TAG,
    LIST_TIME,
    Attr,
    GroupMove,
    JobStatus,
    StatusGroup,
    list_group_value,
    transact_counted,
)
from shepard_scheduler import ReconcilerConfig, endpoint, s3_events
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._reconcile import ReconcileKind, Reconciler
from shepard_testing import ResourceNames

TABLE = ResourceNames().table
EVENTS = Path(__file__).parent / "events"


def event_for(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """Return the recorded Batch event `name`, retargeted at the Batch job, claim and UUID of `row`."""
    event = json.loads((EVENTS / f"{name}.json").read_text())
    detail = event["detail"]
    detail["jobId"] = row[Attr.BATCH_JOB_ID]
    detail["jobName"] = f"shepard-{row[Attr.ARRAY_CLAIM]}"
    for variable in detail["container"]["environment"]:
        if variable["name"] == "SHEPARD_ARRAY_CLAIM":
            variable["value"] = row[Attr.ARRAY_CLAIM]
        if variable["name"] == "UUID":
            variable["value"] = row["UUID"]
    if "arrayProperties" in detail:
        detail["arrayProperties"]["index"] = int(detail["jobId"].rpartition(":")[2])
    return event


def groups(flock) -> dict[StatusGroup, int]:
    """Return the counters' non-zero counts per status group."""
    return {group: n for group, n in flock.counts().groups.items() if n}


def tagged(flock, tag: str) -> dict[StatusGroup, int]:
    """Return the counters' non-zero counts per status group for one TAG."""
    return {group: n for group, n in flock.counts().tags.get(tag, {}).items() if n}


def scanned(flock) -> dict[StatusGroup, int]:
    """Return the job rows per status group, by a full scan."""
    return dict(Counter(GROUP_OF[JobStatus(row[Attr.JOB_STATUS])] for row in flock.rows()))


def upload(flock, key: str, tag: str | None = None, **inputs: str) -> None:
    """Upload a valid job zip (with a TAG when given)."""
    fields = {"n": key, **inputs, **({"TAG": tag} if tag else {})}
    flock.upload(key, {"inputs.txt": json.dumps(fields)})


class MovesRowFirst:
    """A DynamoDB client that runs `action` once, just before the first transaction it is asked for."""

    def __init__(self, client: Any, action: Any) -> None:
        self._client = client
        self._action = action

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self._action is not None:
            action, self._action = self._action, None
            action()
        return self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def move_row(
    flock, job_id: str, status: JobStatus, before: JobStatus, tag: str | None, **numbers: int
) -> None:
    """Move a row to `status` as a worker does: its status, numbers and count in one transaction."""
    values = {":status": {"S": status.value}, **{f":{k}": {"N": str(v)} for k, v in numbers.items()}}
    sets = [
        "JOB_STATUS = :status",
        *(f"{name} = :{key}" for key, name in _NUMBER_NAMES.items() if key in numbers),
    ]
    transact_counted(
        flock.dynamodb,
        TABLE,
        [
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"UUID": {"S": job_id}},
                    "UpdateExpression": "SET " + ", ".join(sets),
                    "ExpressionAttributeValues": values,
                }
            }
        ],
        [GroupMove(GROUP_OF[before], GROUP_OF[status], tag)],
    )


_NUMBER_NAMES = {"attempt": Attr.ATTEMPT}


class TestCreation:
    def test_a_new_job_is_counted_in_submitted_with_its_tag_and_list_keys(self, flock, context):
        """One upload: one row counted in submitted, in all and for its TAG, with its three list keys."""
        upload(flock, "a.zip", tag="night")
        assert s3_events.handler(flock.job_messages(), context) == {"batchItemFailures": []}
        assert groups(flock) == {StatusGroup.SUBMITTED: 1}
        assert tagged(flock, "night") == {StatusGroup.SUBMITTED: 1}
        [row] = flock.rows()
        assert row[LIST_GROUP] == list_group_value(StatusGroup.SUBMITTED, row["UUID"])
        assert row[LIST_TAG].rpartition("#")[0] == "night"
        created, _, uuid = row[LIST_TIME].partition("#")
        assert uuid == row["UUID"]
        assert created.endswith("Z")

    def test_a_tag_in_any_case_is_the_tag_counted(self, flock, context):
        """`tag` spelled in lower case counts under its value, as the worker's error zips name it."""
        flock.upload("a.zip", {"inputs.txt": json.dumps({"tag": "dawn"})})
        s3_events.handler(flock.job_messages(), context)
        assert tagged(flock, "dawn") == {StatusGroup.SUBMITTED: 1}

    def test_a_duplicate_delivery_counts_once(self, flock, context):
        """The same S3 event delivered twice (and a third time) makes one row, counted once."""
        upload(flock, "a.zip", tag="night")
        event = flock.job_messages()
        for _ in range(3):
            assert s3_events.handler(event, context) == {"batchItemFailures": []}
        assert groups(flock) == {StatusGroup.SUBMITTED: 1}
        assert tagged(flock, "night") == {StatusGroup.SUBMITTED: 1}

    def test_a_batch_with_rows_that_exist_counts_only_the_new_ones(self, flock, context):
        """A batch whose transaction refuses existing rows resends the rest and counts only those."""
        upload(flock, "a.zip", tag="night")
        first = flock.job_messages()
        s3_events.handler(first, context)
        upload(flock, "b.zip", tag="night")
        upload(flock, "c.zip", tag="day")
        second = flock.job_messages()
        both = {"Records": first["Records"] + second["Records"]}
        assert s3_events.handler(both, context) == {"batchItemFailures": []}
        assert groups(flock) == {StatusGroup.SUBMITTED: 3} == scanned(flock)
        assert tagged(flock, "night") == {StatusGroup.SUBMITTED: 2}
        assert tagged(flock, "day") == {StatusGroup.SUBMITTED: 1}

    def test_an_array_of_many_jobs_counts_each_once(self, flock, context):
        """Twelve uploads in one batch, two TAGs: each counted once, per TAG too."""
        for number in range(12):
            upload(flock, f"many/{number}.zip", tag="even" if number % 2 == 0 else "odd")
        assert s3_events.handler(flock.job_messages(), context) == {"batchItemFailures": []}
        assert groups(flock) == {StatusGroup.SUBMITTED: 12} == scanned(flock)
        assert tagged(flock, "even") == tagged(flock, "odd") == {StatusGroup.SUBMITTED: 6}

    def test_a_rejected_upload_counts_once_in_rejected(self, flock, context):
        """An invalid inputs.txt makes a rejected row counted in rejected, once however often delivered."""
        flock.upload("bad.zip", {"inputs.txt": "{"})
        event = flock.job_messages()
        s3_events.handler(event, context)
        s3_events.handler(event, context)
        assert groups(flock) == {StatusGroup.REJECTED: 1} == scanned(flock)
        [row] = flock.rows()
        assert row[LIST_GROUP] == list_group_value(StatusGroup.REJECTED, row["UUID"])

    def test_endpoint_jobs_and_rejections_are_counted(self, flock, context):
        """An endpoint list of three jobs, one invalid: two submitted, one rejected; the retry adds none."""
        jobs = [{"TAG": "api"}, {"TAG": "api", "x": "1"}, {"UUID": "reserved"}]
        for _ in range(2):
            response = endpoint.handler(jobs, context)
            assert response["statusCode"] < 500, response
        assert groups(flock) == {StatusGroup.SUBMITTED: 2, StatusGroup.REJECTED: 1} == scanned(flock)
        assert tagged(flock, "api") == {StatusGroup.SUBMITTED: 2}


@pytest.fixture
def reconciler_for(flock):
    """Return a function making a reconciling core on the flock, with an optional DynamoDB client wrapper."""

    def make(wrap: Any = None) -> Reconciler:
        clients = aws_clients(os.environ)
        dynamodb = clients.dynamodb if wrap is None else wrap(clients.dynamodb)
        return Reconciler(
            ReconcilerConfig.from_env(os.environ), dynamodb_client=dynamodb, s3_client=clients.s3
        )

    return make


@pytest.fixture
def job(flock, context):
    """Schedule one plain job (TAG night); return its row."""
    upload(flock, "a.zip", tag="night")
    s3_events.handler(flock.job_messages(), context)
    [row] = flock.rows()
    return row


class TestReconcilerCounts:
    def test_an_end_moves_the_job_to_failed_once(self, flock, job, reconciler_for):
        """A cancelled job ends in failed; the same event again moves nothing."""
        event = event_for("batch_plain_job_killed", job)
        core = reconciler_for()
        assert core.reconcile(event).kind is ReconcileKind.RECORDED
        assert core.reconcile(event).kind is ReconcileKind.LEFT_ALONE
        assert groups(flock) == {StatusGroup.FAILED: 1} == scanned(flock)
        assert tagged(flock, "night") == {StatusGroup.FAILED: 1}
        assert flock.row(job["UUID"])[LIST_GROUP] == list_group_value(StatusGroup.FAILED, job["UUID"])

    def test_an_end_of_a_running_job_moves_it_from_running(self, flock, job, reconciler_for):
        """A worker killed mid-payload: its job moves from running to failed."""
        move_row(flock, job["UUID"], JobStatus.CALLING_PAYLOAD_CODE, JobStatus.SUBMITTED, "night", attempt=1)
        assert (
            reconciler_for().reconcile(event_for("batch_plain_job_killed", job)).kind
            is ReconcileKind.RECORDED
        )
        assert groups(flock) == {StatusGroup.FAILED: 1}

    def test_a_worker_moving_the_row_first_is_read_again(self, flock, job, reconciler_for):
        """The worker claims the row between the reconciler's read and write: the end is decided again."""

        def claim() -> None:
            move_row(flock, job["UUID"], JobStatus.IN_PROGRESS, JobStatus.SUBMITTED, "night", attempt=1)

        core = reconciler_for(lambda client: MovesRowFirst(client, claim))
        assert core.reconcile(event_for("batch_plain_job_killed", job)).kind is ReconcileKind.RECORDED
        assert flock.row(job["UUID"])[Attr.JOB_STATUS] == JobStatus.JOB_FAILED.value
        assert groups(flock) == {StatusGroup.FAILED: 1} == scanned(flock)
        assert tagged(flock, "night") == {StatusGroup.FAILED: 1}

    @pytest.mark.parametrize("final", [JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED])
    def test_a_worker_ending_the_row_first_leaves_one_count(self, flock, job, reconciler_for, final):
        """The worker records the end between the reconciler's read and write: the row is left alone."""

        def finish() -> None:
            move_row(flock, job["UUID"], final, JobStatus.SUBMITTED, "night", attempt=1)

        core = reconciler_for(lambda client: MovesRowFirst(client, finish))
        outcome = core.reconcile(event_for("batch_plain_job_killed", job))
        assert outcome.kind is ReconcileKind.LEFT_ALONE
        assert "final already" in outcome.reason
        assert groups(flock) == {GROUP_OF[final]: 1} == scanned(flock)

    def test_an_end_of_a_row_from_before_the_counters_moves_no_count(self, flock, job, reconciler_for):
        """A row without LIST_TIME (written before the counters) is ended but moves no count."""
        flock.dynamodb.update_item(
            TableName=TABLE, Key={"UUID": {"S": job["UUID"]}}, UpdateExpression=f"REMOVE {LIST_TIME}"
        )
        assert (
            reconciler_for().reconcile(event_for("batch_plain_job_killed", job)).kind
            is ReconcileKind.RECORDED
        )
        assert flock.row(job["UUID"])[Attr.JOB_STATUS] == JobStatus.JOB_FAILED.value
        assert groups(flock) == {StatusGroup.SUBMITTED: 1}

    def test_a_reconciled_array_counts_each_child_once(self, flock, context, reconciler_for):
        """Four children, two ended by Batch (one twice): two failed and two still submitted."""
        for number in range(4):
            upload(flock, f"jobs/{number}.zip", tag="night")
        s3_events.handler(flock.job_messages(), context)
        rows = {int(row[Attr.ARRAY_INDEX]): row for row in flock.rows()}
        core = reconciler_for()
        for index in (1, 3, 3):
            core.reconcile(event_for("batch_cancelled_pending_child", rows[index]))
        assert groups(flock) == {StatusGroup.SUBMITTED: 2, StatusGroup.FAILED: 2} == scanned(flock)


class TestReconciledUsageCounts:
    def test_an_end_adds_the_last_attempt_s_run_time_once(self, flock, job, reconciler_for):
        """Batch's end of a killed job adds its 30 s run, unpriced (Batch names no instance), once."""
        event = event_for("batch_plain_job_killed", job)
        core = reconciler_for()
        assert core.reconcile(event).kind is ReconcileKind.RECORDED
        assert core.reconcile(event).kind is ReconcileKind.LEFT_ALONE
        [(key, total)] = flock.counts().usage.items()
        assert (key.instance_type, key.tag) == (None, "night")
        assert (total.run_ms, total.jobs) == (30_000, 1)

    def test_an_instance_the_row_already_names_prices_the_end(self, flock, job, reconciler_for):
        """A row that names its instance is counted under it, with the size from Batch's event."""
        flock.dynamodb.update_item(
            TableName=TABLE,
            Key={"UUID": {"S": job["UUID"]}},
            UpdateExpression="SET #i = :i, #c = :c",
            ExpressionAttributeNames={"#i": Attr.INSTANCE_TYPE, "#c": Attr.CAPACITY_TYPE},
            ExpressionAttributeValues={":i": {"S": "m5.large"}, ":c": {"S": "spot"}},
        )
        reconciler_for().reconcile(event_for("batch_plain_job_killed", job))
        [(key, total)] = flock.counts().usage.items()
        assert (key.instance_type, key.capacity_type, key.vcpus, key.memory_mib, key.tag) == (
            "m5.large",
            "spot",
            1.0,
            2048,
            "night",
        )
        assert total.run_ms == 30_000

    @pytest.mark.parametrize("final", [JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED])
    def test_a_row_the_worker_ended_first_adds_no_usage_from_the_reconciler(
        self, flock, job, reconciler_for, final
    ):
        """The worker's end wins the race: the reconciler's refused write adds no usage."""

        def finish() -> None:
            move_row(flock, job["UUID"], final, JobStatus.SUBMITTED, "night", attempt=1)

        core = reconciler_for(lambda client: MovesRowFirst(client, finish))
        assert core.reconcile(event_for("batch_plain_job_killed", job)).kind is ReconcileKind.LEFT_ALONE
        assert flock.counts().usage == {}

    def test_a_row_from_before_the_counters_adds_no_usage(self, flock, job, reconciler_for):
        """A row without LIST_TIME is ended without touching the counters, usage included."""
        flock.dynamodb.update_item(
            TableName=TABLE, Key={"UUID": {"S": job["UUID"]}}, UpdateExpression=f"REMOVE {LIST_TIME}"
        )
        reconciler_for().reconcile(event_for("batch_plain_job_killed", job))
        assert flock.counts().usage == {}
