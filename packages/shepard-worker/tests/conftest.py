"""A small flock on moto server (table, buckets, secret store) and helpers to schedule a job into it."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from shepard_core import JobRow, JobStatus, manifest_chunks, ttl_after_days
from shepard_worker import WorkerConfig

if TYPE_CHECKING:
    from pathlib import Path

TABLE = "shepard-jobs"
INPUTS = "shepard-inputs"
OUTPUTS = "shepard-outputs"
ERRORS = "shepard-errors"
QUICK = "shepard-quick-deploy"
SECRETS = "shepard-secrets"


class Flock:
    """The AWS side of one flock on moto, plus temporary mount roots standing in for root/EFS/Lustre."""

    TABLE = TABLE
    INPUTS = INPUTS
    OUTPUTS = OUTPUTS
    ERRORS = ERRORS
    QUICK = QUICK
    SECRETS = SECRETS

    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.endpoint = endpoint
        self.s3 = boto3.client("s3", endpoint_url=endpoint)
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        self.secretsmanager = boto3.client("secretsmanager", endpoint_url=endpoint)
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for bucket in (INPUTS, OUTPUTS, ERRORS, QUICK):
            self.s3.create_bucket(Bucket=bucket)
        self.mounts = {name: tmp_path / "mnt" / name for name in ("root", "efs", "fsx")}
        for mount in self.mounts.values():
            mount.mkdir(parents=True)

    def schedule(  # noqa: PLR0913 - mirrors the row's fields
        self,
        job_uuid: str = "job-1",
        inputs: dict[str, str] | None = None,
        *,
        files: dict[str, bytes] | None = None,
        status: JobStatus = JobStatus.SUBMITTED,
        attempt: int | None = None,
        is_invoked: bool = False,
        claim: str | None = None,
        zip_key: str | None = None,
    ) -> str:
        """Put a job row (and, unless invoked, its input zip) the way the scheduler does."""
        zip_name = "" if is_invoked else (zip_key or f"{job_uuid}.zip")
        if not is_invoked:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("inputs.txt", json.dumps(inputs or {}))
                for name, data in (files or {}).items():
                    archive.writestr(name, data)
            self.s3.put_object(Bucket=INPUTS, Key=zip_name, Body=buffer.getvalue())
        row = JobRow(
            uuid=job_uuid,
            status=status,
            inputs=inputs or {},
            input_zip_name=zip_name,
            is_invoked=is_invoked,
            end_time=ttl_after_days(7),
            attempt=attempt,
            array_claim=claim,
        )
        self.dynamodb.put_item(TableName=TABLE, Item=row.to_item())  # type: ignore[arg-type]
        return job_uuid

    def manifest(self, token: str, job_ids: list[str]) -> None:
        """Write an array's manifest items the way the scheduler does: job UUIDs in child-index order."""
        for key, chunk in manifest_chunks(token, job_ids):
            self.dynamodb.put_item(
                TableName=TABLE,
                Item={
                    "UUID": {"S": key},
                    "SHEPARD_MANIFEST_JOBS": {"L": [{"S": job_id} for job_id in chunk]},
                    "END_TIME": {"N": str(ttl_after_days(7))},
                },
            )

    def quick_deploy(self, folder: str, files: dict[str, str]) -> None:
        """Upload a quick-deploy folder."""
        for name, text in files.items():
            self.s3.put_object(Bucket=QUICK, Key=f"{folder}/{name}", Body=text.encode())

    def secrets(self, files: dict[str, bytes]) -> None:
        """Store secret files the way `shepard secretify` does (file name -> base64)."""
        value = json.dumps({name: base64.b64encode(data).decode() for name, data in files.items()})
        self.secretsmanager.create_secret(Name=SECRETS, SecretString=value)

    def env(self, job_uuid: str = "job-1", **overrides: str) -> dict[str, str]:
        """Return the worker's environment as the job definition and overrides would set it."""
        env = {
            "SHEPARD_TABLE_NAME": TABLE,
            "SHEPARD_INPUTS_BUCKET": INPUTS,
            "SHEPARD_OUTPUTS_BUCKET": OUTPUTS,
            "SHEPARD_ERRORS_BUCKET": ERRORS,
            "SHEPARD_QUICK_DEPLOY_BUCKET": QUICK,
            "SHEPARD_SECRET_STORE": SECRETS,
            "USES_EFS": "False",
            "USES_LUSTRE": "False",
            "ULIMIT_FILENO": "4096",
            "ALLOW_DOCKER_ACCESS": "False",
            "UUID": job_uuid,
            "SHEPARD_RUNTIME": "process",
            "SHEPARD_ROOT_MOUNT": str(self.mounts["root"]),
            "SHEPARD_EFS_MOUNT": str(self.mounts["efs"]),
            "SHEPARD_LUSTRE_MOUNT": str(self.mounts["fsx"]),
            "SHEPARD_WORKER_HOSTNAME": "sheep-1",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "SHEPARD_STOP_GRACE_SECONDS": "2",
            # The test engine (and the worker image's own) has no bridge network: host, chosen explicitly.
            "SHEPARD_PAYLOAD_NETWORK": "host",
        }
        if os.environ.get("DOCKER_HOST"):
            env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
        env.update(overrides)
        return env

    def config(self, job_uuid: str = "job-1", **overrides: str) -> WorkerConfig:
        """Return the worker configuration for `job_uuid`."""
        return WorkerConfig.from_env(self.env(job_uuid, **overrides))

    def row(self, job_uuid: str = "job-1") -> dict[str, Any]:
        """Return the job's row in low-level form."""
        return self.dynamodb.get_item(TableName=TABLE, Key={"UUID": {"S": job_uuid}}, ConsistentRead=True)[
            "Item"
        ]

    def job(self, job_uuid: str = "job-1") -> JobRow:
        """Return the job's row."""
        return JobRow.from_item(self.row(job_uuid))

    def keys(self, bucket: str) -> list[str]:
        """Return every key in `bucket`."""
        return [obj["Key"] for obj in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    def zip(self, bucket: str, key: str) -> zipfile.ZipFile:
        """Return the zip stored at `bucket`/`key`."""
        data = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return zipfile.ZipFile(io.BytesIO(data))


@pytest.fixture
def flock(aws_endpoint: str, tmp_path: Path) -> Flock:
    """Return a fresh flock on a freshly reset moto server."""
    return Flock(aws_endpoint, tmp_path)
