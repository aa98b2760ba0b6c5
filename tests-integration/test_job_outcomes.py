"""What a user sees for a failing payload, a reclaimed host, a rejected job and the batching endpoint."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from flock_testkit import SETTLED, Flock
from shepard_core import (
    REJECTED_PREFIX,
    Attr,
    is_manifest_key,
    parse_child_job_id,
    parse_error_object_name,
    rejection_report_key,
)

if TYPE_CHECKING:
    import subprocess


def settled_row(flock: Flock, key: str, timeout: float = 90) -> dict[str, object]:
    """Wait for the job made from zip `key` to settle and return its row."""
    return flock.wait_for(
        lambda: next((r for r in flock.rows_for({key}).values() if r["JOB_STATUS"] in SETTLED), None),
        timeout=timeout,
        what=f"the job of {key} to settle",
    )


class TestPayloadFailure:
    def test_a_failing_payload_leaves_an_error_zip_and_no_output(self, flock: Flock):
        """A payload exiting non-zero ends job_failed, with its log in an error zip and no retry."""
        # GIVEN a job whose payload exits 3
        key = "outcomes/failing.zip"
        flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "FAIL": "True", "TAG": "failing"})

        # WHEN it settles
        row = settled_row(flock, key)

        # THEN it failed once, left an error zip holding the payload's words, and no output
        assert row["JOB_STATUS"] == "job_failed"
        uuid = str(row["UUID"])
        errors = flock.error_zips_of(uuid)
        assert len(errors) == 1
        assert parse_error_object_name(errors[0]).tag == "failing"
        text = b"".join(flock.zip_members(flock.state.names.errors_bucket, errors[0]).values())
        assert b"failing on purpose" in text
        assert not [k for k in flock.keys(flock.state.names.outputs_bucket) if uuid in k]
        assert len(flock.executor_job_of(uuid)["attempts"]) == 1


class TestBatchRetry:
    def test_a_reclaimed_host_is_retried_and_the_second_attempt_completes_the_job(self, flock: Flock):
        """`shepard local reclaim` ends attempt 1 as a Spot reclaim; attempt 2 completes the job."""
        # GIVEN a job whose payload is running
        key = "outcomes/reclaimed.zip"
        uuid = flock.start_sleeping_job(key, "reclaimed", 6)

        # WHEN its host is reclaimed
        flock.cli("local", "reclaim", uuid)

        # THEN the retry strategy retries it and the second attempt completes it, with one output
        # (the row reads job_failed between the attempts, as on AWS: the Batch job's state decides)
        batch_job = flock.wait_for(
            lambda: next(
                (j for j in [flock.executor_job_of(uuid)] if j["status"] in {"SUCCEEDED", "FAILED"}), None
            ),
            timeout=90,
            what="the Batch job to finish",
        )
        assert batch_job["status"] == "SUCCEEDED"
        assert flock.rows()[uuid]["JOB_STATUS"] == "job_complete"
        attempts = batch_job["attempts"]
        assert len(attempts) == 2
        assert attempts[0]["status_reason"].startswith("Host EC2")
        assert attempts[1]["exit_code"] == 0
        assert len(flock.outputs_by_job()[uuid]) == 1


class TestRejectedJob:
    def test_a_rejected_job_is_shown_by_query_with_its_reason(self, flock: Flock):
        """A zip setting a reserved keyword is rejected before Batch and shown by `shepard query`."""
        # GIVEN a zip whose inputs.txt sets a reserved keyword, dropped straight into the bucket
        key = "outcomes/rejected.zip"
        flock.upload(key, {"UUID": "mine", "NAME": "rejected"})

        # WHEN it settles
        row = settled_row(flock, key)

        # THEN it is rejected with a reason, reported, never submitted, and `shepard query` shows it
        assert row["JOB_STATUS"] == "rejected"
        assert "UUID" in str(row[Attr.REJECTION_REASON])
        assert rejection_report_key(key) in flock.keys(flock.state.names.errors_bucket, REJECTED_PREFIX)
        assert flock.executor_job_of(str(row["UUID"])) is None
        shown = json.loads(flock.cli("--profile", "local", "query", "--output", "json").stdout)
        mine = next(job for job in shown if job["uuid"] == row["UUID"])
        assert mine["status"] == "rejected"
        assert "reserved keyword" in json.dumps(mine)


class TestBatchingEndpoint:
    def test_an_api_job_runs_and_a_bad_request_is_refused_with_its_reason(self, flock: Flock):
        """`shepard batch-via-api` starts a job that completes, and says why a refused one was refused."""
        # WHEN a good and a bad request go through the endpoint
        good = flock.cli(
            "--profile", "local", "batch-via-api", "--json-payload", '{"QUICK_DEPLOY_DIRECTORY": "hello"}'
        )
        bad = flock.cli(
            "--profile", "local", "batch-via-api", "--json-payload", '{"PATH": "/x"}', check=False
        )

        # THEN the good job completes and the bad one is refused with the keyword named
        uuid = good.stdout.split()[1]
        row = flock.wait_for(
            lambda: next(
                (r for r in flock.rows().values() if r["UUID"] == uuid and r["JOB_STATUS"] in SETTLED), None
            ),
            timeout=60,
            what="the API job to settle",
        )
        assert row["JOB_STATUS"] == "job_complete"
        assert row["IS_INVOKED"] == "True"
        assert bad.returncode == 1
        assert "reserved" in (bad.stdout + bad.stderr).lower()
        assert "Traceback" not in bad.stdout + bad.stderr

    def test_requests_repeated_under_a_client_token_run_each_job_once(self, flock: Flock):
        """A list (with one bad job) and a single job, each sent twice with its --client-token, run once."""
        token = uuid.uuid4().hex
        hello = {"QUICK_DEPLOY_DIRECTORY": "hello"}
        listed = json.dumps([{**hello, "N": "0"}, {**hello, "N": "1"}, {"PATH": "/x"}])
        before = set(flock.rows())

        def send(payload: str, name: str) -> subprocess.CompletedProcess[str]:
            return flock.cli(
                "--profile", "local", "batch-via-api", "--json-payload", payload,
                "--client-token", f"{name}-{token}", check=False,
            )  # fmt: skip

        # WHEN each request is sent twice (two Lambda invocations, two request ids)
        first_list, second_list = send(listed, "list"), send(listed, "list")
        first_one, second_one = send(json.dumps(hello), "one"), send(json.dumps(hello), "one")

        # THEN the list's answers name the same two jobs (submitted, then already submitted), the bad job
        # refused by position both times, and the single job the same job both times
        assert first_list.returncode == second_list.returncode == 1
        submitted = [line.split()[1] for line in first_list.stdout.splitlines() if "submitted" in line]
        again = [line for line in second_list.stdout.splitlines() if "submitted" in line]
        assert len(submitted) == 2
        assert [line.split()[1] for line in again] == submitted
        assert all("was already submitted" in line for line in again)
        for done in (first_list, second_list):
            assert "job 2 of the list refused: ReservedKeywordError" in done.stdout
        assert first_one.returncode == second_one.returncode == 0, first_one.stderr
        single = first_one.stdout.split()[1]
        assert second_one.stdout.split()[1] == single
        assert "was already submitted" in second_one.stdout
        # AND four rows were made (two list jobs, the refused one, the single job); each job ran once
        assert len({key for key in set(flock.rows()) - before if not is_manifest_key(key)}) == 4
        for job in (*submitted, single):
            row = flock.wait_for(
                lambda job=job: next(
                    (r for r in flock.rows().values() if r["UUID"] == job and r["JOB_STATUS"] in SETTLED),
                    None,
                ),
                timeout=90,
                what=f"API job {job} to settle",
            )
            assert row["JOB_STATUS"] == "job_complete"
            assert len(flock.executor_job_of(job)["attempts"]) == 1
        children = {
            parse_child_job_id(str(flock.rows()[job]["SHEPARD_BATCH_JOB_ID"]))[0] for job in submitted
        }
        assert len(children) == 1


class TestFlockStatus:
    def test_status_reports_both_processes_running(self, flock: Flock):
        """`shepard local status` shows the emulator and the runner running and the template's code."""
        shown = flock.cli("local", "status").stdout
        assert "AWS emulator  running" in shown
        assert "runner        running" in shown
        assert "shepard.yml" in shown
        assert "emulator's memory" in shown


class TestCancel:
    def test_cancel_stops_a_running_job_and_status_shows_batch_state(self, flock: Flock):
        """`shepard cancel` terminates the running attempt for good; `shepard status` shows it FAILED."""
        # GIVEN a job whose payload is running
        key = "outcomes/cancelled.zip"
        uuid = flock.start_sleeping_job(key, "cancelled", 30)
        running = json.loads(flock.cli("--profile", "local", "status", uuid, "--output", "json").stdout)
        assert running["batch"]["status"] == "RUNNING"

        # WHEN it is cancelled
        flock.cli("--profile", "local", "cancel", uuid)

        # THEN its one attempt stops, it is not retried, and both the row and Batch say it failed
        batch_job = flock.wait_for(
            lambda: next((j for j in [flock.executor_job_of(uuid)] if j["status"] == "FAILED"), None),
            timeout=60,
            what="the Batch job to stop",
        )
        assert len(batch_job["attempts"]) == 1
        assert settled_row(flock, key)["JOB_STATUS"] == "job_failed"
        stopped = json.loads(flock.cli("--profile", "local", "status", uuid, "--output", "json").stdout)
        assert stopped["batch"]["status"] == "FAILED"


class TestLogs:
    def test_logs_prints_what_the_worker_and_payload_wrote(self, flock: Flock):
        """`shepard logs` prints the job's worker and payload lines from CloudWatch Logs."""
        # GIVEN a job that ran
        key = "outcomes/logged.zip"
        flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": "logged"})
        row = settled_row(flock, key)

        # WHEN its logs are asked for
        shown = flock.cli("--profile", "local", "logs", str(row["UUID"])).stdout

        # THEN the worker's and the payload's lines are there
        assert "Hello, logged!" in shown
        assert "job_complete" in shown
