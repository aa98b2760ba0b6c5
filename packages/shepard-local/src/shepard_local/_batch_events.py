"""Emit a "Batch Job State Change" event when a local job ends, and deliver it as EventBridge would.

AWS Batch sends one such event to EventBridge each time a job changes state; the flock's rule sends the
ended ones (FAILED, SUCCEEDED) of its queue to the reconciler function. The local executor runs the jobs
itself, so it builds the same event from what it knows of a job, this bus matches it against the rule
the emulator holds (the template's, resolved) and invokes the reconciler's inline handler with it, on
its own thread, retrying a failed invocation twice as Lambda does for an asynchronous invocation.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shepard_flock import Handlers, LambdaContext, load_template

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import boto3

    from shepard_local._batch_jobs import BatchJob

SOURCE: Final = "aws.batch"
DETAIL_TYPE: Final = "Batch Job State Change"
ASYNC_RETRIES: Final = 2
"""Lambda retries a failed asynchronous invocation twice before its dead-letter queue."""
RETRY_PAUSE_SECONDS: Final = 0.5
SIGNAL_EXIT_BASE: Final = 128
"""A container killed by signal N exits 128 + N (137 for SIGKILL) as Batch reports it."""

log = logging.getLogger(__name__)


def container_exit_code(returncode: int | None) -> int | None:
    """Return the exit code a container reports for a process's return code (-9 is 137)."""
    if returncode is None:
        return None
    return SIGNAL_EXIT_BASE - returncode if returncode < 0 else returncode


def job_state_change(job: BatchJob, *, job_queue_arn: str, region: str, account: str) -> dict[str, Any]:
    """Return the EventBridge event Batch sends when `job` reaches its current status."""
    job_arn = f"arn:aws:batch:{region}:{account}:job/{job.job_id}"
    attempts: list[dict[str, Any]] = [
        {
            "container": {
                "exitCode": container_exit_code(attempt.exit_code),
                "logStreamName": attempt.log_stream or job.log_stream,
            },
            "startedAt": int(attempt.started_at * 1000),
            "stoppedAt": int((attempt.stopped_at or attempt.started_at) * 1000),
            "statusReason": attempt.status_reason,
        }
        for attempt in job.attempts
    ]
    last = attempts[-1] if attempts else None
    detail: dict[str, Any] = {
        "jobArn": job_arn,
        "jobName": job.job_name,
        "jobId": job.job_id,
        "jobQueue": job_queue_arn,
        "status": job.status,
        "attempts": attempts,
        "statusReason": job.terminate_reason or (last["statusReason"] if last else ""),
        "createdAt": int(job.created_at * 1000),
        "jobDefinition": job.job_definition,
        "container": {
            "image": job.image,
            "environment": [{"name": name, "value": value} for name, value in job.environment.items()],
            **({"exitCode": last["container"]["exitCode"]} if last else {}),
            "logStreamName": job.latest_stream,
        },
    }
    if job.array_index is not None:
        detail["arrayProperties"] = {"index": job.array_index}
    if last:
        detail["startedAt"] = attempts[0]["startedAt"]
        detail["stoppedAt"] = last["stoppedAt"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [job_arn],
        "detail": detail,
    }


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Return whether `event` matches an EventBridge pattern of exact values and nested fields.

    Content filters (prefix, anything-but, ...) are not modelled: a pattern using one matches nothing.
    """
    for key, wanted in pattern.items():
        value = event.get(key)
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not matches(wanted, value):
                return False
        elif isinstance(wanted, list):
            if any(isinstance(choice, dict) for choice in wanted):
                return False
            values = value if isinstance(value, list) else [value]
            if not any(choice in values for choice in wanted):
                return False
        else:
            return False
    return True


class BatchEventBus:
    """Deliver job end events that match the rule to the reconciler, one at a time, in order."""

    def __init__(
        self,
        *,
        pattern: Mapping[str, Any],
        handler: Callable[[dict[str, Any], Any], Any],
        function_name: str,
        region: str,
    ) -> None:
        """Deliver events matching `pattern` to `handler` (the function `function_name`) once started."""
        self._pattern = dict(pattern)
        self._handler = handler
        self._function_name = function_name
        self._region = region
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="batch-events", daemon=True)
        self.delivered = 0
        self.dead_letters = 0

    def start(self) -> None:
        """Start delivering."""
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Deliver what is queued, then stop."""
        self._events.put(None)
        self._thread.join(timeout)

    def publish(self, event: dict[str, Any]) -> None:
        """Queue `event` for the reconciler if the rule matches it."""
        if matches(self._pattern, event):
            self._events.put(event)

    def _run(self) -> None:
        while (event := self._events.get()) is not None:
            self._deliver(event)

    def _deliver(self, event: dict[str, Any]) -> None:
        for attempt in range(ASYNC_RETRIES + 1):
            try:
                self._handler(event, LambdaContext(function_name=self._function_name, region=self._region))
            except Exception:
                log.exception("the reconciler failed on %s (try %d)", event["detail"]["jobId"], attempt + 1)
                time.sleep(RETRY_PAUSE_SECONDS)
                continue
            self.delivered += 1
            return
        self.dead_letters += 1
        log.error("the end of Batch job %s was not reconciled", event["detail"]["jobId"])


def rule_of(template: Path, function_id: str) -> str | None:
    """Return the logical id of the template's EventBridge rule that targets the function `function_id`."""
    for logical_id, resource in load_template(template)["Resources"].items():
        if resource.get("Type") != "AWS::Events::Rule":
            continue
        for target in resource.get("Properties", {}).get("Targets", []):
            arn = target.get("Arn")
            if isinstance(arn, dict) and arn.get("Fn::GetAtt", [None])[0] == function_id:
                return str(logical_id)
    return None


def event_bus_for(  # noqa: PLR0913 - where the rule, the queue and the handler come from
    handlers: Handlers,
    *,
    template: Path,
    session: boto3.Session,
    endpoint: str,
    stack: str,
    job_queue: str,
    region: str,
    account: str,
) -> tuple[BatchEventBus, Callable[[BatchJob], None]] | None:
    """Return the bus delivering job ends to the reconciler by the stack's rule, and the executor's hook.

    None when the template has no reconciler (nothing receives Batch's events).
    """
    if handlers.reconciler is None or handlers.reconciler_id is None:
        return None
    rule_id = rule_of(template, handlers.reconciler_id)
    if rule_id is None:
        return None
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    summaries = cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    physical = {summary["LogicalResourceId"]: summary["PhysicalResourceId"] for summary in summaries}
    events = session.client("events", endpoint_url=endpoint)
    pattern = json.loads(events.describe_rule(Name=physical[rule_id])["EventPattern"])
    queues = session.client("batch", endpoint_url=endpoint).describe_job_queues(jobQueues=[job_queue])
    queue_arn = queues["jobQueues"][0]["jobQueueArn"]
    bus = BatchEventBus(
        pattern=pattern,
        handler=handlers.reconciler,
        function_name=physical[handlers.reconciler_id],
        region=region,
    )

    def on_end(job: BatchJob) -> None:
        bus.publish(job_state_change(job, job_queue_arn=queue_arn, region=region, account=account))

    return bus, on_end
