"""Duplicated, failed, lost and dying scheduler calls never run a payload twice nor lose a job.

The real S3-event scheduler handler is driven against a moto server with faults injected at the
botocore level; then the real worker (`shepard-worker run`, process runtime) runs every Batch job and
array child the emulator holds, in a shuffled order, some of them twice as a Batch retry would.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import json
import os
import random
import shlex
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from shepard_core import (
    Attr,
    StatusGroup,
    is_counter_key,
    is_manifest_key,
    parse_child_job_id,
    parse_counter_items,
)
from shepard_testing import (
    FAKE_AWS_ENVIRONMENT,
    LambdaContext,
    drain_queue,
    job_zip,
    provision_resources,
    sqs_record,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shepard_testing import FlockResources

GROUP_NAMES = (
    "duplicated",
    "throttled",
    "lost",
    "dead_manifest",
    "dead_submit",
    "dead_after",
    "lone",
    "resent",
)
GROUP_SIZES = (5, 5, 5, 5, 5, 4, 1, 4)
"""Uploads per fault scenario (34 in all; the lone one is submitted as a plain job)."""
LEASE_MS = 4_000
"""The remaining time of an invocation that dies: its rows' lease runs out this long after it starts."""
PROJECT = "exactly-once"
QUICK_DEPLOY_FOLDER = "ledger"
SEED = int(os.environ.get("SHEPARD_FAULT_SEED", "0")) or random.SystemRandom().randrange(1, 2**31)
"""The seed of the workers' order (printed; set SHEPARD_FAULT_SEED to replay one)."""
BATCH_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
FENCED = ("another array runs it", "a duplicate submission of the same claim")
"""What a worker logs when another array (another claim) or another Batch job (same claim) holds its job."""


class KilledError(BaseException):
    """The Lambda invocation was killed: no handler code runs after this, so no lease is released."""


@dataclasses.dataclass
class Faults:
    """Fault injection around botocore's API calls, plus a record of every SubmitJob that reached Batch."""

    plan: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    dead: bool = False
    submitted: list[str] = dataclasses.field(default_factory=list)
    lost: list[str] = dataclasses.field(default_factory=list)

    def next(self, operation: str, how: str) -> None:
        """Make the next `operation` call fail in the way `how` names.

        "throttle": refused, never sent; "lose": sent, its response lost; "kill": the invocation dies
        before sending it; "kill-after": the invocation dies once the call went through; "resend": sent
        twice, as an SDK resending a request whose first answer was lost (two jobs, one claim token).
        """
        self.plan.append((operation, how))

    def call(self, real: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        """Make one API call as the plan says."""
        from botocore.exceptions import ClientError, ReadTimeoutError

        if self.dead:
            raise KilledError(operation)
        how = next((h for op, h in self.plan if op == operation), None)
        if how is not None:
            self.plan.remove((operation, how))
        if how == "throttle":
            throttled = {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}
            raise ClientError(throttled, operation)
        if how == "kill":
            self.dead = True
            raise KilledError(operation)
        response = real(client, operation, params)
        if operation == "SubmitJob":
            self.submitted.append(response["jobId"])
        if how == "resend":
            self.lost.append(response["jobId"])
            response = real(client, operation, params)
            self.submitted.append(response["jobId"])
        if how == "lose":
            self.lost.append(response["jobId"])
            raise ReadTimeoutError(endpoint_url=client.meta.endpoint_url)
        if how == "kill-after":
            self.lost.append(response["jobId"])
            self.dead = True
            raise KilledError(operation)
        return response


@dataclasses.dataclass
class Scheduler:
    """The S3-event scheduler fed as an SQS event source mapping would feed it, one batch per call."""

    bodies: dict[str, str]
    faults: Faults
    receives: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    def deliver(self, keys: list[str], *, remaining_ms: int = 60_000) -> set[str] | None:
        """Deliver the notices of these uploads in one batch; return the keys to redeliver (None: died).

        A key listed twice is delivered twice, as two messages with the same S3 record.
        """
        from shepard_scheduler import s3_events

        records = []
        for key, copy in zip(keys, _copy_numbers(keys), strict=True):
            message_id = f"{key}#{copy}"
            self.receives[message_id] += 1
            records.append(
                sqs_record(self.bodies[key], message_id=message_id, receive_count=self.receives[message_id])
            )
        context = LambdaContext(function_name=f"{PROJECT}-scheduler", remaining_ms=remaining_ms)
        try:
            response = s3_events.handler({"Records": records}, context)
        except KilledError:
            return None
        finally:
            self.faults.dead = False
        return {item["itemIdentifier"].rpartition("#")[0] for item in response["batchItemFailures"]}


def _copy_numbers(keys: list[str]) -> list[int]:
    seen: collections.Counter[str] = collections.Counter()
    numbers = []
    for key in keys:
        numbers.append(seen[key])
        seen[key] += 1
    return numbers


@pytest.fixture
def resources(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> FlockResources:
    """A flock's resources on a fresh moto server, the scheduler's settings in the environment."""
    flock = provision_resources(aws_endpoint)
    names = flock.names
    for name, value in {
        "SHEPARD_TABLE_NAME": names.table,
        "SHEPARD_JOB_QUEUE": names.job_queue,
        "SHEPARD_JOB_DEFINITION": names.job_definition,
        "SHEPARD_INPUTS_BUCKET": names.inputs_bucket,
        "SHEPARD_ERRORS_BUCKET": names.errors_bucket,
        "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": "7",
        "SHEPARD_PROJECT_NAME": PROJECT,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "POWERTOOLS_METRICS_NAMESPACE": PROJECT,
    }.items():
        monkeypatch.setenv(name, value)
    # The job definition's environment, as the template sets it.
    flock.batch.register_job_definition(
        jobDefinitionName=names.job_definition,
        type="container",
        containerProperties={
            "image": "shepard/payload:latest",
            "vcpus": 1,
            "memory": 512,
            "environment": [
                {"name": name, "value": value}
                for name, value in {
                    "AWS_DEFAULT_REGION": FAKE_AWS_ENVIRONMENT["AWS_DEFAULT_REGION"],
                    "SHEPARD_TABLE_NAME": names.table,
                    "SHEPARD_INPUTS_BUCKET": names.inputs_bucket,
                    "SHEPARD_OUTPUTS_BUCKET": names.outputs_bucket,
                    "SHEPARD_ERRORS_BUCKET": names.errors_bucket,
                    "SHEPARD_QUICK_DEPLOY_BUCKET": names.quick_deploy_bucket,
                    "SHEPARD_SECRET_STORE": f"{PROJECT}-secrets",
                    "USES_EFS": "False",
                    "USES_LUSTRE": "False",
                    "ULIMIT_FILENO": "4096",
                    "ALLOW_DOCKER_ACCESS": "False",
                }.items()
            ],
        },
    )
    return flock


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """Route every botocore API call of this process through a fault plan."""
    from botocore.client import BaseClient
    from shepard_scheduler.testing import forget_clients

    plan = Faults()
    real = BaseClient._make_api_call  # noqa: SLF001 - botocore's one door to every API call

    def make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        return plan.call(real, client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    forget_clients()
    yield plan
    forget_clients()


@dataclasses.dataclass(frozen=True)
class Runnable:
    """One container Batch would start: a plain job or an array child, with the environment it gets."""

    batch_job_id: str
    environment: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Run:
    """How one worker process ended."""

    batch_job_id: str
    attempt: int
    exit_code: int
    log: str


def every_batch_job(flock: FlockResources) -> list[Runnable]:
    """Return every plain job and array child the emulator holds, with its container's environment.

    The environment is the job definition's, then the submitted container overrides, then what Batch
    sets itself (AWS_BATCH_JOB_ID; AWS_BATCH_JOB_ARRAY_INDEX for a child).
    """
    batch = flock.batch
    listed: set[str] = set()
    for status in BATCH_STATUSES:
        pages = batch.get_paginator("list_jobs").paginate(jobQueue=flock.names.job_queue, jobStatus=status)
        listed |= {summary["jobId"] for page in pages for summary in page["jobSummaryList"]}
    parents = sorted({parse_child_job_id(job_id)[0] for job_id in listed})
    runnables: list[Runnable] = []
    for start in range(0, len(parents), 100):
        for detail in batch.describe_jobs(jobs=parents[start : start + 100])["jobs"]:
            [definition] = batch.describe_job_definitions(jobDefinitions=[detail["jobDefinition"]])[
                "jobDefinitions"
            ]
            environment = {
                pair["name"]: pair["value"]
                for pair in [
                    *definition["containerProperties"].get("environment", []),
                    *detail["container"].get("environment", []),
                ]
                # The emulator appends one AWS_BATCH_JOB_ID per DescribeJobs call; Batch sets its own.
                if not pair["name"].startswith("AWS_BATCH_")
            }
            job_id = detail["jobId"]
            size = detail.get("arrayProperties", {}).get("size")
            if not size:
                runnables.append(Runnable(job_id, {**environment, "AWS_BATCH_JOB_ID": job_id}))
                continue
            children = {
                summary["jobId"]
                for page in batch.get_paginator("list_jobs").paginate(arrayJobId=job_id)
                for summary in page["jobSummaryList"]
            }
            assert children == {f"{job_id}:{index}" for index in range(size)}
            runnables += [
                Runnable(
                    f"{job_id}:{index}",
                    {
                        **environment,
                        "AWS_BATCH_JOB_ID": f"{job_id}:{index}",
                        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
                    },
                )
                for index in range(size)
            ]
    return runnables


def worker_command() -> list[str]:
    """Return the command that runs the installed `shepard-worker`."""
    beside = Path(sys.executable).parent / "shepard-worker"
    return [str(beside), "run"] if beside.is_file() else [sys.executable, "-m", "shepard_worker", "run"]


def run_worker(runnable: Runnable, host: dict[str, str], attempt: int) -> Run:
    """Run the real worker for one container of a Batch job, as attempt `attempt`."""
    environment = {**host, **runnable.environment, "AWS_BATCH_JOB_ATTEMPT": str(attempt)}
    done = subprocess.run(  # noqa: S603 - a fixed argument list
        worker_command(), env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    return Run(runnable.batch_job_id, attempt, done.returncode, done.stderr)


def host_environment(flock: FlockResources, tmp_path: Path) -> dict[str, str]:
    """Return what the compute environment gives every container: credentials, endpoint, runtime, mounts."""
    mounts = {name: tmp_path / "mnt" / name for name in ("root", "efs", "fsx")}
    for mount in mounts.values():
        mount.mkdir(parents=True)
    return {
        "PATH": os.environ["PATH"],
        **FAKE_AWS_ENVIRONMENT,
        "AWS_ENDPOINT_URL": flock.endpoint,
        "SHEPARD_RUNTIME": "process",
        "SHEPARD_ROOT_MOUNT": str(mounts["root"]),
        "SHEPARD_EFS_MOUNT": str(mounts["efs"]),
        "SHEPARD_LUSTRE_MOUNT": str(mounts["fsx"]),
        "SHEPARD_WORKER_HOSTNAME": "sheep-1",
        "SHEPARD_STOP_GRACE_SECONDS": "2",
    }


def table_items(flock: FlockResources) -> dict[str, dict[str, Any]]:
    """Return every item of the job table (rows and manifests), by partition key, in low-level form."""
    items: dict[str, dict[str, Any]] = {}
    for page in flock.dynamodb.get_paginator("scan").paginate(
        TableName=flock.names.table, ConsistentRead=True
    ):
        items |= {item[Attr.UUID]["S"]: item for item in page["Items"]}
    return items


def upload_jobs(flock: FlockResources, ledger: Path) -> dict[str, str]:
    """Upload the quick-deploy run.sh and one job zip per upload; return each upload's S3 notice by key."""
    run_sh = f'printf "%s\\n" "$UUID" >> {shlex.quote(str(ledger))}\n'
    flock.s3.put_object(
        Bucket=flock.names.quick_deploy_bucket, Key=f"{QUICK_DEPLOY_FOLDER}/run.sh", Body=run_sh.encode()
    )
    keys = [f"faults/job-{n:02d}.zip" for n in range(sum(GROUP_SIZES))]
    for n, key in enumerate(keys):
        inputs = {"QUICK_DEPLOY_DIRECTORY": QUICK_DEPLOY_FOLDER, "N": n}
        flock.s3.put_object(Bucket=flock.names.inputs_bucket, Key=key, Body=job_zip(inputs))
    notices: dict[str, str] = {}
    for message in drain_queue(flock.sqs, flock.queue_url):
        [record] = json.loads(message["Body"])["Records"]
        notices.setdefault(urllib.parse.unquote_plus(record["s3"]["object"]["key"]), message["Body"])
    assert sorted(notices) == keys
    return notices


def schedule_under_faults(scheduler: Scheduler, faults: Faults, groups: dict[str, list[str]]) -> None:
    """Deliver each fault group's notices through its fault until the scheduler acknowledges them all."""
    duplicated, lone = groups["duplicated"], groups["lone"]
    # the same records come twice in one batch, and again in a later batch
    assert scheduler.deliver([*duplicated, *duplicated, duplicated[0]]) == set()
    assert scheduler.deliver(duplicated) == set()
    assert len(faults.submitted) == 1
    # SubmitJob is throttled once: the whole batch is redelivered, mixed with duplicates
    faults.next("SubmitJob", "throttle")
    assert scheduler.deliver(groups["throttled"]) == set(groups["throttled"])
    assert scheduler.deliver([*groups["throttled"], *duplicated[:2]]) == set()
    # SubmitJob's response is lost (for an array, and for a lone plain job): the redelivery submits again
    for group in (groups["lost"], lone):
        faults.next("SubmitJob", "lose")
        assert scheduler.deliver(group) == set(group)
        assert scheduler.deliver(group) == set()
    # invocations die writing the manifest, before SubmitJob is sent, and after it went through:
    # a redelivery within the lease finds the rows in flight; one after the lease takes them over
    for group, operation, how in (
        (groups["dead_manifest"], "BatchWriteItem", "kill"),
        (groups["dead_submit"], "SubmitJob", "kill"),
        (groups["dead_after"], "SubmitJob", "kill-after"),
    ):
        faults.next(operation, how)
        died_at = time.monotonic()
        assert scheduler.deliver(group, remaining_ms=LEASE_MS) is None
        assert scheduler.deliver(group) == set(group)
        assert time.monotonic() - died_at < LEASE_MS / 1000, "the in-flight check came too late"
        time.sleep(max(0.0, died_at + LEASE_MS / 1000 + 0.5 - time.monotonic()))
        assert scheduler.deliver([*group, lone[0]]) == set()
    # SubmitJob is carried out twice (an SDK resend after a lost answer): two arrays hold one claim
    faults.next("SubmitJob", "resend")
    assert scheduler.deliver(groups["resent"]) == set()
    assert not faults.plan, f"faults never triggered: {faults.plan}"


def run_every_container(
    flock: FlockResources, runnables: list[Runnable], host: dict[str, str]
) -> tuple[list[Run], set[str], list[bool]]:
    """Run every container once in a shuffled order, then retry the fenced-out ones and a few others.

    Returns every run, the containers that were fenced out, and for each retry whether the table
    stayed unchanged.
    """
    order = random.Random(SEED)  # noqa: S311 - a replayable order, not a secret
    first = order.sample(runnables, len(runnables))
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda runnable: run_worker(runnable, host, 1), first))
    fenced = {run.batch_job_id for run in runs if any(phrase in run.log for phrase in FENCED)}
    # A Batch retry starts after the attempt before it ended: one at a time, after the first round.
    ran = [r for r in runnables if r.batch_job_id not in fenced]
    retried = [r for r in runnables if r.batch_job_id in fenced] + order.sample(ran, 5)
    unchanged = []
    for runnable in order.sample(retried, len(retried)):
        before = table_items(flock)
        runs.append(run_worker(runnable, host, 2))
        unchanged.append(table_items(flock) == before)
    return runs, fenced, unchanged


@pytest.mark.long  # hundreds of uploads under injected faults: about 45 s, run by `nox -s integration_long`
class TestExactlyOnceUnderFaults:
    def test_every_upload_runs_once_whatever_the_scheduler_and_batch_go_through(
        self, resources, faults, tmp_path
    ) -> None:
        """Each upload's payload runs exactly once across every Batch job and child any fault created."""
        # GIVEN 30 uploads whose payload appends its UUID to a ledger, in fault groups
        ledger = tmp_path / "ledger.txt"
        ledger.touch()
        notices = upload_jobs(resources, ledger)
        keys = sorted(notices)
        ends = itertools.accumulate(GROUP_SIZES)
        groups = {
            name: keys[end - size : end]
            for name, size, end in zip(GROUP_NAMES, GROUP_SIZES, ends, strict=True)
        }

        # WHEN the scheduler handler goes through duplicates, throttling, lost responses and deaths
        schedule_under_faults(Scheduler(notices, faults), faults, groups)

        # THEN every Batch job the emulator holds is one that a SubmitJob created: one each for the
        # duplicated, throttled, dead-at-manifest and dead-before-submit groups, two for the others
        runnables = every_batch_job(resources)
        assert {parse_child_job_id(r.batch_job_id)[0] for r in runnables} == set(faults.submitted)
        assert len(faults.submitted) == 12

        # WHEN the worker runs every job and child in a shuffled order, then some again as Batch retries
        runs, fenced, unchanged = run_every_container(
            resources, runnables, host_environment(resources, tmp_path)
        )
        print(  # noqa: T201 - the figures of this run
            f"\nseed {SEED}: {len(faults.submitted)} SubmitJob calls reached Batch, {len(runnables)} "
            f"containers, {len(runs)} worker runs, {len(fenced)} fenced out"
        )

        # THEN each upload's payload ran exactly once and every row is complete
        items = table_items(resources)
        rows = {
            key: item for key, item in items.items() if not is_manifest_key(key) and not is_counter_key(key)
        }
        by_zip = {row[Attr.INPUT_ZIP_NAME]["S"]: job_uuid for job_uuid, row in rows.items()}
        assert sorted(by_zip) == keys
        assert collections.Counter(ledger.read_text().split()) == dict.fromkeys(by_zip.values(), 1)
        assert {row[Attr.JOB_STATUS]["S"] for row in rows.values()} == {"job_complete"}
        # AND the status counters hold each job once, in complete, whatever was retried or duplicated
        counts = parse_counter_items(item for key, item in items.items() if is_counter_key(key))
        assert counts.groups == {
            group: len(keys) if group is StatusGroup.COMPLETE else 0 for group in StatusGroup
        }
        # AND every worker exited 0: the owner ran the job, every other container left it alone
        assert [(r.batch_job_id, r.attempt, r.exit_code) for r in runs if r.exit_code != 0] == []
        owners = {row[Attr.BATCH_JOB_ID]["S"] for row in rows.values()}
        assert owners.isdisjoint(fenced)
        assert owners | fenced == {r.batch_job_id for r in runnables}
        # AND the fenced-out containers are exactly the lost arrays' and plain job's, plus, of each
        # resent job's two children (one claim token), the one that did not claim first; none changed a row
        lost = {r.batch_job_id for r in runnables if parse_child_job_id(r.batch_job_id)[0] in faults.lost}
        resent = {
            r.batch_job_id for r in runnables if parse_child_job_id(r.batch_job_id)[0] in faults.lost[-1:]
        }
        twins = resent | {f"{faults.submitted[-1]}:{index}" for index in range(len(groups["resent"]))}
        assert fenced == (lost - resent) | (twins - owners)
        assert len(twins & owners) == len(twins - owners) == len(groups["resent"])
        assert len(fenced) == sum(len(groups[name]) for name in ("lost", "lone", "dead_after", "resent"))
        assert all(unchanged)
        errors = resources.s3.list_objects_v2(Bucket=resources.names.errors_bucket)
        assert errors.get("Contents", []) == []
