"""Read from AWS what a waiting job's diagnosis needs, in batched calls, and diagnose it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shepard_cli._wait_diagnosis import WaitDiagnosis, diagnose
from shepard_cli._wait_sizes import InstanceSize, instance_sizes, instance_type_patterns

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from mypy_boto3_batch import BatchClient
    from mypy_boto3_ec2 import EC2Client

DESCRIBE_JOBS_CHUNK: Final = 100
"""The most job ids one DescribeJobs call takes."""
DESCRIBE_CHUNK: Final = 100
"""The most names one DescribeJobQueues, DescribeComputeEnvironments or DescribeJobDefinitions call takes."""
SIZE_READS_AT_ONCE: Final = 8
"""How many instance type patterns are described at once (a boto3 client is safe to share between threads)."""


class ClientSource(Protocol):
    """Anything that makes boto3 clients by service name: a boto3 Session, or the CLI's Aws."""

    def client(self, service_name: str) -> Any:  # noqa: ANN401 - a boto3 client of any service
        """Return a client of `service_name`."""


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class WaitReader:
    """Diagnose waiting Batch jobs; sizes are cached for good, queues and environments per refresh."""

    def __init__(self, batch: BatchClient, ec2: EC2Client) -> None:
        """Read through `batch` and `ec2`; nothing is read until asked."""
        self._batch = batch
        self._ec2 = ec2
        self._sizes: dict[str, list[InstanceSize]] = {}
        self._queues: dict[str, dict[str, Any] | None] = {}
        self._environments: dict[str, dict[str, Any] | None] = {}
        self._definitions: dict[str, dict[str, Any] | None] = {}
        self.notes: list[str] = []

    def refresh(self) -> None:
        """Forget the queues, compute environments and notes read, so the next diagnosis reads them again."""
        self._queues.clear()
        self._environments.clear()
        self.notes = []

    def _call(self, what: str, call: Callable[..., Any], **request: Any) -> Any:  # noqa: ANN401 - an AWS answer
        """Return `call(**request)`, or None after noting why AWS refused (a diagnosis goes on without it)."""
        try:
            return call(**request)
        except (ClientError, BotoCoreError) as exc:
            note = f"{what} failed: {exc}"
            if note not in self.notes:
                self.notes.append(note)
            return None

    def describe_jobs(self, batch_job_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Return DescribeJobs' entries for the ids, 100 per call; ids Batch does not know are left out."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(dict.fromkeys(batch_job_ids)), DESCRIBE_JOBS_CHUNK):
            answer = self._call("batch:DescribeJobs", self._batch.describe_jobs, jobs=chunk)
            found += [dict(job) for job in (answer or {}).get("jobs", [])]
        return found

    def diagnose(self, batch_job_ids: Sequence[str]) -> dict[str, WaitDiagnosis]:
        """Return the diagnosis of each Batch job id; one Batch no longer knows says so."""
        described = {str(job["jobId"]): job for job in self.describe_jobs(batch_job_ids)}
        found = self.diagnose_described(list(described.values()))
        for job_id in batch_job_ids:
            if job_id not in found:
                found[job_id] = WaitDiagnosis(
                    batch_job_id=job_id,
                    status=None,
                    summary=f"AWS Batch does not know job {job_id}"
                    + (f" (or would not say: {'; '.join(self.notes)})" if self.notes else ""),
                    causes=[],
                    details={"notes": list(self.notes)},
                )
        return found

    def diagnose_described(self, jobs: Sequence[dict[str, Any]]) -> dict[str, WaitDiagnosis]:
        """Return the diagnosis of each DescribeJobs entry, reading their queues, environments and sizes."""
        self._read_queues({str(job.get("jobQueue")) for job in jobs if job.get("jobQueue")})
        arns = {
            str(order.get("computeEnvironment"))
            for queue in self._queues.values()
            if queue is not None
            for order in queue.get("computeEnvironmentOrder") or []
        }
        self._read_environments(arns)
        sizes = self._read_sizes()
        self._read_definitions(
            [job for job in jobs if not (job.get("container") or {}).get("resourceRequirements")]
        )
        found = {}
        for job in jobs:
            queue = self._queues.get(str(job.get("jobQueue")))
            orders = sorted(
                (queue or {}).get("computeEnvironmentOrder") or [], key=lambda o: o.get("order", 0)
            )
            environments = {
                str(order["computeEnvironment"]): self._environments.get(str(order["computeEnvironment"]))
                for order in orders
            }
            found[str(job["jobId"])] = diagnose(
                job,
                queue=queue,
                environments=environments,
                sizes=sizes,
                definition=self._definitions.get(str(job.get("jobDefinition"))),
                notes=self.notes,
            )
        return found

    def _read_queues(self, arns: set[str]) -> None:
        wanted = sorted(arn for arn in arns if arn not in self._queues)
        for chunk in _chunks(wanted, DESCRIBE_CHUNK):
            answer = self._call(
                "batch:DescribeJobQueues",
                self._batch.describe_job_queues,
                jobQueues=chunk,
            )
            if answer is None:
                continue
            for arn in chunk:
                self._queues[arn] = None
            for queue in answer.get("jobQueues", []):
                for key in (queue.get("jobQueueArn"), queue.get("jobQueueName")):
                    if key in chunk:
                        self._queues[str(key)] = dict(queue)

    def _read_environments(self, arns: set[str]) -> None:
        wanted = sorted(arn for arn in arns if arn not in self._environments)
        for chunk in _chunks(wanted, DESCRIBE_CHUNK):
            answer = self._call(
                "batch:DescribeComputeEnvironments",
                self._batch.describe_compute_environments,
                computeEnvironments=chunk,
            )
            if answer is None:
                continue
            for arn in chunk:
                self._environments[arn] = None
            for environment in answer.get("computeEnvironments", []):
                for key in (
                    environment.get("computeEnvironmentArn"),
                    environment.get("computeEnvironmentName"),
                ):
                    if key in chunk:
                        self._environments[str(key)] = dict(environment)

    def _read_definitions(self, jobs: Sequence[dict[str, Any]]) -> None:
        wanted = sorted(
            {str(job["jobDefinition"]) for job in jobs if job.get("jobDefinition")} - set(self._definitions)
        )
        for chunk in _chunks(wanted, DESCRIBE_CHUNK):
            answer = self._call(
                "batch:DescribeJobDefinitions",
                self._batch.describe_job_definitions,
                jobDefinitions=chunk,
            )
            for definition in (answer or {}).get("jobDefinitions", []):
                self._definitions[str(definition.get("jobDefinitionArn"))] = dict(definition)

    def _read_sizes(self) -> list[InstanceSize] | None:
        """Return the sizes of the types the known compute environments may launch (None: unknown)."""
        patterns = {
            pattern
            for environment in self._environments.values()
            if environment is not None
            for pattern in instance_type_patterns(
                (environment.get("computeResources") or {}).get("instanceTypes") or []
            )
        }
        unread = sorted(patterns - set(self._sizes))
        if unread:
            # One DescribeInstanceTypes per pattern, all at once: an "optimal" environment names several
            # families, and a refresh should not wait for them one after another.
            with ThreadPoolExecutor(max_workers=min(SIZE_READS_AT_ONCE, len(unread))) as pool:
                read = list(pool.map(self._describe_instance_types, unread))
            known = [sizes for sizes in read if sizes is not None]
            if len(known) < len(read):
                return None
            self._sizes.update(zip(unread, known, strict=True))
        return [size for pattern in sorted(patterns) for size in self._sizes[pattern]]

    def _describe_instance_types(self, pattern: str) -> list[InstanceSize] | None:
        """Return the sizes of the instance types `pattern` names (an exact name, or `family.*`)."""
        sizes: list[InstanceSize] = []
        request: dict[str, Any] = {"Filters": [{"Name": "instance-type", "Values": [pattern]}]}
        while True:
            answer = self._call(
                "ec2:DescribeInstanceTypes",
                self._ec2.describe_instance_types,
                **request,
            )
            if answer is None:
                return None
            sizes += instance_sizes(answer.get("InstanceTypes", []))
            if not answer.get("NextToken"):
                return sizes
            request = {**request, "NextToken": answer["NextToken"]}


def diagnose_wait(clients: ClientSource, batch_job_id: str) -> WaitDiagnosis:
    """Return why the Batch job `batch_job_id` waits, reading AWS through `clients` (a boto3 Session, say)."""
    reader = WaitReader(clients.client("batch"), clients.client("ec2"))
    return reader.diagnose([batch_job_id])[batch_job_id]
