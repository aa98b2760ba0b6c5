"""Jobs AWS Batch ends without their worker get a final status and Batch's reason, never over the worker's."""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from shepard_core import Attr, JobRow, JobStatus, error_object_name
from shepard_scheduler import ReconcilerConfig, reconciler, s3_events
from shepard_scheduler._aws import aws_clients
from shepard_scheduler._reconcile import ReconcileKind, Reconciler
from shepard_testing import ResourceNames

NAMES = ResourceNames()
ERRORS_BUCKET = NAMES.errors_bucket
TABLE = NAMES.table
EVENTS = Path(__file__).parent / "events"
ARRAY_SIZE = 4


def load_event(name):
    """Return the recorded event `tests/events/<name>.json`."""
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def array(flock, context):
    """Schedule four uploads as one array; return their rows by child index, as the scheduler left them."""
    for number in range(ARRAY_SIZE):
        flock.upload(f"jobs/{number}.zip", {"inputs.txt": json.dumps({"N": str(number), "tag": "night"})})
    response = s3_events.handler(flock.job_messages(), context)
    assert response == {"batchItemFailures": []}
    rows = {int(row[Attr.ARRAY_INDEX]): row for row in flock.rows()}
    assert sorted(rows) == list(range(ARRAY_SIZE))
    return rows


@pytest.fixture
def reconcile(flock):
    """Return a function handing one event to the reconciling core, with the flock's clients."""
    clients = aws_clients(os.environ)
    core = Reconciler(
        ReconcilerConfig.from_env(os.environ), dynamodb_client=clients.dynamodb, s3_client=clients.s3
    )
    return core.reconcile


def event_for(name, row, *, job_id=None, claim=None):
    """Return the recorded event `name`, retargeted at the Batch job and claim of `row`."""
    event = copy.deepcopy(load_event(name))
    detail = event["detail"]
    detail["jobId"] = job_id or row[Attr.BATCH_JOB_ID]
    token = claim or row[Attr.ARRAY_CLAIM]
    detail["jobName"] = f"shepard-{token}"
    for variable in detail["container"]["environment"]:
        if variable["name"] == "SHEPARD_ARRAY_CLAIM":
            variable["value"] = token
        if variable["name"] == "UUID":
            variable["value"] = row["UUID"]
    if "arrayProperties" in detail:
        detail["arrayProperties"]["index"] = int(detail["jobId"].rpartition(":")[2])
    return event


def worker_claimed(flock, row, *, attempt=1, status=JobStatus.CALLING_PAYLOAD_CODE, **extra):
    """Move `row` as a worker of `attempt` does when it claims the job and runs it up to `status`."""
    values = {
        Attr.JOB_STATUS: {"S": status.value},
        Attr.ATTEMPT: {"N": str(attempt)},
        Attr.START_TIME: {"S": "2026-12-07T16-41-00Z"},
        **{name: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for name, v in extra.items()},
    }
    names = {f"#a{i}": name for i, name in enumerate(values)}
    flock.dynamodb.update_item(
        TableName=TABLE,
        Key={"UUID": {"S": row["UUID"]}},
        UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":v{i}": value for i, value in enumerate(values.values())},
    )


def error_zip(flock, key):
    """Return the members of the zip stored at `key` in the errors bucket."""
    body = flock.s3.get_object(Bucket=ERRORS_BUCKET, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


class TestBatchEndsTheJob:
    def test_cancelled_pending_child_fails_with_the_cancel_reason(self, flock, array, reconcile):
        """`shepard cancel` of a pending child: the row fails with CancelJob's reason, with an error zip."""
        row = array[3]
        outcome = reconcile(event_for("batch_cancelled_pending_child", row))
        assert outcome.kind is ReconcileKind.RECORDED
        after = flock.row(row["UUID"])
        assert after[Attr.JOB_STATUS] == JobStatus.JOB_FAILED.value
        assert "before it started" in after[Attr.FAILURE_REASON]
        assert "Cancelled with shepard cancel job-3" in after[Attr.FAILURE_REASON]
        assert Attr.EXIT_CODE not in after
        assert after[Attr.BATCH_END] == f"{row[Attr.BATCH_JOB_ID]}#0"
        assert int(after[Attr.END_TIME]) < int(row[Attr.END_TIME])  # the TTL now runs from the end
        assert after[Attr.FINISH_TIME]
        key = error_object_name(row["UUID"], after[Attr.START_TIME], "night")
        assert outcome.report_key == key
        members = error_zip(flock, key)
        assert b"Cancelled with shepard cancel job-3" in members["reason.txt"]
        assert members["exit_code.txt"] == b""
        assert json.loads(members["batch_job.json"])["jobId"] == row[Attr.BATCH_JOB_ID]
        # its siblings are untouched
        assert all(flock.row(array[i]["UUID"])[Attr.JOB_STATUS] == "submitted" for i in (0, 1, 2))

    def test_a_job_the_queue_s_time_limit_cancelled_fails_saying_so_in_plain_words(
        self, flock, array, reconcile
    ):
        """RunnableTimeLimitMinutes cancelled a blocked child: the row has Batch's reason and its meaning."""
        row = array[2]
        outcome = reconcile(event_for("batch_time_limit_cancelled_child", row))
        assert outcome.kind is ReconcileKind.RECORDED
        after = flock.row(row["UUID"])
        assert after[Attr.JOB_STATUS] == JobStatus.JOB_FAILED.value
        assert after[Attr.FAILURE_REASON] == (
            "AWS Batch ended the job before it started (FAILED): Canceled by JobStateTimeLimit action due to "
            "reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY. AWS Batch cancelled the job because it stayed "
            "RUNNABLE longer than the job queue's time limit (RunnableTimeLimitMinutes): EC2 cannot supply "
            "the compute environment's instance types right now (for a Spot compute environment: no Spot "
            "capacity)"
        )
        members = error_zip(flock, outcome.report_key)
        assert b"RunnableTimeLimitMinutes" in members["reason.txt"]

    @pytest.mark.parametrize(
        ("event", "attempt", "said", "exit_code"),
        [
            ("batch_oom_killed_child", 1, "OutOfMemoryError: Container killed due to memory usage", 137),
            (
                "batch_host_terminated_child",
                3,
                "attempt 3: Host EC2 (instance i-0abc123def4567890) terminated",
                None,
            ),
            ("batch_attempt_timeout_child", 1, "Job attempt duration exceeded timeout", 137),
            ("batch_terminated_by_user_child", 1, "Terminated by the user with shepard cancel job-3", 137),
        ],
    )
    def test_a_worker_killed_on_its_last_attempt_fails_with_batch_s_reason(  # noqa: PLR0913, PLR0917
        self, flock, array, reconcile, event, attempt, said, exit_code
    ):
        """OOM kill, lost host, attempt timeout, termination: the row fails with Batch's reason and code."""
        row = array[3]
        # the worker of the last attempt (or, for the lost host, of attempt 2) had claimed and was running
        claimed = 2 if attempt == 3 else attempt
        worker_claimed(
            flock, row, attempt=claimed, **{Attr.EXIT_CODE: 1, Attr.BATCH_JOB_ID: row[Attr.BATCH_JOB_ID]}
        )
        outcome = reconcile(event_for(event, row))
        assert outcome.kind is ReconcileKind.RECORDED
        after = flock.row(row["UUID"])
        assert after[Attr.JOB_STATUS] == JobStatus.JOB_FAILED.value
        assert said in after[Attr.FAILURE_REASON]
        assert after.get(Attr.EXIT_CODE) == (None if exit_code is None else str(exit_code))
        assert after[Attr.START_TIME] == "2026-12-07T16-41-00Z"  # the worker's, so the zip names match
        reason = error_zip(flock, error_object_name(row["UUID"], "2026-12-07T16-41-00Z", "night"))[
            "reason.txt"
        ]
        assert said.encode() in reason
        assert b"the worker had last recorded 'calling_payload_code'" in reason

    def test_a_plain_job_is_found_by_its_uuid_override(self, flock, reconcile, context):
        """A lone job (no array) is named by the UUID in its overrides."""
        flock.upload("jobs/alone.zip", {"inputs.txt": json.dumps({"N": "1"})})
        s3_events.handler(flock.job_messages(), context)
        [row] = flock.rows()
        assert ":" not in row[Attr.BATCH_JOB_ID]
        outcome = reconcile(event_for("batch_plain_job_killed", row))
        assert outcome.kind is ReconcileKind.RECORDED
        assert flock.row(row["UUID"])[Attr.EXIT_CODE] == "137"

    def test_succeeded_without_a_final_status_is_a_failure_saying_so(self, flock, array, reconcile):
        """A child Batch saw succeed whose worker never finished its row is failed, saying what happened."""
        row = array[1]
        worker_claimed(flock, row, status=JobStatus.JOB_COMPLETE_PUSHING_TO_S3)
        outcome = reconcile(event_for("batch_succeeded_child", row, job_id=row[Attr.BATCH_JOB_ID]))
        assert outcome.kind is ReconcileKind.RECORDED
        reason = flock.row(row["UUID"])[Attr.FAILURE_REASON]
        assert "SUCCEEDED" in reason
        assert "never recorded a final status" in reason

    def test_a_row_without_its_batch_id_is_ended_and_given_it(self, flock, array, reconcile):
        """When the scheduler could not record the child id, the event's claim and index find the row."""
        row = array[2]
        flock.dynamodb.update_item(
            TableName=TABLE,
            Key={"UUID": {"S": row["UUID"]}},
            UpdateExpression="REMOVE #batch",
            ExpressionAttributeNames={"#batch": Attr.BATCH_JOB_ID},
        )
        outcome = reconcile(event_for("batch_cancelled_pending_child", row, job_id=row[Attr.BATCH_JOB_ID]))
        assert outcome.kind is ReconcileKind.RECORDED
        assert flock.row(row["UUID"])[Attr.BATCH_JOB_ID] == row[Attr.BATCH_JOB_ID]

    def test_the_worker_s_error_zip_is_never_replaced(self, flock, array, reconcile):
        """A worker killed after uploading its error zip keeps that zip; the row still gets its end."""
        row = array[0]
        worker_claimed(flock, row, status=JobStatus.JOB_FAILED_CLEANING_UP_WORKSPACE)
        key = error_object_name(row["UUID"], "2026-12-07T16-41-00Z", "night")
        flock.s3.put_object(Bucket=ERRORS_BUCKET, Key=key, Body=b"the worker's own zip")
        outcome = reconcile(event_for("batch_oom_killed_child", row, job_id=row[Attr.BATCH_JOB_ID]))
        assert outcome.kind is ReconcileKind.RECORDED
        assert flock.row(row["UUID"])[Attr.JOB_STATUS] == JobStatus.JOB_FAILED.value
        assert flock.s3.get_object(Bucket=ERRORS_BUCKET, Key=key)["Body"].read() == b"the worker's own zip"


class TestNeverOverTheWorker:
    @pytest.mark.parametrize("event", ["batch_succeeded_child", "batch_oom_killed_child"])
    @pytest.mark.parametrize("final", [JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED])
    def test_a_late_event_leaves_a_final_row_alone(self, flock, array, reconcile, event, final):
        """Once the worker recorded the end, any end event changes nothing and files no report."""
        row = array[3]
        worker_claimed(flock, row, status=final, **{Attr.EXIT_CODE: 0})
        before = flock.row(row["UUID"])
        outcome = reconcile(event_for(event, row))
        assert outcome.kind is ReconcileKind.LEFT_ALONE
        assert "final already" in outcome.reason
        assert flock.row(row["UUID"]) == before
        assert flock.report_keys() == []

    def test_a_repeated_event_changes_nothing_but_completes_a_lost_report(self, flock, array, reconcile):
        """The same event twice: the row is written once; a report lost in between is written again."""
        row = array[3]
        event = event_for("batch_cancelled_pending_child", row)
        first = reconcile(event)
        recorded = flock.row(row["UUID"])
        flock.s3.delete_object(Bucket=ERRORS_BUCKET, Key=first.report_key)
        second = reconcile(event)
        assert second.kind is ReconcileKind.LEFT_ALONE
        assert "repeated" in second.reason
        assert flock.row(row["UUID"]) == recorded
        assert flock.report_keys() == [first.report_key]
        assert b"Cancelled with shepard cancel" in error_zip(flock, first.report_key)["reason.txt"]

    def test_an_earlier_attempt_s_event_does_not_end_the_retry(self, flock, array, reconcile):
        """An event naming attempt 1 leaves the row that attempt 2's worker holds."""
        row = array[3]
        worker_claimed(flock, row, attempt=2, status=JobStatus.IN_PROGRESS)
        outcome = reconcile(event_for("batch_oom_killed_child", row))
        assert outcome.kind is ReconcileKind.LEFT_ALONE
        assert "later attempt (2)" in outcome.reason
        assert flock.row(row["UUID"])[Attr.JOB_STATUS] == JobStatus.IN_PROGRESS.value

    def test_another_batch_job_with_the_same_claim_leaves_the_row(self, flock, array, reconcile):
        """A duplicate Batch job of the same claim (a resent SubmitJob) failing does not end the job."""
        row = array[3]
        worker_claimed(
            flock, row, status=JobStatus.IN_PROGRESS, **{Attr.BATCH_JOB_ID: row[Attr.BATCH_JOB_ID]}
        )
        duplicate = "0d0d0d0d-1111-2222-3333-444444444444:3"
        outcome = reconcile(event_for("batch_host_terminated_child", row, job_id=duplicate))
        assert outcome.kind is ReconcileKind.LEFT_ALONE
        assert "run by Batch job" in outcome.reason
        assert flock.row(row["UUID"])[Attr.JOB_STATUS] == JobStatus.IN_PROGRESS.value

    def test_an_event_of_another_claim_leaves_the_row(self, flock, array, reconcile):
        """A row re-claimed by another array is not ended by the first array's child."""
        row = array[3]
        other = "f" * 32
        flock.dynamodb.put_item(
            TableName=TABLE,
            Item={
                "UUID": {"S": f"SHEPARD_ARRAY#{other}#0"},
                "SHEPARD_MANIFEST_JOBS": {"L": [{"S": "x"}] * 3 + [{"S": row["UUID"]}]},
            },
        )
        outcome = reconcile(event_for("batch_cancelled_pending_child", row, claim=other))
        assert outcome.kind is ReconcileKind.LEFT_ALONE
        assert flock.row(row["UUID"])[Attr.JOB_STATUS] == "submitted"


class TestNotAJobEnd:
    @pytest.mark.parametrize(
        ("event", "said"),
        [("batch_array_parent_failed", "is an array"), ("batch_runnable_retry_child", "not ended")],
    )
    def test_array_parents_and_earlier_states_are_ignored(self, flock, array, reconcile, event, said):
        """The array's own end and a child's return to the queue end no job."""
        outcome = reconcile(load_event(event))
        assert outcome.kind is ReconcileKind.IGNORED
        assert said in outcome.reason
        assert {row[Attr.JOB_STATUS] for row in flock.rows()} == {"submitted"}

    def test_an_index_the_manifest_does_not_list_is_ignored(self, flock, array, reconcile):
        """A child index past the array's manifest names no job."""
        row = array[0]
        parent = row[Attr.BATCH_JOB_ID].rpartition(":")[0]
        outcome = reconcile(event_for("batch_cancelled_pending_child", row, job_id=f"{parent}:{ARRAY_SIZE}"))
        assert outcome.kind is ReconcileKind.IGNORED
        assert "no manifest entry" in outcome.reason

    def test_other_sources_and_unclaimed_jobs_are_ignored(self, flock, reconcile):
        """An event of another source, or a Batch job Shepard did not submit, is not a Shepard job's end."""
        assert (
            reconcile({"source": "aws.ecs", "detail-type": "ECS Task State Change"}).kind
            is ReconcileKind.IGNORED
        )
        foreign = load_event("batch_cancelled_pending_child")
        foreign["detail"]["jobName"] = "someone-elses-job"
        foreign["detail"]["container"]["environment"] = []
        assert "not a Shepard job" in reconcile(foreign).reason


class TestHandler:
    def test_handler_records_and_counts_the_failure(self, flock, array, context, capsys):
        """The Lambda handler records the end and prints the failed-job metric the alarm reads."""
        row = array[3]
        answer = reconciler.handler(event_for("batch_oom_killed_child", row), context)
        assert answer["kind"] == "recorded"
        assert answer["job_uuid"] == row["UUID"]
        documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        [metric] = [d for d in documents if "JobsFailed" in d]
        assert metric["JobsFailed"] == 1
        assert metric["Project"] == os.environ["SHEPARD_PROJECT_NAME"]
        assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Project"]]

    def test_handler_changes_nothing_for_a_final_row_and_prints_no_metric(
        self, flock, array, context, capsys
    ):
        """A late event is answered as left alone, with no failed-job metric."""
        row = array[3]
        worker_claimed(flock, row, status=JobStatus.JOB_COMPLETE)
        answer = reconciler.handler(event_for("batch_succeeded_child", row), context)
        assert answer["kind"] == "left_alone"
        assert "JobsFailed" not in capsys.readouterr().out


def _job_row(flock, uuid):
    """Return the job's row as a JobRow."""
    item = flock.dynamodb.get_item(TableName=TABLE, Key={"UUID": {"S": uuid}}, ConsistentRead=True)["Item"]
    return JobRow.from_item(item)


class TestReconciledUsage:
    @pytest.mark.parametrize("event", ["batch_oom_killed_child", "batch_host_terminated_child"])
    def test_the_job_size_and_its_last_attempt_s_times_are_recorded(self, flock, array, reconcile, event):
        """The job's vCPUs and memory (its resource requirements), its last attempt's start and stop."""
        row = array[2]
        worker_claimed(flock, row, **{Attr.BATCH_JOB_ID: row[Attr.BATCH_JOB_ID]})
        recorded = event_for(event, row)
        last = recorded["detail"]["attempts"][-1]
        reconcile(recorded)
        after = _job_row(flock, row["UUID"])
        assert (after.vcpus, after.memory_mib) == (1, 2048)
        assert (after.run_started_ms, after.run_ended_ms) == (last["startedAt"], last["stoppedAt"])
        assert after.instance_type is None  # Batch's event names no instance type: the job stays unpriced

    def test_a_job_cancelled_before_it_ran_records_no_run_times(self, flock, array, reconcile):
        """No attempt ran: the size is recorded, but there is no run to price."""
        row = array[3]
        reconcile(event_for("batch_cancelled_pending_child", row))
        after = _job_row(flock, row["UUID"])
        assert (after.vcpus, after.memory_mib) == (1, 2048)
        assert (after.run_started_ms, after.run_ended_ms) == (None, None)

    def test_the_older_vcpus_and_memory_fields_are_read_without_requirements(self, flock, array, reconcile):
        """A job described with the older `vcpus`/`memory` fields records those."""
        row = array[1]
        worker_claimed(flock, row, **{Attr.BATCH_JOB_ID: row[Attr.BATCH_JOB_ID]})
        recorded = event_for("batch_oom_killed_child", row)
        container = recorded["detail"]["container"]
        del container["resourceRequirements"]
        container["vcpus"] = 4
        container["memory"] = 8192
        reconcile(recorded)
        assert (_job_row(flock, row["UUID"]).vcpus, _job_row(flock, row["UUID"]).memory_mib) == (4, 8192)

    def test_a_worker_s_recorded_usage_is_never_overwritten(self, flock, array, reconcile):
        """A row the worker finished keeps its instance and times: the late event changes nothing."""
        row = array[0]
        worker_claimed(
            flock,
            row,
            status=JobStatus.JOB_COMPLETE,
            **{Attr.INSTANCE_TYPE: "m5.large", Attr.RUN_STARTED: 5, Attr.RUN_ENDED: 9},
        )
        reconcile(event_for("batch_succeeded_child", row))
        after = _job_row(flock, row["UUID"])
        assert (after.instance_type, after.run_started_ms, after.run_ended_ms) == ("m5.large", 5, 9)
