import dataclasses
import json
import time
import urllib.request
import uuid

import pytest
from shepard_cli._command import parse_status_filter
from shepard_cli._endpoint import invoke_endpoint, tokened_payload
from shepard_cli._errors import CliError
from shepard_cli._jobs import follow_logs, log_location
from shepard_core import JobRow, JobStatus, rejection_report_key

OTHER_ITEM = "0a0b0c0d-0000-4000-8000-000000000000"


def _put(flock, status, *, batch_job_id=None, reason=None, zip_name=None, **inputs):
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=status,
        inputs=inputs,
        input_zip_name=zip_name or f"{uuid.uuid4()}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        start_time="2026-01-01T00-00-00Z",
        batch_job_id=batch_job_id,
        rejection_reason=reason,
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row


def _wait_batch(flock, job_id, wanted):
    batch = flock.client("batch")
    for _ in range(100):
        status = batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"]
        if status in wanted:
            return status
        time.sleep(0.1)
    raise AssertionError(f"batch job stayed {status}")


class TestStatusFilter:
    def test_groups_expand(self):
        """A group name selects every status of the group; failed leaves rejected jobs out."""
        assert parse_status_filter(("active",)) >= {JobStatus.IN_PROGRESS, JobStatus.NOT_YET_INITIATED}
        assert parse_status_filter(("failed",)) == {JobStatus.JOB_FAILED}

    def test_values_match_case_insensitively(self):
        """A JOB_STATUS value matches in any case."""
        assert parse_status_filter(("IN_PROGRESS",)) == {JobStatus.IN_PROGRESS}

    def test_unknown_status_is_refused(self):
        """An unknown status is refused with the choices."""
        with pytest.raises(CliError, match="unknown status 'nope'"):
            parse_status_filter(("nope",))


class TestQuery:
    def test_table_shows_jobs_and_rejection_reasons(self, run, flock):
        """The table lists each job's UUID, status and inputs, and a rejected job's reason."""
        running = _put(flock, JobStatus.IN_PROGRESS, SAMPLE="7")
        rejected = _put(flock, JobStatus.REJECTED, reason="'UUID' is a reserved keyword")
        result = run("query")
        assert result.exit_code == 0, result.output
        assert running.uuid in result.output
        assert "SAMPLE=7" in result.output
        assert rejected.uuid in result.output
        assert "'UUID' is a reserved keyword" in result.output

    def test_a_job_batch_ended_shows_batch_s_reason(self, run, flock):
        """A failed job whose row holds Batch's reason (the worker never finished it) shows that reason."""
        row = dataclasses.replace(
            _put(flock, JobStatus.JOB_FAILED),
            failure_reason="AWS Batch ended the job (FAILED) on attempt 1: OutOfMemoryError: killed",
        )
        flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
        result = run("query", "--status", "failed", "--output", "json")
        (only,) = json.loads(result.output)
        assert only["uuid"] == row.uuid
        assert only["reason"] == row.failure_reason

    def test_status_filter_and_json(self, run, flock):
        """--status keeps only matching jobs and --output json prints them for scripts."""
        _put(flock, JobStatus.IN_PROGRESS)
        done = _put(flock, JobStatus.JOB_COMPLETE, TAG="t")
        result = run("query", "--status", "job_complete", "--output", "json")
        (only,) = json.loads(result.output)
        assert only["uuid"] == done.uuid
        assert only["inputs"] == {"TAG": "t"}

    def test_status_group_selects_several_statuses(self, run, flock):
        """--status active keeps every job that has not ended and drops the ended ones."""
        running = _put(flock, JobStatus.IN_PROGRESS)
        waiting = _put(flock, JobStatus.SUBMITTED)
        _put(flock, JobStatus.JOB_COMPLETE)
        _put(flock, JobStatus.REJECTED, reason="bad")
        views = json.loads(run("query", "--status", "active", "--output", "json").output)
        assert sorted(v["uuid"] for v in views) == sorted([running.uuid, waiting.uuid])

    def test_items_that_are_not_job_rows_are_left_out_with_a_warning(self, run, flock):
        """Query lists the job rows and warns about items of the table that are not job rows."""
        row = _put(flock, JobStatus.IN_PROGRESS)
        flock.client("dynamodb").put_item(TableName=flock.table, Item={"UUID": {"S": "stray"}})
        result = run("query", "--output", "json")
        assert result.exit_code == 0, result.output
        assert [job["uuid"] for job in json.loads(result.stdout)] == [row.uuid]
        assert "1 item(s) of table test-jobs are not Shepard job rows" in result.stderr
        assert "stray" in result.stderr

    def test_rejection_report_without_a_row_is_shown(self, run, flock):
        """A rejection known only from its report in the errors bucket is listed with its reason."""
        key = rejection_report_key("bad-job.zip")
        body = json.dumps(
            {
                "uuid": "abc",
                "error": "InvalidJSON",
                "reason": "inputs.txt is not valid JSON",
                "input_zip_name": "bad-job.zip",
            }
        )
        flock.client("s3").put_object(Bucket=flock.errors_bucket, Key=key, Body=body)
        result = run("query", "--status", "rejected", "--output", "json")
        assert json.loads(result.output) == [
            {
                "uuid": "abc",
                "status": "rejected",
                "start_time": None,
                "input_zip_name": "bad-job.zip",
                "batch_job_id": None,
                "reason": "inputs.txt is not valid JSON",
                "inputs": {},
                "run_again_of": None,
                "run_again_as": [],
            }
        ]

    def test_report_fills_a_rejected_row_without_reason(self, run, flock):
        """A rejected row without a reason gets the one of its report."""
        row = _put(flock, JobStatus.REJECTED, zip_name="z.zip")
        flock.client("s3").put_object(
            Bucket=flock.errors_bucket,
            Key=rejection_report_key("z.zip"),
            Body=json.dumps({"reason": "too big"}),
        )
        (view,) = json.loads(run("query", "--output", "json").output)
        assert view["uuid"] == row.uuid
        assert view["reason"] == "too big"


class TestStatus:
    def test_status_shows_row_and_batch_state(self, run, flock, submit_batch_job):
        """Status shows the row and the Batch job's state."""
        row = _put(flock, JobStatus.SUBMITTED, batch_job_id=None, A="1")
        batch_id = submit_batch_job(row.uuid)
        submitted = dataclasses.replace(row, batch_job_id=batch_id)
        flock.client("dynamodb").put_item(TableName=flock.table, Item=submitted.to_item())
        _wait_batch(flock, batch_id, {"SUCCEEDED"})
        document = json.loads(run("status", row.uuid, "--output", "json").output)
        assert document["job"]["uuid"] == row.uuid
        assert document["job"]["inputs"] == {"A": "1"}
        assert document["batch"]["job_id"] == batch_id
        assert document["batch"]["status"] == "SUCCEEDED"
        table = run("status", row.uuid).output
        assert "batch status" in table
        assert "SUCCEEDED" in table

    def test_unknown_job_is_one_line(self, run, flock):
        """An unknown job id is refused with advice."""
        result = run("status", "nope")
        assert result.exit_code == 1
        assert "no job 'nope': it is not a job UUID, bucket test-inputs has no such key" in result.output
        unknown = run("status", "3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10")
        assert unknown.exit_code == 1
        assert "job 3f2c9a1e-0b7d-5c4e-9f21-6a8d2e4b7c10 is not in table test-jobs" in unknown.output

    @pytest.mark.parametrize("command", ["status", "logs", "cancel"])
    def test_item_that_is_not_a_job_row_is_one_line(self, run, flock, command):
        """An item that is not a job row (another table) is refused in one line naming the table."""
        flock.client("dynamodb").put_item(
            TableName=flock.table, Item={"UUID": {"S": OTHER_ITEM}, "JOB_STATUS": {"S": "running"}}
        )
        result = run(command, OTHER_ITEM)
        assert result.exit_code == 1
        assert f"the item {OTHER_ITEM} of table test-jobs is not a Shepard job row" in result.output
        assert "Traceback" not in result.output


class TestLogs:
    def _logged_job(self, flock, submit_batch_job, lines):
        batch_id = submit_batch_job("logged")
        row = _put(flock, JobStatus.JOB_COMPLETE, batch_job_id=batch_id)
        logs = flock.client("logs")
        logs.create_log_group(logGroupName="/aws/batch/job")
        stream = f"test-worker/default/{batch_id}"
        logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName="/aws/batch/job",
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
        )
        _wait_batch(flock, batch_id, {"SUCCEEDED"})
        return row

    def test_logs_print_the_batch_job_stream(self, run, flock, submit_batch_job):
        """Logs prints every line of the job's CloudWatch stream in order."""
        row = self._logged_job(flock, submit_batch_job, ["staging inputs", "payload exited 0"])
        result = run("logs", row.uuid)
        assert result.exit_code == 0, result.output
        assert result.output == "staging inputs\npayload exited 0\n"

    def test_follow_stops_when_the_job_has_ended(self, run, flock, submit_batch_job):
        """Logs --follow prints the lines and returns once the Batch job has ended."""
        row = self._logged_job(flock, submit_batch_job, ["only line"])
        assert run("logs", row.uuid, "--follow").output == "only line\n"

    def test_follow_prints_lines_written_while_running(self, flock, hold_batch_job, batch_job_gate):
        """Following a running job prints lines written after it started, then stops when it ends."""
        # GIVEN a Batch job held unended, with one line logged already
        batch = flock.client("batch")
        batch_id = hold_batch_job("followed").job_id
        row = _put(flock, JobStatus.IN_PROGRESS, batch_job_id=batch_id)
        logs = flock.client("logs")
        logs.create_log_group(logGroupName="/aws/batch/job")
        stream = f"test-worker/default/{batch_id}"
        logs.create_log_stream(logGroupName="/aws/batch/job", logStreamName=stream)

        def log(message: str) -> None:
            event = {"timestamp": int(time.time() * 1000), "message": message}
            logs.put_log_events(logGroupName="/aws/batch/job", logStreamName=stream, logEvents=[event])

        log("first")
        lines: list[str] = []

        def emit(line: str) -> None:
            lines.append(line)
            if line == "first":
                # a second line is written while the job runs, then the job ends
                log("second")
                batch_job_gate.release()

        # WHEN following it
        follow_logs(
            flock.client("dynamodb"),
            batch,
            logs,
            flock.table,
            row.uuid,
            follow=True,
            poll_seconds=0.2,
            emit=emit,
        )
        # THEN both lines arrive once each
        assert lines == ["first", "second"]

    def test_job_without_batch_job(self, run, flock):
        """A rejected job never reached Batch and has no logs, and the message says why."""
        row = _put(flock, JobStatus.REJECTED, reason="bad")
        result = run("logs", row.uuid)
        assert result.exit_code == 1
        assert "was rejected when it was scheduled, so it never ran and has no logs: bad" in result.output

    def test_ended_without_stream(self, run, flock, submit_batch_job):
        """A Batch job that ended without a log stream is reported as such, naming the stream looked for."""
        batch_id = submit_batch_job("quiet")
        _wait_batch(flock, batch_id, {"SUCCEEDED"})
        row = _put(flock, JobStatus.JOB_COMPLETE, batch_job_id=batch_id)
        result = run("logs", row.uuid, "--follow")
        assert result.exit_code == 1
        assert f"with no log stream test-worker/default/{batch_id} in /aws/batch/job" in result.output

    def test_no_stream_yet(self, run, flock, hold_batch_job):
        """A Batch job that has not ended and has no log stream is reported with a hint to follow."""
        batch_id = hold_batch_job("quiet").job_id
        row = _put(flock, JobStatus.SUBMITTED, batch_job_id=batch_id)
        result = run("logs", row.uuid)
        assert result.exit_code == 1
        assert "has no logs yet" in result.output

    def test_stream_name_from_describe_jobs_comes_first(self):
        """The stream named by describe_jobs and the awslogs group are preferred."""
        described = {
            "jobId": "j",
            "jobDefinition": "arn:aws:batch:us-east-1:1:job-definition/def:3",
            "container": {
                "logStreamName": "def/default/task",
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/custom"}},
            },
        }
        assert log_location(described) == ("/custom", ["def/default/task", "def/default/j"])


class TestCancel:
    def test_finished_job_is_left_alone(self, run, flock):
        """Cancelling a job that already ended says so and changes nothing."""
        row = _put(flock, JobStatus.JOB_COMPLETE, batch_job_id="x")
        result = run("cancel", row.uuid)
        assert result.exit_code == 0
        assert "already ended (job_complete)" in result.output

    def test_cancel_terminates_the_batch_job(self, run, flock, hold_batch_job, batch_job_gate):
        """Cancelling a job whose Batch job has not ended terminates the Batch job."""
        # GIVEN a Batch job held unended
        batch_id = hold_batch_job("long").job_id
        row = _put(flock, JobStatus.IN_PROGRESS, batch_job_id=batch_id)
        # WHEN it is cancelled
        result = run("cancel", row.uuid)
        batch_job_gate.release()
        # THEN Batch was asked to end it
        assert result.exit_code == 0, result.output
        assert f"Cancelled job {row.uuid} (AWS Batch job {batch_id})" in result.output
        assert _wait_batch(flock, batch_id, {"FAILED", "SUCCEEDED"}) == "FAILED"


@pytest.fixture
def endpoint(flock, moto_server):
    """Return a function queueing the answer moto's stand-in endpoint Lambda gives next."""
    moto_server.configure({"lambda": {"use_docker": False}})
    role = flock.client("iam").create_role(RoleName="lambda", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    flock.client("lambda").create_function(
        FunctionName="endpoint",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )

    def answer(status: int, body: dict) -> None:
        data = json.dumps({"results": [json.dumps({"statusCode": status, "body": json.dumps(body)})]})
        request = urllib.request.Request(  # noqa: S310 - the moto server URL
            f"{flock.endpoint}/moto-api/static/lambda-simple/response",
            data=data.encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request).close()  # noqa: S310 - the moto server URL

    yield answer
    moto_server.configure({"lambda": {"use_docker": True}})


class TestBatchViaApi:
    def test_accepted_job_prints_its_id(self, run, endpoint):
        """An accepted request prints the job UUID and its Batch job id."""
        endpoint(200, {"uuid": "u-1", "batch_job_id": "b-1"})
        result = run("batch_via_api", "--lambda_to_invoke", "endpoint", "--json_payload", '{"A": "1"}')
        assert result.exit_code == 0, result.output
        assert result.stdout == "Job u-1 submitted (AWS Batch job b-1)\n"
        assert result.stderr.startswith("Client token: ")

    def test_refused_job_prints_the_error(self, run, endpoint):
        """A refused request prints the endpoint's error and exits non-zero."""
        endpoint(
            400,
            {
                "uuid": "u-2",
                "job_status": "rejected",
                "error": "ReservedKeyword",
                "message": "'PATH' is a reserved keyword",
            },
        )
        result = run("batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", '{"PATH": "1"}')
        assert result.exit_code == 1
        assert (
            "refused the job (400): ReservedKeyword: 'PATH' is a reserved keyword (job u-2)" in result.output
        )
        assert "Fix the payload" in result.output

    def test_payload_from_a_file(self, run, endpoint, tmp_path):
        """--json-payload @FILE sends the file's JSON."""
        (tmp_path / "inputs.txt").write_text('{"A": "1"}')
        endpoint(200, {"uuid": "u-3"})
        result = run(
            "batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", f"@{tmp_path}/inputs.txt"
        )
        assert result.stdout == "Job u-3 submitted\n"

    def test_payload_file_that_is_not_utf8_is_one_line(self, run, endpoint, tmp_path):
        """--json-payload @FILE with bytes that are not UTF-8 is refused in one line, before calling AWS."""
        (tmp_path / "inputs.txt").write_bytes(b'\xff{"A": "1"}')
        result = run(
            "batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", f"@{tmp_path}/inputs.txt"
        )
        assert result.exit_code == 1
        assert result.stdout == ""
        assert (
            result.stderr
            == f"Error: {tmp_path}/inputs.txt is not UTF-8 text. Save the JSON payload as UTF-8\n"
        )

    def test_duplicate_request_says_so(self, run, endpoint):
        """A request the endpoint had already scheduled is reported as such."""
        endpoint(200, {"uuid": "u-1", "batch_job_id": "b-1", "duplicate": True})
        result = run("batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", "{}")
        assert result.stdout == "Job u-1 was already submitted (AWS Batch job b-1)\n"

    def test_server_error_says_to_retry(self, run, endpoint):
        """A 500 from the endpoint is reported with advice to run again under the printed client token."""
        endpoint(500, {"error": "Batch throttled"})
        result = run("batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", "{}")
        assert result.exit_code == 1
        token = result.stderr.split()[2]
        assert f"Run again with --client-token {token}" in result.stderr

    def test_invalid_payload_is_refused_locally(self, flock):
        """A payload that is not JSON is refused before the endpoint is called."""
        with pytest.raises(CliError, match="not valid JSON"):
            invoke_endpoint(flock.client("lambda"), "endpoint", "{nope", token="t")  # noqa: S106 - a client token


class TestBatchViaApiList:
    """`batch-via-api` with a JSON list: every job's answer is read, whatever the status."""

    def test_a_list_prints_every_job_and_exits_0(self, run, endpoint):
        """A list answered 200 prints one line per submitted job and exits 0."""
        endpoint(
            200,
            {
                "jobs": [
                    {"position": 0, "uuid": "u-0", "batch_job_id": "a:0", "duplicate": False},
                    {"position": 1, "uuid": "u-1", "batch_job_id": "a:1", "duplicate": True},
                ]
            },
        )
        result = run("batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", "[{}, {}]")
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            "Job u-0 (job 0 of the list) submitted (AWS Batch job a:0)",
            "Job u-1 (job 1 of the list) was already submitted (AWS Batch job a:1)",
        ]

    def test_a_list_with_a_rejected_job_prints_both_and_exits_1(self, run, endpoint):
        """A 207 prints the submitted jobs and each refused one with its reason, and exits 1."""
        endpoint(
            207,
            {
                "error": "Rejected",
                "message": "1 of 2 jobs are invalid; the others were scheduled",
                "jobs": [{"position": 0, "uuid": "u-0", "batch_job_id": "b-0", "duplicate": False}],
                "rejections": [
                    {"position": 1, "uuid": "u-1", "error": "ReservedKeywordError", "message": "'PATH' is..."}
                ],
            },
        )
        result = run("batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", '[{}, {"PATH": 1}]')
        assert result.exit_code == 1
        assert result.stdout.splitlines() == [
            "Job u-0 (job 0 of the list) submitted (AWS Batch job b-0)",
            "job 1 of the list refused: ReservedKeywordError: 'PATH' is... (job u-1)",
        ]
        assert "1 of 2 jobs are invalid" in result.stderr

    def test_a_failure_names_the_token_to_retry_with(self, run, endpoint):
        """A 500 for a list says to run again with the same client token, naming it."""
        endpoint(500, {"error": "Throttled", "message": "1 of 2 jobs could not be scheduled now", "jobs": []})
        result = run(
            "batch-via-api",
            "--lambda-to-invoke",
            "endpoint",
            "--json-payload",
            "[{}, {}]",
            "--client-token",
            "t-1",
        )
        assert result.exit_code == 1
        assert "Run again with --client-token t-1" in result.stderr
        assert "Client token" not in result.stderr.splitlines()[0]

    @pytest.mark.parametrize("token", ["", "has space", "x" * 65, "caf\u00e9"])
    def test_an_unusable_token_is_refused_before_calling(self, run, token):
        """A --client-token the endpoint would refuse is refused before any call."""
        result = run(
            "batch-via-api", "--lambda-to-invoke", "endpoint", "--json-payload", "{}", "--client-token", token
        )
        assert result.exit_code == 1
        assert "--client-token" in result.stderr

    def test_the_payload_travels_unchanged_inside_the_token_envelope(self):
        """The user's JSON text is wrapped as sent: duplicate keys and number spellings reach the endpoint."""
        wrapped = tokened_payload('[{"A": 1.50, "A": 2}]', "t-1")
        assert wrapped == '{"client_token": "t-1", "jobs": [{"A": 1.50, "A": 2}]}'

    def test_a_payload_that_is_not_utf8_is_refused_before_calling(self, flock):
        """Command-line bytes that are not UTF-8 (lone surrogates to Python) are refused in one line."""
        with pytest.raises(CliError, match="not UTF-8 text"):
            invoke_endpoint(flock.client("lambda"), "endpoint", '{"A": "\udcff"}', token="t")  # noqa: S106
