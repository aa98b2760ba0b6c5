"""Count the scheduler's AWS calls per job (against moto) and print the job rates AWS's quotas allow.

Moto serves ~100-190 calls/s on a small machine, so timing it would measure moto. Instead every call
the handlers' clients make is counted with a botocore `before-call` hook, and the quotas are applied
to those counts.

Usage: python bench_scheduler.py [--jobs N]
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import logging
import os
import urllib.request
import uuid
import zipfile
from http import HTTPStatus
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

SEED_CLAIM_PER_MINUTE = 17_500
SUBMIT_JOB_TPS = 50  # AWS Batch SubmitJob, per account and Region; not adjustable
S3_GET_PER_PREFIX_PER_S = 5_500  # S3 GET/HEAD requests per second per partitioned prefix
DYNAMODB_WRITES_PER_S = 40_000  # on-demand table default maximum write request units per second

INPUTS, ERRORS, TABLE, QUEUE, JOB_QUEUE, JOB_DEFINITION = (
    "bench-inputs",
    "bench-errors",
    "bench-jobs",
    "bench-notifications",
    "bench-job-queue",
    "bench-job",
)


class CallCounter:
    """A botocore `before-call` hook counting calls by service and operation."""

    def __init__(self) -> None:
        """Start with no calls counted."""
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, event_name: str, **_: object) -> None:
        """Count the call `event_name` (`before-call.<service>.<operation>`) announces."""
        _, service, operation = event_name.split(".", 2)
        self.calls[f"{service}:{operation}"] += 1


def _post(url: str, settings: dict[str, Any] | None = None) -> None:
    data = json.dumps(settings).encode() if settings is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST", headers=headers)).close()  # noqa: S310


class Context:
    """A Lambda context with a minute to go."""

    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def __init__(self) -> None:
        """Give the invocation a request id of its own."""
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        """Return a minute, in milliseconds."""
        return 60_000


def _build(endpoint_url: str) -> dict[str, Any]:
    session = boto3.session.Session(region_name="us-east-1")
    s3, sqs, dynamodb, batch, iam = (
        session.client(name, endpoint_url=endpoint_url) for name in ("s3", "sqs", "dynamodb", "batch", "iam")
    )
    for bucket in (INPUTS, ERRORS):
        s3.create_bucket(Bucket=bucket)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=INPUTS,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    role = iam.create_role(RoleName="bench-batch", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    compute = batch.create_compute_environment(
        computeEnvironmentName="bench-compute", type="UNMANAGED", state="ENABLED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName=JOB_QUEUE,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute["computeEnvironmentArn"]}],
    )
    batch.register_job_definition(
        jobDefinitionName=JOB_DEFINITION,
        type="container",
        containerProperties={"image": "bench", "vcpus": 1, "memory": 128},
    )
    return {"s3": s3, "sqs": sqs, "queue_url": queue_url}


def _zip(payload_bytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("inputs.txt", json.dumps({"test": "bench", "TAG": "bench"}))
        archive.writestr("data.bin", os.urandom(payload_bytes))
    return buffer.getvalue()


def _messages(aws: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    while True:
        got = (
            aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10).get("Messages", [])
        )
        if not got:
            return records
        for message in got:
            aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
            if "s3:TestEvent" not in message["Body"]:
                records.append(
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "attributes": {"ApproximateReceiveCount": "1"},
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                    }
                )


def _run_s3(aws: dict[str, Any], counter: CallCounter, jobs: int, payload_bytes: int) -> list[dict[str, Any]]:
    from shepard_scheduler import s3_events

    body = _zip(payload_bytes)
    for number in range(jobs):
        aws["s3"].put_object(Bucket=INPUTS, Key=f"bench/{payload_bytes}/{number}.zip", Body=body)
    records = _messages(aws)
    counter.calls.clear()
    for start in range(0, len(records), 10):
        response = s3_events.handler({"Records": records[start : start + 10]}, Context())
        if response["batchItemFailures"]:
            raise SystemExit(f"unexpected failures: {response}")
    return records


def _per_job(calls: collections.Counter[str], jobs: int) -> dict[str, float]:
    return {api: count / jobs for api, count in sorted(calls.items())}


def _ceilings(per_job: dict[str, float]) -> dict[str, float]:
    submit = per_job.get("batch:SubmitJob", 0)
    gets = per_job.get("s3:GetObject", 0)
    writes = per_job.get("dynamodb:PutItem", 0) + per_job.get("dynamodb:UpdateItem", 0)
    ceilings = {}
    if submit:
        ceilings[f"Batch SubmitJob {SUBMIT_JOB_TPS}/s"] = SUBMIT_JOB_TPS * 60 / submit
    if gets:
        ceilings[f"S3 GET {S3_GET_PER_PREFIX_PER_S:,}/s per prefix"] = S3_GET_PER_PREFIX_PER_S * 60 / gets
    if writes:
        ceilings[f"DynamoDB on-demand {DYNAMODB_WRITES_PER_S:,} writes/s"] = (
            DYNAMODB_WRITES_PER_S * 60 / writes
        )
    return ceilings


def _report(title: str, per_job: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"  {'API':32} calls/job")
    for api, count in per_job.items():
        print(f"  {api:32} {count:9.2f}")
    print(f"  {'total':32} {sum(per_job.values()):9.2f}")
    ceilings = _ceilings(per_job)
    if not ceilings:
        return
    print(f"  {'quota':40} jobs/minute ceiling")
    for quota, rate in ceilings.items():
        print(f"  {quota:40} {rate:14,.0f}")
    ceiling = min(ceilings.values())
    print(f"  => ceiling {ceiling:,.0f} jobs/minute", end="")
    if "batch:SubmitJob" in per_job:
        claim = SEED_CLAIM_PER_MINUTE
        print(f"; the seed claims {claim:,} uploads/minute ({claim / ceiling:.1f}x it)")
    else:
        print(" (no SubmitJob)")


def main() -> None:
    """Run the scenarios and print calls per job and the ceilings they imply."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20, help="jobs per scenario (default 20)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "SHEPARD_TABLE_NAME": TABLE,
            "SHEPARD_JOB_QUEUE": JOB_QUEUE,
            "SHEPARD_JOB_DEFINITION": JOB_DEFINITION,
            "SHEPARD_INPUTS_BUCKET": INPUTS,
            "SHEPARD_ERRORS_BUCKET": ERRORS,
            "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": "14",
            "SHEPARD_PROJECT_NAME": "Bench",
        }
    )
    from shepard_scheduler import aws_clients, endpoint, s3_events
    from shepard_scheduler.testing import forget_clients

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        _post(f"{url}/moto-api/config", {"batch": {"use_docker": False}})
        os.environ["AWS_ENDPOINT_URL"] = url
        aws = _build(url)
        forget_clients()
        counter = CallCounter()
        clients = aws_clients(os.environ)
        for client in (clients.s3, clients.dynamodb, clients.batch):
            client.meta.events.register("before-call", counter)
        jobs = args.jobs
        print(f"AWS calls per job, counted with botocore hooks over {jobs} jobs per scenario (moto server)")

        _run_s3(aws, counter, jobs, 4 * 1024)
        _report(
            "S3-event job, 4 KiB zip (the 64 KiB suffix read holds the whole zip)",
            _per_job(counter.calls, jobs),
        )

        records = _run_s3(aws, counter, jobs, 1024 * 1024)
        _report("S3-event job, 1 MiB zip (inputs.txt before the last 64 KiB)", _per_job(counter.calls, jobs))

        counter.calls.clear()
        s3_events.handler({"Records": records[:10]}, Context())
        _report("S3-event duplicate delivery (already scheduled), 1 MiB zip", _per_job(counter.calls, 10))

        counter.calls.clear()
        for _ in range(jobs):
            response = endpoint.handler({"test": "bench", "TAG": "bench"}, Context())
            if response["statusCode"] != HTTPStatus.OK:
                raise SystemExit(f"unexpected endpoint answer: {response}")
        _report("Endpoint job", _per_job(counter.calls, jobs))
        print(
            "\nQuotas: SubmitJob 50 TPS per account (fixed) caps any one-SubmitJob-per-job design"
            "\nat 3,000 jobs/min; array jobs (2-10,000 children per SubmitJob) are the way past it."
            "\nDynamoDB writes cost 1 WCU per KB of item: rows with large inputs lower that ceiling."
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
