"""Fixtures of the shepard-cli tests: a private profile folder, a CLI runner, a flock on moto server."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from shepard_cli import cli
from shepard_cli.profiles import ProfileStore
from shepard_core import (
    GROUP_OF,
    LIST_GROUP,
    TAG,
    Attr,
    GroupMove,
    JobRow,
    JobStatus,
    JobUsage,
    job_table_definition,
    list_attributes,
    list_group_value,
    special_value,
    transact_counted,
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Point SHEPARD_CLI_HOME at an empty folder, work in a fresh folder, make tables wide enough to read."""
    folder = tmp_path / "shepard-home"
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("SHEPARD_CLI_HOME", str(folder))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return folder


@pytest.fixture
def store(home):
    return ProfileStore(home)


@pytest.fixture
def run(home):
    """Return a function that runs `shepard ARGS...` and returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:  # noqa: A002 - click's name
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False, prog_name="shepard")

    return invoke


@dataclasses.dataclass
class Flock:
    """The AWS resources of a test flock on moto server, and clients for them."""

    endpoint: str
    inputs_bucket: str = "test-inputs"
    outputs_bucket: str = "test-outputs"
    errors_bucket: str = "test-errors"
    table: str = "test-jobs"
    secret: str = "test-secrets"  # noqa: S105 - a secret name

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def profile(self) -> dict[str, str]:
        return {
            "shepard_cli_endpoint_url": self.endpoint,
            "shepard_cli_s3_bucket_to_upload_to": self.inputs_bucket,
            "shepard_cli_s3_bucket_for_results": self.outputs_bucket,
            "shepard_cli_errors_bucket": self.errors_bucket,
            "shepard_cli_dynamo_db_to_query": self.table,
            "shepard_cli_secret_store": self.secret,
        }

    def keys(self, bucket: str) -> list[str]:
        listed = self.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(obj["Key"] for obj in listed)


@pytest.fixture
def flock(aws_endpoint, store):
    """Create a flock's buckets, table and secret on moto server and make a current profile for it."""
    made = Flock(aws_endpoint)
    s3 = made.client("s3")
    for bucket in (made.inputs_bucket, made.outputs_bucket, made.errors_bucket):
        s3.create_bucket(Bucket=bucket)
        # As the template makes them: a job's UUID derives from its upload's version id.
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made.client("dynamodb").create_table(**job_table_definition(made.table))
    made.client("secretsmanager").create_secret(Name=made.secret, SecretString=json.dumps({}))
    store.save("test", made.profile())
    store.set_current("test")
    return made


@dataclasses.dataclass
class CountedJobs:
    """Writes job rows the way the flock's writers do: list attributes on the row, counters moved with it."""

    flock: Flock
    written: dict[str, JobRow] = dataclasses.field(default_factory=dict)
    created: dict[str, str] = dataclasses.field(default_factory=dict)

    def write(self, rows: list[tuple[JobRow, str]]) -> None:
        """Create each (row, creation time) in transactions of 25 rows, counting each in its group."""
        client = self.flock.client("dynamodb")
        for start in range(0, len(rows), 25):
            chunk = rows[start : start + 25]
            actions = [
                {
                    "Put": {
                        "TableName": self.flock.table,
                        "Item": row.to_item()
                        | list_attributes(row.uuid, GROUP_OF[row.status], created, _tag(row)),
                        "ConditionExpression": "attribute_not_exists(#u)",
                        "ExpressionAttributeNames": {"#u": Attr.UUID},
                    }
                }
                for row, created in chunk
            ]
            moves = [GroupMove(None, GROUP_OF[row.status], _tag(row), _usage(row)) for row, _ in chunk]
            transact_counted(client, self.flock.table, actions, moves)
            for row, created in chunk:
                self.written[row.uuid] = row
                self.created[row.uuid] = created

    def move(self, uuid: str, status: JobStatus) -> None:
        """Move a written row to `status` with a conditional write on its current one, as a worker does."""
        row = self.written[uuid]
        action = {
            "Update": {
                "TableName": self.flock.table,
                "Key": {Attr.UUID: {"S": uuid}},
                "UpdateExpression": "SET #s = :after, #g = :group",
                "ConditionExpression": "#s = :before",
                "ExpressionAttributeNames": {"#s": Attr.JOB_STATUS, "#g": LIST_GROUP},
                "ExpressionAttributeValues": {
                    ":after": {"S": status.value},
                    ":before": {"S": row.status.value},
                    ":group": {"S": list_group_value(GROUP_OF[status], uuid)},
                },
            }
        }
        move = GroupMove(GROUP_OF[row.status], GROUP_OF[status], _tag(row))
        transact_counted(self.flock.client("dynamodb"), self.flock.table, [action], [move])
        self.written[uuid] = dataclasses.replace(row, status=status)


def _tag(row: JobRow) -> str | None:
    return special_value(row.inputs, TAG)


def _usage(row: JobRow) -> JobUsage:
    """Return what the row records for pricing: an ended row's end write counts it as the writers do."""
    return JobUsage(
        instance_type=row.instance_type,
        capacity_type=row.capacity_type,
        vcpus=row.vcpus,
        memory_mib=row.memory_mib,
        started_ms=row.run_started_ms,
        ended_ms=row.run_ended_ms,
    )


@pytest.fixture
def counted(flock):
    """Return a writer of counted job rows into the test flock's table."""
    return CountedJobs(flock)


ASSUME_BATCH = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture
def submit_batch_job(flock):
    """Return a function that submits a job to a Batch queue on moto server and returns its job id."""
    role = flock.client("iam").create_role(RoleName="batch", AssumeRolePolicyDocument=ASSUME_BATCH)["Role"][
        "Arn"
    ]
    batch = flock.client("batch")
    batch.create_compute_environment(
        computeEnvironmentName="test-env", type="UNMANAGED", state="ENABLED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName="test-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "test-env"}],
    )
    batch.register_job_definition(
        jobDefinitionName="test-worker",
        type="container",
        containerProperties={"image": "shepard-worker:latest", "vcpus": 1, "memory": 128},
    )

    def submit(name: str, size: int | None = None) -> str:
        array = {"arrayProperties": {"size": size}} if size else {}
        return batch.submit_job(jobName=name, jobQueue="test-queue", jobDefinition="test-worker", **array)[
            "jobId"
        ]

    return submit


@pytest.fixture
def gate():
    """Return a function making a botocore before-call handler that waits at a barrier, then goes on."""

    def make(barrier):
        def wait(**_):
            barrier.wait()

        return wait

    return make


@dataclasses.dataclass
class HeldBatchJob:
    """A Batch job held unended on moto server: its id (the first child's for an array) and its submitter."""

    job_id: str
    submitter: threading.Thread
    submitted_ids: list[str]

    def submitted(self) -> str:
        """Wait for SubmitJob to return (after the gate's release) and return the id it answered."""
        self.submitter.join()
        return self.submitted_ids[0]


@pytest.fixture
def hold_batch_job(flock, submit_batch_job, batch_job_gate):
    """Return a function that submits a Batch job held unended until `batch_job_gate.release()`.

    It returns once the job (or an array's first child) is listed; the test's end releases and joins it.
    """
    held: list[HeldBatchJob] = []

    def hold(name: str, size: int | None = None) -> HeldBatchJob:
        ids: list[str] = []
        submitter = threading.Thread(target=lambda: ids.append(submit_batch_job(name, size)), daemon=True)
        submitter.start()
        batch = flock.client("batch")
        while True:
            listed = batch.list_jobs(jobQueue="test-queue", jobStatus="SUBMITTED")["jobSummaryList"]
            found = [job["jobId"] for job in listed if (":" in job["jobId"]) == (size is not None)]
            if found:
                held.append(HeldBatchJob(found[0], submitter, ids))
                return held[-1]
            if not submitter.is_alive():
                raise AssertionError(f"Batch job {name} ended before it could be held")

    yield hold
    batch_job_gate.release()
    for job in held:
        job.submitter.join()
