"""`shepard status` says why a job waits for AWS Batch, reading Batch and EC2 on moto server."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from shepard_cli._watch_waits import diagnose_waits, long_waits
from shepard_cli.waits import WaitReader, diagnose_wait
from shepard_core import JobRow, JobStatus


def put_row(counted, batch_job_id, *, submitted_ago):
    """Write a counted `submitted` row for the Batch job, made `submitted_ago` before now; return its UUID."""
    moment = datetime.now(UTC) - submitted_ago
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=JobStatus.SUBMITTED,
        inputs={},
        input_zip_name="big.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        submit_time=moment.isoformat(),
        batch_job_id=batch_job_id,
    )
    counted.write([(row, moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))])
    return row.uuid


def test_status_says_why_a_long_waiting_batch_job_waits(run, flock, counted, waiting_batch_job):
    """A job waiting 12 minutes shows the cause (no m5 size has 128 vCPUs), the queue and the environment."""
    job = put_row(counted, waiting_batch_job, submitted_ago=timedelta(minutes=12))
    result = run("status", job)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "why it waits" in text
    assert "no instance type in the compute environment flock-ce's InstanceTypes (m5.*) has 128 vCPUs" in text
    assert "96 vCPUs, 393,216 MiB" in text  # the largest m5 (m5.24xlarge or m5.metal)
    assert "│ 128 vCPUs, 2,048 MiB" in text
    assert "flock-queue: ENABLED, VALID" in text
    assert "flock-ce: ENABLED, VALID" in text
    document = json.loads(run("status", job, "--output", "json").output)
    assert document["waiting"]["waited_seconds"] >= 12 * 60
    assert document["waiting"]["details"]["job"] == {"vcpus": 128.0, "memory_mib": 2048}
    assert document["waiting"]["details"]["compute_environments"][0]["max_vcpus"] == 256


def test_a_job_waiting_less_than_the_threshold_shows_no_diagnosis(run, flock, counted, waiting_batch_job):
    """A job waiting 1 minute shows none by default, and one with --wait-threshold 30s."""
    job = put_row(counted, waiting_batch_job, submitted_ago=timedelta(minutes=1))
    assert "waiting" not in json.loads(run("status", job, "--output", "json").output)
    document = json.loads(run("status", job, "--wait-threshold", "30s", "--output", "json").output)
    assert document["waiting"]["summary"].startswith("no instance type in the compute environment flock-ce")


def test_a_bad_threshold_is_one_line(run, flock):
    """--wait-threshold refuses what is not a duration, saying what is accepted."""
    result = run("status", str(uuid.uuid4()), "--wait-threshold", "soon")
    assert result.exit_code == 2
    assert "give one such as 90s, 5m" in result.output


def test_diagnose_wait_takes_a_session(flock, waiting_batch_job):
    """diagnose_wait reads through anything that makes clients, such as a boto3 Session."""

    class Endpoint:
        """Clients of the moto server."""

        def client(self, service_name):
            return boto3.Session(region_name="us-east-1").client(service_name, endpoint_url=flock.endpoint)

    found = diagnose_wait(Endpoint(), waiting_batch_job)
    assert found.batch_job_id == waiting_batch_job
    assert found.status == "SUBMITTED"
    assert "has 128 vCPUs and 2,048 MiB" in found.summary
    missing = diagnose_wait(Endpoint(), "00000000-0000-4000-8000-000000000000")
    assert missing.summary == "AWS Batch does not know job 00000000-0000-4000-8000-000000000000"


def test_watch_lists_long_waiting_batch_jobs_with_why(run, flock, counted, waiting_batch_job):
    """`watch --once` lists the job waiting 12 minutes with its cause; the JSON counts it."""
    job = put_row(counted, waiting_batch_job, submitted_ago=timedelta(minutes=12))
    put_row(
        counted, waiting_batch_job, submitted_ago=timedelta(minutes=1)
    )  # under the threshold: counted apart
    text = run("watch", "--once").output
    assert "Waiting for AWS Batch over 5m 00s: 1 job(s), the 1 longest waiting:" in text
    line = next(line for line in text.splitlines() if job in line)
    assert "12m" in line
    assert "no instance type in the compute environment flock-ce's InstanceTypes (m5.*) has 128 vCPUs" in line
    document = json.loads(run("watch", "--once", "--output", "json").output)["waiting_for_batch"]
    assert (document["threshold_seconds"], document["total"]) == (300, 1)
    assert [(wait["uuid"], wait["batch_status"]) for wait in document["shown"]] == [(job, "SUBMITTED")]
    everyone = json.loads(run("watch", "--once", "--output", "json", "--wait-threshold", "0").output)
    assert everyone["waiting_for_batch"]["total"] == 2


@pytest.mark.parametrize(
    "case",
    [
        ([], 1),
        (["--status", "submitted"], 1),
        (["--status", "failed"], 0),
        (["--tag", "someone-else"], 0),
    ],
)
def test_watch_lists_only_the_long_waits_in_view(run, counted, waiting_batch_job, case):
    """A --status without `submitted`, or a --tag the waiting job lacks, lists no long wait."""
    view, listed = case
    put_row(counted, waiting_batch_job, submitted_ago=timedelta(minutes=12))
    document = json.loads(run("watch", "--once", "--output", "json", *view).output)["waiting_for_batch"]
    assert document["total"] == listed


def test_watch_counts_every_long_wait_and_shows_the_longest_waiting(
    run, counted, waiting_batch_job, monkeypatch
):
    """45 jobs waiting 6 to 50 minutes and 10 under the threshold: all 45 counted, the 30 longest shown."""
    from shepard_cli import _watch_counted

    waited = {
        put_row(counted, waiting_batch_job, submitted_ago=timedelta(minutes=6 + n)): 6 + n for n in range(45)
    }
    for n in range(10):
        put_row(counted, waiting_batch_job, submitted_ago=timedelta(seconds=10 + n))
    document = json.loads(run("watch", "--once", "--output", "json").output)["waiting_for_batch"]
    assert (document["total"], document["total_is_floor"]) == (45, False)
    longest = sorted(waited, key=waited.__getitem__, reverse=True)[:30]
    assert [wait["uuid"] for wait in document["shown"]] == longest
    assert (
        "Waiting for AWS Batch over 5m 00s: 45 job(s), the 30 longest waiting:"
        in run("watch", "--once").output
    )
    monkeypatch.setattr(_watch_counted, "MAX_DIAGNOSED", 1)
    monkeypatch.setattr(_watch_counted, "MAX_COUNTED", 16)  # one per list shard, then "over"
    document = json.loads(run("watch", "--once", "--output", "json").output)["waiting_for_batch"]
    assert document["total_is_floor"]
    assert 1 <= document["total"] <= 16
    assert [wait["uuid"] for wait in document["shown"]] == longest[:1]
    text = run("watch", "--once").output
    assert (
        f"Waiting for AWS Batch over 5m 00s: over {document['total']} job(s), the 1 longest waiting:" in text
    )


def test_watch_describes_at_most_thirty_waiting_batch_jobs_in_one_call(flock):
    """35 long-waiting rows: the 30 longest waiting are described in one DescribeJobs call, all 35 counted."""
    rows = [
        JobRow(
            uuid=f"00000000-0000-4000-8000-{number:012d}",
            status=JobStatus.SUBMITTED,
            inputs={},
            input_zip_name=f"{number}.zip",
            is_invoked=False,
            end_time=2_000_000_000,
            submit_time=(datetime(2026, 12, 7, 12, 0, tzinfo=UTC) - timedelta(minutes=number)).isoformat(),
            batch_job_id=f"batch-{number}",
        )
        for number in range(35)
    ]
    now = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
    waits = long_waits(rows, now, timedelta(minutes=5))
    assert waits.total == 35
    assert [wait.batch_job_id for wait in waits.shown] == [f"batch-{number}" for number in range(34, 4, -1)]
    batch = flock.client("batch")
    calls = []
    batch.meta.events.register(
        "provide-client-params.batch.DescribeJobs", lambda params, **_: calls.append(params["jobs"])
    )
    diagnosed = diagnose_waits(waits, WaitReader(batch, flock.client("ec2")))
    assert [len(ids) for ids in calls] == [30]
    assert len(diagnosed.shown) == 30
    assert diagnosed.shown[0].summary == "AWS Batch does not know job batch-34"


def test_what_aws_refuses_is_named_and_the_rest_is_shown(flock, waiting_batch_job):
    """EC2 refusing DescribeInstanceTypes: fit is not judged, the refusal is noted, the states are shown."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    stubber = Stubber(ec2)
    stubber.add_client_error("describe_instance_types", "UnauthorizedOperation", "You are not authorized")
    with stubber:
        found = WaitReader(flock.client("batch"), ec2).diagnose([waiting_batch_job])[waiting_batch_job]
    assert found.details["notes"] == [
        (
            "ec2:DescribeInstanceTypes failed: An error occurred (UnauthorizedOperation) when calling the "
            "DescribeInstanceTypes operation: You are not authorized"
        )
    ]
    assert found.details["compute_environments"][0]["instance_sizes_known"] is None
    assert found.details["job_queue"]["jobQueueName"] == "flock-queue"
    assert not any("no instance type" in cause for cause in found.causes)
