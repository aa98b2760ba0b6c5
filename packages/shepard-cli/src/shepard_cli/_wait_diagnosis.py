"""Why a Batch job waits, in plain words, from DescribeJobs, queue, compute environment and EC2 answers."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shepard_core import BLOCKED_REASONS, blocked_reason_code

from shepard_cli._wait_sizes import (
    InstanceSize,
    JobNeeds,
    instance_type_patterns,
    job_needs,
    sizes_for,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

WAITING_STATES: Final = frozenset({"SUBMITTED", "PENDING", "RUNNABLE"})
"""The Batch states of a job that has not started yet."""
SPOT_WORDS: Final = (
    "INSUFFICIENT_INSTANCE_CAPACITY",
    "InsufficientInstanceCapacity",
    "capacity-not-available",
)
"""Words of a Batch or compute environment reason that say EC2 had no capacity to launch instances."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class WaitDiagnosis:
    """Why one Batch job waits: a one-line summary, every cause found in plain words, and what was read."""

    batch_job_id: str
    status: str | None
    summary: str
    causes: list[str]
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the diagnosis as a JSON-ready dict."""
        return dataclasses.asdict(self)


def _name(arn_or_name: object) -> str:
    return str(arn_or_name or "").rsplit("/", 1)[-1]


def queue_causes(queue: Mapping[str, Any] | None, queue_arn: str) -> list[str]:
    """Return what keeps a job queue (its DescribeJobQueues entry, None if unknown) from starting jobs."""
    if queue is None:
        return [f"AWS Batch does not know the job queue {_name(queue_arn)}: was it deleted?"]
    name = _name(queue.get("jobQueueName") or queue_arn)
    causes = []
    if queue.get("state") == "DISABLED":
        causes.append(f"the job queue {name} is DISABLED: it takes no new jobs; enable it to go on")
    if queue.get("status") == "INVALID":
        causes.append(f"the job queue {name} is INVALID: {queue.get('statusReason') or 'no reason given'}")
    if not queue.get("computeEnvironmentOrder"):
        causes.append(f"the job queue {name} has no compute environment: nothing can run its jobs")
    return causes


def _fit_cause(
    name: str, patterns: Sequence[str], sizes: Sequence[InstanceSize], needs: JobNeeds
) -> str | None:
    """Return the cause when no size of the compute environment's instance types fits the job, else None."""
    if not sizes or any(size.fits(needs) for size in sizes):
        return None
    largest = max(sizes, key=lambda size: (size.vcpus, size.memory_mib))
    roomiest = max(sizes, key=lambda size: (size.memory_mib, size.vcpus))
    biggest = f"{largest.name}: {largest.vcpus} vCPUs, {largest.memory_mib:,} MiB"
    if roomiest != largest:
        biggest += f"; {roomiest.name}: {roomiest.vcpus} vCPUs, {roomiest.memory_mib:,} MiB"
    return (
        f"no instance type in the compute environment {name}'s InstanceTypes ({', '.join(patterns)}) has "
        f"{needs.vcpus:g} vCPUs and {needs.memory_mib:,} MiB of memory (the largest: {biggest}): the job can "
        "never run there; ask for less (DesiredCPU, DesiredRam) or allow bigger InstanceTypes"
    )


def _capacity_causes(name: str, environment: Mapping[str, Any], needs: JobNeeds) -> list[str]:
    """Return the compute environment's vCPU limits that hold the job back."""
    resources = environment.get("computeResources") or {}
    maximum, desired = resources.get("maxvCpus"), resources.get("desiredvCpus")
    if not isinstance(maximum, int):
        return []
    if needs.vcpus is not None and needs.vcpus > maximum:
        return [
            (
                f"the job needs {needs.vcpus:g} vCPUs, more than the compute environment {name}'s maxvCpus "
                f"{maximum} (MaxCPU): it can never run there"
            )
        ]
    if isinstance(desired, int) and desired >= maximum:
        return [
            (
                f"the compute environment {name} is at its maxvCpus ({desired} of {maximum} vCPUs in use): "
                "the job waits for running jobs to end; raise MaxCPU to run more at once"
            )
        ]
    return []


def environment_causes(
    environment: Mapping[str, Any] | None,
    arn: str,
    needs: JobNeeds,
    sizes: Sequence[InstanceSize] | None,
) -> list[str]:
    """Return what keeps a compute environment (its DescribeComputeEnvironments entry) from running the job.

    `sizes` are the sizes of the instance types it may launch (None: unknown, so fit is not judged).
    """
    if environment is None:
        return [f"AWS Batch does not know the compute environment {_name(arn)}: was it deleted?"]
    name = str(environment.get("computeEnvironmentName") or _name(arn))
    causes = []
    if environment.get("state") == "DISABLED":
        causes.append(f"the compute environment {name} is DISABLED: it places no jobs; enable it to go on")
    status = environment.get("status")
    if status == "INVALID":
        reason = environment.get("statusReason") or "no reason given"
        causes.append(f"the compute environment {name} is INVALID: {reason}")
    elif status and status != "VALID":
        causes.append(f"the compute environment {name} is {status}: jobs wait until it is VALID")
    resources = environment.get("computeResources") or {}
    causes += _capacity_causes(name, environment, needs)
    patterns = instance_type_patterns(resources.get("instanceTypes") or [])
    if sizes is not None and patterns and resources.get("type") in {"EC2", "SPOT"}:
        fit = _fit_cause(name, patterns, sizes_for(patterns, sizes), needs)
        if fit is not None:
            causes.append(fit)
    return causes


def _spot_cause(job: Mapping[str, Any], environments: Sequence[Mapping[str, Any]]) -> str | None:
    """Return the Spot-capacity cause when a Spot compute environment or the job says EC2 had no capacity."""
    for environment in environments:
        if (environment.get("computeResources") or {}).get("type") != "SPOT":
            continue
        said = f"{job.get('statusReason') or ''} {environment.get('statusReason') or ''}"
        if any(word in said for word in SPOT_WORDS):
            name = environment.get("computeEnvironmentName")
            return (
                f"Spot capacity is unavailable for the compute environment {name}'s instance types: the job "
                "waits until Spot capacity returns; allow more InstanceTypes, or deploy with "
                "ComputeEnvironmentType Ec2 (on-demand)"
            )
    return None


def _environment_details(
    environment: Mapping[str, Any], sizes: Sequence[InstanceSize] | None
) -> dict[str, Any]:
    resources = environment.get("computeResources") or {}
    patterns = instance_type_patterns(resources.get("instanceTypes") or [])
    return {
        "name": environment.get("computeEnvironmentName"),
        "type": resources.get("type") or environment.get("type"),
        "state": environment.get("state"),
        "status": environment.get("status"),
        "status_reason": environment.get("statusReason"),
        "desired_vcpus": resources.get("desiredvCpus"),
        "max_vcpus": resources.get("maxvCpus"),
        "instance_types": resources.get("instanceTypes") or [],
        "instance_sizes_known": None if sizes is None else len(sizes_for(patterns, sizes)),
    }


def diagnose(  # noqa: PLR0913 - one answer of each AWS call
    job: Mapping[str, Any],
    *,
    queue: Mapping[str, Any] | None,
    environments: Mapping[str, Mapping[str, Any] | None],
    sizes: Sequence[InstanceSize] | None,
    definition: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> WaitDiagnosis:
    """Return why the DescribeJobs entry `job` waits, from its queue, compute environments and sizes.

    `environments` maps each compute environment ARN of the queue to its entry (None: Batch does not know
    it); `sizes` are the EC2 instance sizes read (None: unknown); `notes` say what could not be read.
    """
    job_id, status = str(job.get("jobId")), job.get("status")
    needs = job_needs(job, definition)
    queue_arn = str(job.get("jobQueue") or "")
    causes = queue_causes(queue, queue_arn)
    for arn, environment in environments.items():
        causes += environment_causes(environment, arn, needs, sizes)
    known = [environment for environment in environments.values() if environment is not None]
    if (spot := _spot_cause(job, known)) is not None:
        causes.append(spot)
    code = blocked_reason_code(job.get("statusReason"))
    if code and spot is None and not any("can never run" in cause for cause in causes):
        causes.append(f"AWS Batch says {BLOCKED_REASONS[code]}")
    details = {
        "status_reason": job.get("statusReason"),
        "created_at": job.get("createdAt"),
        "job": needs.to_json(),
        "job_queue": None
        if queue is None
        else {key: queue.get(key) for key in ("jobQueueName", "state", "status", "statusReason")},
        "compute_environments": [_environment_details(environment, sizes) for environment in known],
        "notes": list(notes),
    }
    return WaitDiagnosis(
        batch_job_id=job_id,
        status=status,
        summary=_summary(status, job, causes),
        causes=causes,
        details=details,
    )


def _summary(status: object, job: Mapping[str, Any], causes: Sequence[str]) -> str:
    if status not in WAITING_STATES:
        return f"the job is {status}, not waiting"
    if causes:
        return causes[0]
    if job.get("statusReason"):
        return f"AWS Batch says: {job['statusReason']}"
    if status == "RUNNABLE":
        return (
            "no cause found: the queue and compute environments are healthy, so the job waits for an "
            "instance to launch (a few minutes) or for the jobs ahead of it"
        )
    return (
        f"the job is {status}: AWS Batch has not yet made it RUNNABLE (it checks a job's dependencies first)"
    )
