"""Running jobs again (`shepard retry`, shepard_cli._run_again) on moto server: rows, counts, messages."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from shepard_cli._run_again import new_request_id, run_again
from shepard_core import (
    RUN_AGAIN_MESSAGE_TYPE,
    Attr,
    JobRow,
    JobStatus,
    StatusGroup,
    is_counter_key,
    job_id_for_run_again,
    parse_counter_items,
)

QUEUE = "test-scheduler-queue"


class _Clients:
    """A client factory as the CLI's Aws is one: boto3 clients of the moto server, one per service."""

    def __init__(self, flock: Any) -> None:
        self._flock = flock
        self.made: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self.made:
            self.made[service] = self._flock.client(service)
        return self.made[service]


@pytest.fixture
def queue_url(flock, store) -> str:
    """Create the scheduler queue and put its URL in the current profile."""
    url = flock.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    store.save("test", {**flock.profile(), "shepard_cli_scheduler_queue_url": url})
    return url


def _upload(flock, key: str) -> str:
    """Upload a job zip's bytes to the inputs bucket; return its version id."""
    return flock.client("s3").put_object(Bucket=flock.inputs_bucket, Key=key, Body=b"zip")["VersionId"]


def _original(flock, status=JobStatus.JOB_FAILED, *, invoked=False, reason=None, **inputs) -> JobRow:
    """Write a job row in `status` made from a fresh upload (or from an API request when `invoked`)."""
    key = "" if invoked else f"batches/{uuid.uuid4()}.zip"
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=status,
        inputs=inputs or {"SAMPLE": "s1", "TAG": "run1"},
        input_zip_name=key,
        input_zip_version=None if invoked else _upload(flock, key),
        is_invoked=invoked,
        end_time=2_000_000_000,
        failure_reason=reason if status is JobStatus.JOB_FAILED else None,
        rejection_reason=reason if status is JobStatus.REJECTED else None,
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row


def _again(flock, job: str, request: str, **kwargs: Any):
    return run_again(
        _Clients(flock),
        job,
        request,
        table=flock.table,
        queue_url=flock.client("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"],
        inputs_bucket=flock.inputs_bucket,
        **kwargs,
    )


def _items(flock) -> list[dict[str, Any]]:
    scan = flock.client("dynamodb").get_paginator("scan")
    pages = scan.paginate(TableName=flock.table, ConsistentRead=True)
    return [item for page in pages for item in page["Items"]]


def _rows(flock) -> dict[str, JobRow]:
    rows = [JobRow.from_item(i) for i in _items(flock) if not is_counter_key(i["UUID"]["S"])]
    return {row.uuid: row for row in rows}


def _counts(flock):
    return parse_counter_items(i for i in _items(flock) if is_counter_key(i["UUID"]["S"]))


def _messages(flock) -> list[dict[str, Any]]:
    sqs = flock.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


class TestRunAgain:
    def test_a_failed_job_runs_again_as_a_new_job_from_its_upload(self, flock, queue_url):
        """A new row waits with the original's inputs and upload version; both rows name each other."""
        original = _original(flock, reason="exit code 1")
        result = _again(flock, original.uuid, "click-1")
        assert result.refused is None
        assert result.created
        assert result.new_uuid == job_id_for_run_again(original.uuid, "click-1")
        rows = _rows(flock)
        new = rows[result.new_uuid]
        assert new.status is JobStatus.NOT_YET_INITIATED
        assert (new.inputs, new.input_zip_name) == (original.inputs, original.input_zip_name)
        assert new.input_zip_version == original.input_zip_version
        assert new.run_again_of == original.uuid
        assert new.batch_job_id is None
        kept = rows[original.uuid]
        assert kept.run_again_as == (result.new_uuid,)
        assert (kept.status, kept.failure_reason) == (JobStatus.JOB_FAILED, "exit code 1")
        assert _messages(flock) == [{"type": RUN_AGAIN_MESSAGE_TYPE, "job": result.new_uuid}]

    def test_the_new_job_is_counted_once_in_submitted_and_its_tag(self, flock, queue_url):
        """The row's creation moves the submitted count (and its TAG's) by one; the original's counts stay."""
        original = _original(flock)
        _again(flock, original.uuid, "click-1")
        counts = _counts(flock)
        assert counts.groups[StatusGroup.SUBMITTED] == 1
        assert counts.total == 1
        assert counts.tags["run1"][StatusGroup.SUBMITTED] == 1

    def test_a_repeated_request_makes_one_job_and_one_count(self, flock, queue_url):
        """The same request three times: one new row, one count; the waiting row's message is sent again."""
        original = _original(flock)
        results = [_again(flock, original.uuid, "click-1") for _ in range(3)]
        assert [r.created for r in results] == [True, False, False]
        assert len({r.new_uuid for r in results}) == 1
        assert len(_rows(flock)) == 2
        assert _counts(flock).groups[StatusGroup.SUBMITTED] == 1
        assert _rows(flock)[original.uuid].run_again_as == (results[0].new_uuid,)
        assert [m["job"] for m in _messages(flock)] == [results[0].new_uuid] * 3

    def test_a_repeat_after_the_job_was_submitted_sends_nothing(self, flock, queue_url):
        """Once the new job has a Batch job, repeating the request neither writes nor sends anything."""
        original = _original(flock)
        first = _again(flock, original.uuid, "r")
        _messages(flock)
        flock.client("dynamodb").update_item(
            TableName=flock.table,
            Key={Attr.UUID: {"S": first.new_uuid}},
            UpdateExpression="SET #s = :s, #b = :b",
            ExpressionAttributeNames={"#s": Attr.JOB_STATUS, "#b": Attr.BATCH_JOB_ID},
            ExpressionAttributeValues={":s": {"S": "submitted"}, ":b": {"S": "batch-1"}},
        )
        again = _again(flock, original.uuid, "r")
        assert (again.created, again.new_uuid, again.refused) == (False, first.new_uuid, None)
        assert _messages(flock) == []

    def test_another_request_makes_another_job(self, flock, queue_url):
        """Two requests run the job again twice: two new rows, both listed on the original."""
        original = _original(flock)
        one, two = _again(flock, original.uuid, "a"), _again(flock, original.uuid, "b")
        assert one.new_uuid != two.new_uuid
        assert one.created
        assert two.created
        assert _rows(flock)[original.uuid].run_again_as == tuple(sorted([one.new_uuid, two.new_uuid]))
        assert _counts(flock).groups[StatusGroup.SUBMITTED] == 2

    def test_a_job_from_the_batching_endpoint_runs_again_from_its_recorded_inputs(self, flock, queue_url):
        """A job with no upload runs again from the inputs its row records."""
        original = _original(flock, invoked=True, SAMPLE="api")
        result = _again(flock, original.uuid, "r")
        new = _rows(flock)[result.new_uuid]
        assert (new.is_invoked, new.input_zip_name, new.inputs) == (True, "", {"SAMPLE": "api"})

    def test_a_rejected_job_is_refused_with_its_reason_and_what_to_change(self, flock, queue_url):
        """A rejected job: nothing written, nothing counted, nothing sent; the reason and the fix are said."""
        original = _original(flock, JobStatus.REJECTED, reason="inputs.txt: SAMPLE is a list")
        result = _again(flock, original.uuid, "r")
        assert result.new_uuid is None
        assert not result.created
        assert "inputs.txt: SAMPLE is a list" in result.refused
        assert "fix inputs.txt" in result.refused
        assert "upload the job again" in result.refused
        assert list(_rows(flock)) == [original.uuid]
        assert _counts(flock).total == 0
        assert _messages(flock) == []

    @pytest.mark.parametrize(
        "status",
        [
            JobStatus.NOT_YET_INITIATED,
            JobStatus.SUBMITTED,
            JobStatus.IN_PROGRESS,
            JobStatus.CALLING_PAYLOAD_CODE,
            JobStatus.JOB_FAILED_PUSHING_LOGS,
        ],
    )
    def test_a_job_still_waiting_or_running_is_refused(self, flock, queue_url, status):
        """A job that has not ended is refused: cancel it first; nothing is written."""
        original = _original(flock, status)
        result = _again(flock, original.uuid, "r")
        assert "cancel it first" in result.refused
        assert status.value in result.refused
        assert list(_rows(flock)) == [original.uuid]
        assert _counts(flock).total == 0

    def test_a_completed_job_runs_again_only_when_allowed(self, flock, queue_url):
        """A completed job is refused unless include_complete is given."""
        original = _original(flock, JobStatus.JOB_COMPLETE)
        refused = _again(flock, original.uuid, "r")
        assert "--include-complete" in refused.refused
        allowed = _again(flock, original.uuid, "r", include_complete=True)
        assert allowed.created
        assert _rows(flock)[allowed.new_uuid].status is JobStatus.NOT_YET_INITIATED

    def test_an_unknown_job_is_refused(self, flock, queue_url):
        """A UUID with no row is refused by name."""
        missing = str(uuid.uuid4())
        result = _again(flock, missing, "r")
        assert f"no job {missing}" in result.refused
        assert _rows(flock) == {}

    def test_a_job_whose_upload_version_is_gone_is_refused(self, flock, queue_url):
        """The version the job was made from no longer exists: refused, upload again."""
        original = _original(flock)
        flock.client("s3").delete_object(
            Bucket=flock.inputs_bucket, Key=original.input_zip_name, VersionId=original.input_zip_version
        )
        result = _again(flock, original.uuid, "r")
        assert "is gone" in result.refused
        assert "upload the job folder again" in result.refused
        assert len(_rows(flock)) == 1

    def test_the_job_a_request_made_is_not_run_again_by_the_same_request(self, flock, queue_url):
        """Naming the new job with the request that made it is refused (a repeated selection stays put)."""
        original = _original(flock)
        first = _again(flock, original.uuid, "r")
        _rows(flock)
        flock.client("dynamodb").update_item(
            TableName=flock.table,
            Key={Attr.UUID: {"S": first.new_uuid}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": Attr.JOB_STATUS},
            ExpressionAttributeValues={":s": {"S": JobStatus.JOB_FAILED.value}},
        )
        result = _again(flock, first.new_uuid, "r")
        assert "made by this same request" in result.refused
        assert len(_rows(flock)) == 2

    def test_an_original_that_changes_before_the_write_refuses_it_and_counts_nothing(self, flock, queue_url):
        """The transaction's condition on the original refuses the write when its row went meanwhile."""
        original = _original(flock)
        clients = _Clients(flock)
        dynamodb = clients.client("dynamodb")

        def delete_first(**_: Any) -> None:
            flock.client("dynamodb").delete_item(TableName=flock.table, Key={Attr.UUID: {"S": original.uuid}})

        dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", delete_first)
        url = flock.client("sqs").get_queue_url(QueueName=QUEUE)["QueueUrl"]
        result = run_again(clients, original.uuid, "r", table=flock.table, queue_url=url)
        assert "gone" in result.refused
        assert _items(flock) == []
        assert _messages(flock) == []

    def test_request_ids_are_fresh(self):
        """Each new request id differs, so two commands are two requests."""
        assert new_request_id() != new_request_id()


class TestRetryCommand:
    def test_retry_prints_the_new_job_and_a_summary(self, run, flock, queue_url):
        """`shepard retry UUID` prints the request id, the new job's UUID and a summary; exit 0."""
        original = _original(flock)
        result = run("retry", original.uuid, "--request-id", "req-1")
        assert result.exit_code == 0, result.output
        new = job_id_for_run_again(original.uuid, "req-1")
        assert f"{original.uuid}: run again as {new}" in result.output
        assert "1 job(s) run again, 0 already run again by this request, 0 refused" in result.output

    def test_retry_twice_with_one_request_id_makes_one_job(self, run, flock, queue_url):
        """The same --request-id twice: the second run says the jobs were run again already."""
        originals = [_original(flock) for _ in range(2)]
        args = ("retry", "--tag", "run1", "--request-id", "req-2")
        first, second = run(*args), run(*args)
        assert "2 job(s) run again" in first.output
        assert "0 job(s) run again, 2 already run again by this request" in second.output
        assert len(_rows(flock)) == 4
        assert _counts(flock).groups[StatusGroup.SUBMITTED] == 2
        assert {row.run_again_of for row in _rows(flock).values()} == {None, *(o.uuid for o in originals)}

    def test_a_selection_leaves_out_jobs_another_request_ran_again(self, run, flock, queue_url):
        """A job already run again by another request is left out of a selection, and said so."""
        original = _original(flock)
        run("retry", original.uuid, "--request-id", "earlier")
        result = run("retry", "--status", "failed", "--request-id", "later")
        assert f"{original.uuid}: left out, already run again as" in result.output
        assert "0 job(s) run again" in result.output
        assert len(_rows(flock)) == 2

    def test_a_refused_job_is_named_and_the_exit_code_is_1(self, run, flock, queue_url):
        """A rejected job among the named ones: its reason printed, the others run again, exit 1."""
        good = _original(flock)
        bad = _original(flock, JobStatus.REJECTED, reason="no inputs.txt in the zip")
        result = run("retry", good.uuid, bad.uuid)
        assert result.exit_code == 1
        assert f"{bad.uuid}: refused: job {bad.uuid} was rejected" in result.output
        assert "no inputs.txt in the zip" in result.output
        assert "1 job(s) run again, 0 already run again by this request, 1 refused" in result.output
        assert "Request id:" in result.output

    def test_more_than_a_handful_asks_first(self, run, flock, queue_url):
        """Six selected jobs need a yes; answering no makes nothing."""
        for _ in range(6):
            _original(flock)
        result = run("retry", "--status", "failed", input="n\n")
        assert result.exit_code == 1
        assert "Run 6 jobs again?" in result.output
        assert len(_rows(flock)) == 6
        assert run("retry", "--status", "failed", "--yes").exit_code == 0
        assert len(_rows(flock)) == 12

    def test_naming_and_selecting_at_once_is_refused(self, run, flock, queue_url):
        """Jobs named together with a selection are refused in one line."""
        result = run("retry", str(uuid.uuid4()), "--tag", "x")
        assert result.exit_code == 1
        assert "Name jobs, or select them, not both" in result.output

    def test_without_a_queue_url_it_says_where_to_get_one(self, run, flock):
        """No queue URL in options or profile: the option and the profile attribute are named."""
        result = run("retry", str(uuid.uuid4()))
        assert result.exit_code == 1
        assert "--scheduler-queue-url" in result.output
        assert "shepard_cli_scheduler_queue_url" in result.output


class TestBothRecordsStayFindable:
    def test_status_and_query_name_both_jobs(self, run, flock, queue_url):
        """`shepard status` and `shepard query` show the new job's original and the original's new job."""
        original = _original(flock)
        new = _again(flock, original.uuid, "r").new_uuid
        shown = json.loads(run("status", new, "--output", "json").output)
        assert shown["job"]["run_again_of"] == original.uuid
        table = run("status", original.uuid).output
        assert "run_again_as" in table
        assert new in table
        listed = {view["uuid"]: view for view in json.loads(run("query", "--output", "json").output)}
        assert listed[original.uuid]["run_again_as"] == [new]
        assert listed[new]["run_again_of"] == original.uuid
        assert listed[new]["status"] == JobStatus.NOT_YET_INITIATED.value
