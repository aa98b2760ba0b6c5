"""The status counters equal a full scan's rows per group and per TAG after a concurrent, messy workload.

Scheduler, workers and reconciler run against one moto server from many threads at once, as they do in
a flock: jobs created (some requests delivered twice at once, some lists holding an invalid job), claimed
and finished, failed and retried by a later attempt, claimed twice by duplicate workers, and ended by
the reconciler, sometimes while their worker ends them too.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from shepard_core import (
    GROUP_OF,
    TAG,
    Attr,
    JobRow,
    JobStatus,
    StatusGroup,
    is_counter_key,
    job_id_for_api_request,
    parse_counter_items,
    special_value,
)
from shepard_scheduler import ReconcilerConfig, SchedulerConfig
from shepard_scheduler._core import Scheduler, api_job_id
from shepard_scheduler._outcome import JobInFlightError
from shepard_scheduler._reconcile import Reconciler
from shepard_testing import ResourceNames, provision_resources
from shepard_worker._errors import WorkerError
from shepard_worker._table import AttemptRow

NAMES = ResourceNames.with_prefix("counts")
ENVIRONMENT = {
    "SHEPARD_TABLE_NAME": NAMES.table,
    "SHEPARD_JOB_QUEUE": NAMES.job_queue,
    "SHEPARD_JOB_DEFINITION": NAMES.job_definition,
    "SHEPARD_INPUTS_BUCKET": NAMES.inputs_bucket,
    "SHEPARD_ERRORS_BUCKET": NAMES.errors_bucket,
    "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": "14",
    "SHEPARD_PROJECT_NAME": "CountsTest",
}
KILLED_EVENT = (
    Path(__file__).parents[1]
    / "packages"
    / "shepard-scheduler"
    / "tests"
    / "events"
    / "batch_plain_job_killed.json"
)
TAGS = ("night", "day", "dusk", None)
PLAIN_FATES = ("complete", "fail", "retry", "duplicate", "reconciled", "race", "cancelled", "waiting")
ARRAY_FATES = ("complete", "fail", "retry", "duplicate", "waiting")
THREADS = 8


class Workload:
    """The flock's writers, each used from many threads, as separate Lambdas and workers use one table."""

    def __init__(self, endpoint: str) -> None:
        """Provision a flock's resources on `endpoint` and make its writers."""
        self.flock = provision_resources(endpoint, NAMES)
        self.dynamodb = self.flock.dynamodb
        self.scheduler_config = SchedulerConfig.from_env(ENVIRONMENT)
        self.reconciler = Reconciler(
            ReconcilerConfig.from_env(ENVIRONMENT), dynamodb_client=self.dynamodb, s3_client=self.flock.s3
        )
        self.killed = json.loads(KILLED_EVENT.read_text())

    def scheduler(self) -> Scheduler:
        """Return a scheduler on the flock (one per invocation, as each Lambda invocation has)."""
        return Scheduler(
            self.scheduler_config,
            s3_client=self.flock.s3,
            dynamodb_client=self.dynamodb,
            batch_client=self.flock.batch,
        )

    def row(self, job_id: str) -> JobRow:
        """Return a job's row as it stands."""
        item = self.dynamodb.get_item(TableName=NAMES.table, Key={"UUID": {"S": job_id}}, ConsistentRead=True)
        return JobRow.from_item(item["Item"])

    def work(self, job_id: str, attempt: int, final: JobStatus) -> None:
        """Run one worker attempt's writes: claim, the payload's statuses, the final status."""
        row = self.row(job_id)
        table = AttemptRow(
            self.dynamodb,
            NAMES.table,
            job_id,
            attempt,
            claim_token=row.array_claim,
            batch_job_id=row.batch_job_id,
        )
        try:
            table.claim(table.read())
            table.set_status(JobStatus.CALLING_PAYLOAD_CODE)
            if final is JobStatus.JOB_COMPLETE:
                table.set_status(JobStatus.JOB_COMPLETE_PUSHING_TO_S3)
                table.finish(JobStatus.JOB_COMPLETE, 0)
            else:
                table.set_status(JobStatus.JOB_FAILED_PUSHING_LOGS)
                table.finish(JobStatus.JOB_FAILED, 1, reason="exit 1")
        except WorkerError:
            pass  # refused or lost to another writer: what a worker meets in a flock, with nothing written

    def batch_end(self, job_id: str) -> None:
        """Hand the reconciler the Batch end of a plain job killed on its first attempt."""
        row = self.row(job_id)
        event = copy.deepcopy(self.killed)
        detail = event["detail"]
        detail["jobId"] = row.batch_job_id
        detail["jobName"] = f"shepard-{row.array_claim}"
        detail["container"]["environment"] = [
            {"name": "SHEPARD_ARRAY_CLAIM", "value": row.array_claim},
            {"name": "UUID", "value": job_id},
        ]
        self.reconciler.reconcile(event)

    def live(self, job_id: str, fate: str) -> None:
        """Take one job through `fate`, its writers racing where the fate says so."""
        match fate:
            case "complete":
                self.work(job_id, 1, JobStatus.JOB_COMPLETE)
            case "fail":
                self.work(job_id, 1, JobStatus.JOB_FAILED)
            case "retry":
                self.work(job_id, 1, JobStatus.JOB_FAILED)
                self.work(job_id, 2, JobStatus.JOB_COMPLETE)
            case "duplicate":
                _together(
                    lambda: self.work(job_id, 1, JobStatus.JOB_COMPLETE),
                    lambda: self.work(job_id, 1, JobStatus.JOB_COMPLETE),
                )
            case "reconciled":
                self.work(job_id, 1, JobStatus.JOB_FAILED)
                self.batch_end(job_id)
            case "race":
                _together(
                    lambda: self.work(job_id, 1, JobStatus.JOB_COMPLETE), lambda: self.batch_end(job_id)
                )
            case "cancelled":
                self.batch_end(job_id)
            case "waiting":
                pass


def _together(*actions: Any) -> None:
    """Run `actions` at once, on threads of their own."""
    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        for future in [pool.submit(action) for action in actions]:
            future.result()


def scanned(dynamodb: Any) -> tuple[Counter[StatusGroup], dict[str, Counter[StatusGroup]]]:
    """Return the job rows per status group, in all and per TAG, by a full scan."""
    groups: Counter[StatusGroup] = Counter()
    tags: dict[str, Counter[StatusGroup]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=NAMES.table, ConsistentRead=True):
        for item in page["Items"]:
            if Attr.JOB_STATUS not in item:
                continue
            row = JobRow.from_item(item)
            group = GROUP_OF[row.status]
            groups[group] += 1
            tag = special_value(row.inputs, TAG)
            if tag:
                tags.setdefault(tag, Counter())[group] += 1
    return groups, tags


def counted(dynamodb: Any) -> tuple[dict[StatusGroup, int], dict[str, dict[StatusGroup, int]]]:
    """Return the counters' counts per status group, in all and per TAG."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=NAMES.table, ConsistentRead=True)
    counts = parse_counter_items(
        item for page in pages for item in page["Items"] if is_counter_key(item["UUID"]["S"])
    )
    return dict(counts.groups), {tag: dict(groups) for tag, groups in counts.tags.items()}


def _inputs(number: int, rng: random.Random) -> dict[str, str]:
    tag = rng.choice(TAGS)
    return {"N": str(number), **({"TAG": tag} if tag else {})}


@pytest.fixture
def workload(aws_endpoint: str) -> Workload:
    """Return the writers of a fresh flock on the test kit's moto server."""
    return Workload(aws_endpoint)


class TestCountsUnderConcurrency:
    def test_counter_sums_equal_a_full_scan_per_group_and_tag(self, workload: Workload) -> None:
        """Jobs created, claimed, finished, retried and reconciled all at once: the counts equal the scan."""
        rng = random.Random(21)  # noqa: S311 - a repeatable workload, not a secret
        deadline = time.time() + 600
        plain = [(f"plain-{n}", _inputs(n, rng)) for n in range(48)]
        lists = [[_inputs(100 * k + n, rng) for n in range(12)] + [{"UUID": "reserved"}] for k in range(2)]

        # WHEN jobs are created from many threads, every request delivered twice at once
        def create_plain(request: tuple[str, dict[str, str]]) -> None:
            request_id, inputs = request
            payload = json.dumps(inputs).encode()
            # Its twin may hold the row's lease: the twin submits it.
            with contextlib.suppress(JobInFlightError):
                workload.scheduler().schedule_api_request(payload, request_id=request_id, deadline=deadline)

        def create_list(number: int) -> None:
            payloads = [json.dumps(inputs).encode() for inputs in lists[number]]
            workload.scheduler().schedule_api_requests(
                payloads, request_id=f"list-{number}", deadline=deadline
            )

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(create_plain, plain + plain))
            list(pool.map(create_list, [0, 1, 0, 1]))
        plain_ids = [job_id_for_api_request(request_id) for request_id, _ in plain]
        array_ids = [api_job_id(f"list-{k}", n) for k in range(2) for n in range(12)]
        assert all(workload.row(job_id).batch_job_id for job_id in plain_ids + array_ids)

        # AND each job lives through a fate, all of them at once
        fates = [(job_id, rng.choice(PLAIN_FATES)) for job_id in plain_ids]
        fates += [(job_id, rng.choice(ARRAY_FATES)) for job_id in array_ids]
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(lambda pair: workload.live(*pair), fates))

        # THEN the counters say what a full scan of the rows says, per group and per TAG
        groups, tags = scanned(workload.dynamodb)
        counted_groups, counted_tags = counted(workload.dynamodb)
        assert counted_groups == {group: groups[group] for group in StatusGroup}
        assert counted_tags == {
            tag: {group: found[group] for group in StatusGroup} for tag, found in sorted(tags.items())
        }
        assert sum(groups.values()) == 48 + 24 + 2
        assert groups[StatusGroup.REJECTED] == 2
        # AND every fate ended where it must
        ended = {job_id: GROUP_OF[workload.row(job_id).status] for job_id, _ in fates}
        expected = {
            "complete": {StatusGroup.COMPLETE},
            "fail": {StatusGroup.FAILED},
            "retry": {StatusGroup.COMPLETE},
            "duplicate": {StatusGroup.COMPLETE},
            "reconciled": {StatusGroup.FAILED},
            "race": {StatusGroup.COMPLETE, StatusGroup.FAILED},
            "cancelled": {StatusGroup.FAILED},
            "waiting": {StatusGroup.SUBMITTED},
        }
        assert all(ended[job_id] in expected[fate] for job_id, fate in fates), [
            (job_id, fate, ended[job_id]) for job_id, fate in fates if ended[job_id] not in expected[fate]
        ]
