"""Count the scheduler's AWS calls and CPU time per job (against moto) and print the rates AWS's quotas allow.

Moto serves ~100-190 calls/s on a small machine, so timing it would measure moto. Instead every call
the handlers' clients make is counted with a botocore `before-call` hook, the quotas are applied to
those counts, and the scheduler's own CPU time is read from this process (the moto server runs in
another process, so its work is not in the figure).

Usage: python bench_scheduler.py [--batches 1,10,100,1000]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from http import HTTPStatus
from typing import Any

from shepard_testing import (
    FAKE_AWS_ENVIRONMENT,
    FlockResources,
    LambdaContext,
    MotoServer,
    ResourceNames,
    drain_queue,
    make_zip,
    provision_resources,
    sqs_event_from_messages,
)

TARGET_PER_MINUTE = 300_000
ORIGINAL_CLAIM_PER_MINUTE = 17_500
SUBMIT_JOB_TPS = 50  # AWS Batch SubmitJob, per account and Region; not adjustable
LAMBDA_FULL_VCPU_MB = 1_769  # Lambda gives one full vCPU at 1,769 MB of memory
DEFAULT_MEMORY_MB = 256  # the template's LambdaMemorySize default
DYNAMODB_WRITE_CALLS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
)

NAMES = ResourceNames.with_prefix("bench")


class CallCounter:
    """A botocore `before-call` hook counting calls by service and operation."""

    def __init__(self) -> None:
        """Start with no calls counted."""
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, event_name: str, **_: object) -> None:
        """Count the call `event_name` (`before-call.<service>.<operation>`) announces."""
        _, service, operation = event_name.split(".", 2)
        self.calls[f"{service}:{operation}"] += 1

    def count(self, service: str, operations: frozenset[str] | None = None) -> int:
        """Return how many calls of `service` (only `operations`, if given) were counted."""
        return sum(
            n
            for name, n in self.calls.items()
            if name.startswith(f"{service}:") and (operations is None or name.split(":")[1] in operations)
        )


def _context() -> LambdaContext:
    context = LambdaContext("bench")
    context.remaining_ms = 900_000
    return context


def _upload_batch(aws: FlockResources, size: int, tag: str) -> list[dict[str, Any]]:
    """Upload `size` job zips and return their S3 event notifications as SQS Lambda event records."""
    for number in range(size):
        inputs = json.dumps({"test": "bench", "TAG": tag, "N": str(number)})
        aws.s3.put_object(
            Bucket=NAMES.inputs_bucket, Key=f"bench/{tag}/{number}.zip", Body=make_zip({"inputs.txt": inputs})
        )
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while len(records) < size and time.monotonic() < deadline:
        messages = drain_queue(aws.sqs, aws.queue_url)
        records += sqs_event_from_messages(messages, queue_arn=aws.queue_arn)["Records"]
    if len(records) != size:
        raise SystemExit(f"expected {size} upload events, got {len(records)}")
    return records


def _measure(counter: CallCounter, call: Any) -> float:  # noqa: ANN401 - any handler call
    """Run `call` with the counter cleared; return the CPU seconds this process spent on it."""
    counter.calls.clear()
    started = time.process_time()
    call()
    return time.process_time() - started


def _row(label: str, jobs: int, counter: CallCounter, cpu: float) -> dict[str, float]:
    submits = counter.count("batch", frozenset({"SubmitJob"}))
    per_submit = jobs / submits if submits else 0.0
    figures = {
        "jobs": jobs,
        "jobs/SubmitJob": per_submit,
        "ceiling/min": per_submit * SUBMIT_JOB_TPS * 60,
        "S3 GET/job": counter.count("s3", frozenset({"GetObject"})) / jobs,
        "DDB write calls/job": counter.count("dynamodb", DYNAMODB_WRITE_CALLS) / jobs,
        "DDB calls/job": counter.count("dynamodb") / jobs,
        "CPU s/1000 jobs": cpu / jobs * 1000,
    }
    print(
        f"  {label:26} {jobs:6,d} {per_submit:9,.0f} {figures['ceiling/min']:13,.0f} "
        f"{figures['S3 GET/job']:8.2f} {figures['DDB write calls/job']:9.3f} {figures['DDB calls/job']:8.3f} "
        f"{figures['CPU s/1000 jobs']:9.2f}"
    )
    return figures


def _header() -> None:
    print(
        f"  {'scenario':26} {'jobs':>6} {'jobs/Submit':>9} {'ceiling/min':>13} "
        f"{'S3 GET/j':>8} {'DDB wr/j':>9} {'DDB/j':>8} {'CPU s/1k':>9}"
    )


def _invocations_needed(cpu_per_1000: float, batch: int) -> None:
    jobs_per_s = TARGET_PER_MINUTE / 60
    vcpu_at_default = DEFAULT_MEMORY_MB / LAMBDA_FULL_VCPU_MB
    busy_full = jobs_per_s * cpu_per_1000 / 1000
    busy_default = busy_full / vcpu_at_default
    submits = jobs_per_s / batch
    print(
        f"\n{TARGET_PER_MINUTE:,} jobs/minute = {jobs_per_s:,.0f} jobs/s."
        f" At {cpu_per_1000:.2f} CPU s per 1,000 jobs (batches of {batch:,}):"
        f"\n  CPU-bound, {busy_full:.1f} concurrent invocations at 1 vCPU ({LAMBDA_FULL_VCPU_MB:,} MB),"
        f" {busy_default:.1f} at the default {DEFAULT_MEMORY_MB} MB ({vcpu_at_default:.2f} vCPU);"
        f"\n  SubmitJob: {submits:.1f} calls/s of the {SUBMIT_JOB_TPS}/s quota"
        f" ({submits / SUBMIT_JOB_TPS:.0%})."
        "\n  (I/O waits, ~10-30 ms per AWS call, overlap across the 32 reading threads; they add wall time,"
        "\n  not CPU: see the README for the full budget.)"
    )


def main() -> None:
    """Run the scenarios and print calls per job, the quota ceilings and the CPU cost."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--batches", default="1,10,100,1000", help="upload batch sizes (default 1,10,100,1000)"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.batches.split(",")]
    os.environ.update(
        {
            **FAKE_AWS_ENVIRONMENT,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "SHEPARD_TABLE_NAME": NAMES.table,
            "SHEPARD_JOB_QUEUE": NAMES.job_queue,
            "SHEPARD_JOB_DEFINITION": NAMES.job_definition,
            "SHEPARD_INPUTS_BUCKET": NAMES.inputs_bucket,
            "SHEPARD_ERRORS_BUCKET": NAMES.errors_bucket,
            "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": "14",
            "SHEPARD_PROJECT_NAME": "Bench",
        }
    )
    from shepard_scheduler import endpoint, s3_events
    from shepard_scheduler._aws import aws_clients
    from shepard_scheduler.testing import forget_clients

    with MotoServer() as server:
        url = server.fresh()
        os.environ["AWS_ENDPOINT_URL"] = url
        aws = provision_resources(url, NAMES)
        forget_clients()
        counter = CallCounter()
        clients = aws_clients(os.environ)
        for client in (clients.s3, clients.dynamodb, clients.batch):
            client.meta.events.register("before-call", counter)
        print(
            "Scheduler cost per job: AWS calls counted with botocore hooks (moto server), CPU time of this"
            "\nprocess (the handler and its threads; moto runs in another process). Ceiling: 50 SubmitJob/s."
        )
        _header()
        results: dict[int, dict[str, float]] = {}
        for size in sizes:
            records = _upload_batch(aws, size, f"b{size}")

            def run(records: list[dict[str, Any]] = records, size: int = size) -> None:
                response = s3_events.handler({"Records": records}, _context())
                if response["batchItemFailures"]:
                    raise SystemExit(f"unexpected failures in the batch of {size}: {response}")

            cpu = _measure(counter, run)
            results[size] = _row(f"S3 batch of {size:,}", size, counter, cpu)
        largest = max(sizes)
        dup = _upload_batch(aws, min(largest, 100), "dup")
        s3_events.handler({"Records": dup}, _context())
        cpu = _measure(counter, lambda: s3_events.handler({"Records": dup}, _context()))
        _row(f"S3 redelivery of {len(dup)} (dup)", len(dup), counter, cpu)
        for size in sorted({1, min(largest, 1000)}):
            payload: Any = (
                {"test": "bench"} if size == 1 else [{"test": "bench", "N": str(n)} for n in range(size)]
            )

            def call(payload: Any = payload, size: int = size) -> None:  # noqa: ANN401 - any JSON
                context = _context()
                context.aws_request_id = f"bench-{size}-{time.monotonic_ns()}"
                response = endpoint.handler(payload, context)
                if response["statusCode"] != HTTPStatus.OK:
                    raise SystemExit(f"unexpected endpoint answer: {response}")

            cpu = _measure(counter, call)
            _row(f"endpoint call of {size:,}", size, counter, cpu)
        best = results[largest]
        _invocations_needed(best["CPU s/1000 jobs"], largest)
        ceiling = best["ceiling/min"]
        print(
            f"\nQuota-bound ceiling with batches of {largest:,}: {ceiling:,.0f} jobs/minute"
            f" ({ceiling / TARGET_PER_MINUTE:.0f}x the {TARGET_PER_MINUTE:,} goal,"
            f" {ceiling / ORIGINAL_CLAIM_PER_MINUTE:.0f}x the original Shepard's"
            f" {ORIGINAL_CLAIM_PER_MINUTE:,});"
            f"\none SubmitJob per upload would stop at {SUBMIT_JOB_TPS * 60:,} jobs/minute."
        )


if __name__ == "__main__":
    main()
