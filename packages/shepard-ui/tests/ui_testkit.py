"""Helpers of the shepard-ui tests: a flock on moto server, rows written as the flock writes them."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from shepard_core import (
    GROUP_OF,
    TAG,
    GroupMove,
    JobRow,
    JobStatus,
    JobUsage,
    list_attributes,
    special_value,
    transact_counted,
)
from shepard_ui import FlockNames

PORT = 18765
ORIGIN = f"http://127.0.0.1:{PORT}"


@dataclasses.dataclass
class MotoFlock:
    """A flock's buckets and table on moto server, clients for them, and a way to write job rows."""

    endpoint: str
    inputs_bucket: str = "ui-inputs"
    outputs_bucket: str = "ui-outputs"
    errors_bucket: str = "ui-errors"
    table: str = "ui-jobs"
    queue_url: str | None = None

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def names(self) -> FlockNames:
        return FlockNames(
            table=self.table,
            inputs_bucket=self.inputs_bucket,
            outputs_bucket=self.outputs_bucket,
            errors_bucket=self.errors_bucket,
            scheduler_queue_url=self.queue_url,
            profile_name="test",
            endpoint_url=self.endpoint,
        )

    def keys(self, bucket: str) -> list[str]:
        listed = self.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(item["Key"] for item in listed)

    def write(self, *rows: JobRow, start: datetime | None = None) -> None:
        """Create rows as the flock's writers do: list attributes on each, counters moved with it."""
        moment = start or datetime(2026, 5, 1, tzinfo=UTC)
        for number, row in enumerate(rows):
            created = (moment + timedelta(seconds=number)).isoformat().replace("+00:00", "Z")
            tag = special_value(row.inputs, TAG)
            action = {
                "Put": {
                    "TableName": self.table,
                    "Item": row.to_item() | list_attributes(row.uuid, GROUP_OF[row.status], created, tag),
                }
            }
            usage = JobUsage(
                instance_type=row.instance_type,
                capacity_type=row.capacity_type,
                vcpus=row.vcpus,
                memory_mib=row.memory_mib,
                started_ms=row.run_started_ms,
                ended_ms=row.run_ended_ms,
            )
            move = GroupMove(None, GROUP_OF[row.status], tag, usage)
            transact_counted(self.client("dynamodb"), self.table, [action], [move])

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def job_row(n: int, status: JobStatus = JobStatus.JOB_COMPLETE, **fields: Any) -> JobRow:
    """Return a job row numbered `n` (its UUID names the number)."""
    values: dict[str, Any] = {
        "uuid": f"00000000-0000-4000-8000-{n:012d}",
        "status": status,
        "inputs": {"N": str(n)},
        "input_zip_name": f"job-{n}.zip",
        "is_invoked": False,
        "end_time": 0,
        "start_time": f"2026-05-01T00-00-{n % 60:02d}Z",
    }
    return JobRow(**(values | fields))


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """Return a zip holding `files`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class Factory:
    """Makes clients on the moto server, as shepard-cli's Aws does on a profile's endpoint."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")


def inputs_text(inputs: dict[str, Any]) -> bytes:
    """Return inputs.txt for `inputs`."""
    return json.dumps(inputs).encode()
