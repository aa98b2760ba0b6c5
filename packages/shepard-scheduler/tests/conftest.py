"""Fixtures for the scheduler's tests: sample events, a Lambda context, and a Shepard flock on moto."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from shepard_core import Counts, is_counter_key, is_manifest_key, parse_counter_items
from shepard_scheduler.testing import forget_clients
from shepard_testing import (
    FlockResources,
    LambdaContext,
    ResourceNames,
    drain_queue,
    make_zip,
    provision_resources,
    receive_messages,
    sqs_event,
    sqs_event_from_messages,
)

EVENTS = Path(__file__).parent / "events"
NAMES = ResourceNames()
INPUTS_BUCKET = NAMES.inputs_bucket
ERRORS_BUCKET = NAMES.errors_bucket
TABLE = NAMES.table
JOB_QUEUE = NAMES.job_queue
JOB_DEFINITION = NAMES.job_definition
PROJECT = "ShepardTest"
MAX_RECEIVE_COUNT = 2


def load_event(name: str) -> Any:
    """Return the sample event `tests/events/<name>.json`."""
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def context() -> LambdaContext:
    """Return a fresh Lambda context with a minute to go."""
    return LambdaContext()


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: next(iter(value.values())) for name, value in item.items()}


@dataclasses.dataclass
class Flock(FlockResources):
    """A Shepard flock on moto: buckets, job table, notification queue and a Batch job queue."""

    def upload(self, key: str, files: dict[str, bytes | str]) -> None:
        """Upload a job zip holding `files` to the inputs bucket."""
        self.s3.put_object(Bucket=INPUTS_BUCKET, Key=key, Body=make_zip(files))

    def _records(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(sqs_event_from_messages(messages, queue_arn=self.queue_arn)["Records"])

    def receive(self) -> list[dict[str, Any]]:
        """Take every message waiting in the notification queue, as SQS Lambda event records."""
        return self._records(drain_queue(self.sqs, self.queue_url, skip_test_events=False))

    def poll(self, handler: Any, context: Any) -> dict[str, Any]:
        """Do one poll of an event source mapping: receive, invoke, delete all but the failed messages."""
        messages = receive_messages(self.sqs, self.queue_url)
        if not messages:
            return {"batchItemFailures": []}
        result: dict[str, Any] = handler({"Records": self._records(messages)}, context)
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def dead_letters(self) -> list[str]:
        """Return the bodies of the messages in the dead-letter queue."""
        response = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [message["Body"] for message in response.get("Messages", [])]

    def job_messages(self) -> dict[str, Any]:
        """Return the waiting messages as one SQS Lambda event, leaving out S3 test events."""
        return {"Records": self._records(drain_queue(self.sqs, self.queue_url))}

    def row(self, job_id: str) -> dict[str, Any] | None:
        """Return the job row of `job_id` as plain strings, or None."""
        item = self.dynamodb.get_item(TableName=TABLE, Key={"UUID": {"S": job_id}}, ConsistentRead=True)
        found = item.get("Item")
        return None if found is None else _plain(found)

    def items(self) -> list[dict[str, Any]]:
        """Return every item of the job table (rows and manifests), in DynamoDB's attribute-value form."""
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]

    def rows(self) -> list[dict[str, Any]]:
        """Return every job row (array manifests and status counters left out), as plain strings."""
        return [
            _plain(item)
            for item in self.items()
            if not is_manifest_key(item["UUID"]["S"]) and not is_counter_key(item["UUID"]["S"])
        ]

    def counts(self) -> Counts:
        """Return the status counters, summed over their items."""
        return parse_counter_items(item for item in self.items() if is_counter_key(item["UUID"]["S"]))

    def manifests(self) -> dict[str, list[str]]:
        """Return every array manifest item: its key and the job UUIDs it lists, in index order."""
        return {
            item["UUID"]["S"]: [value["S"] for value in item["SHEPARD_MANIFEST_JOBS"]["L"]]
            for item in self.items()
            if is_manifest_key(item["UUID"]["S"])
        }

    def jobs(self) -> list[dict[str, Any]]:
        """Return every Batch job in the job queue, described, with its environment as a dict."""
        summaries = self.batch.list_jobs(jobQueue=JOB_QUEUE, filters=[{"name": "JOB_NAME", "values": ["*"]}])
        ids = [summary["jobId"] for summary in summaries["jobSummaryList"]]
        if not ids:
            return []
        described: list[dict[str, Any]] = self.batch.describe_jobs(jobs=ids)["jobs"]
        for job in described:
            job["environment"] = {
                pair["name"]: pair["value"]
                for pair in job["container"].get("environment", [])
                if pair["name"] != "AWS_BATCH_JOB_ID"
            }
        return described

    def report(self, key: str) -> dict[str, Any]:
        """Return the JSON report stored at `key` in the errors bucket."""
        return json.loads(self.s3.get_object(Bucket=ERRORS_BUCKET, Key=key)["Body"].read())

    def report_keys(self) -> list[str]:
        """Return every key in the errors bucket."""
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=ERRORS_BUCKET).get("Contents", [])]


def build_flock(endpoint: str) -> Flock:
    """Create the flock's resources on the moto server at `endpoint`."""
    resources = provision_resources(endpoint, NAMES, max_receive_count=MAX_RECEIVE_COUNT)
    return Flock(**{field.name: getattr(resources, field.name) for field in dataclasses.fields(resources)})


FLOCK_ENVIRONMENT = {
    "SHEPARD_TABLE_NAME": TABLE,
    "SHEPARD_JOB_QUEUE": JOB_QUEUE,
    "SHEPARD_JOB_DEFINITION": JOB_DEFINITION,
    "SHEPARD_INPUTS_BUCKET": INPUTS_BUCKET,
    "SHEPARD_ERRORS_BUCKET": ERRORS_BUCKET,
    "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": "14",
    "SHEPARD_PROJECT_NAME": PROJECT,
    "SHEPARD_TAG_PROJECT": PROJECT,
    "SHEPARD_TAG_TEAM": "genomics",
    "SHEPARD_TAG_CONTACT": "unset",
    "SHEPARD_TAG_WORKLOAD_TYPE": "batch",
}


@pytest.fixture
def flock(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Yield a fresh flock on moto, with the handlers' environment variables pointing at it."""
    flock = build_flock(aws_endpoint)
    for name, value in FLOCK_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    forget_clients()
    yield flock
    forget_clients()


@pytest.fixture
def events() -> Any:
    """Return helpers that load sample events and wrap message bodies in SQS Lambda events."""
    return _Events()


class _Events:
    load = staticmethod(load_event)
    sqs = staticmethod(sqs_event)
    zip = staticmethod(make_zip)


@pytest.fixture
def config() -> Any:
    """Return the scheduler config of the test flock."""
    from shepard_scheduler import SchedulerConfig

    return SchedulerConfig.from_env(FLOCK_ENVIRONMENT)


@pytest.fixture
def make_scheduler(flock: Flock, config: Any) -> Any:
    """Return a factory of Schedulers on the flock, each with its own clients (3 tries each)."""
    from botocore.config import Config
    from shepard_scheduler._core import Scheduler

    def make(**kwargs: Any) -> Any:
        session = boto3.session.Session(region_name="us-east-1")
        retries = Config(retries={"mode": "standard", "total_max_attempts": 3})
        clients = {
            "s3_client": session.client("s3", endpoint_url=flock.endpoint, config=retries),
            "dynamodb_client": session.client("dynamodb", endpoint_url=flock.endpoint, config=retries),
            "batch_client": session.client("batch", endpoint_url=flock.endpoint, config=retries),
        }
        clients.update(kwargs)
        return Scheduler(config, **clients)

    return make


class _FakeStream:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class Throttle:
    """A botocore `before-send` hook answering an operation with throttling errors, and counting calls."""

    def __init__(self, service: str, times: int | None) -> None:
        self.service = service
        self.remaining = times
        self.calls = 0
        self.throttled = 0

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.calls += 1
        if self.remaining is not None and self.remaining <= 0:
            return None
        if self.remaining is not None:
            self.remaining -= 1
        self.throttled += 1
        if self.service == "dynamodb":
            body = json.dumps(
                {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
            ).encode()
            return AWSResponse(
                request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _FakeStream(body)
            )
        body = json.dumps({"message": "Too Many Requests"}).encode()
        headers = {"x-amzn-ErrorType": "TooManyRequestsException", "Content-Type": "application/json"}
        return AWSResponse(request.url, 429, headers, _FakeStream(body))


@pytest.fixture
def throttle() -> Any:
    """Return a function that makes `client` throttle `operation` `times` times (None: always)."""

    def install(client: Any, operation: str, times: int | None) -> Throttle:
        hook = Throttle(client.meta.service_model.service_name, times)
        client.meta.events.register(f"before-send.{client.meta.service_model.service_name}.{operation}", hook)
        return hook

    return install


@pytest.fixture
def log_lines() -> Any:
    """Yield a function returning the JSON log entries the handlers wrote so far."""
    from shepard_scheduler._observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]

    yield read
    handler.setStream(previous)  # type: ignore[attr-defined]
