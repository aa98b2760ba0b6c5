"""Plain words for the reasons AWS Batch gives a job blocked in RUNNABLE, and for its time limit's cancel."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

BLOCKED_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY": (
            "EC2 cannot supply the compute environment's instance types right now (for a Spot compute "
            "environment: no Spot capacity)"
        ),
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE": (
            "the job asks for more vCPUs than the compute environment's maxvCpus (MaxCPU) allows, "
            "so it can never be placed"
        ),
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT": (
            "no instance type the compute environment may launch (InstanceTypes) has the vCPUs and memory "
            "the job asks for, so it can never be placed"
        ),
        "MISCONFIGURATION:EC2_INSTANCE_CONFIGURATION_UNSUPPORTED": (
            "the compute environment's instance configuration (image, architecture or launch template) "
            "cannot run on its instance types"
        ),
        "MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS": (
            "AWS Batch's service role lacks a permission it needs to launch instances"
        ),
        "ACTION_REQUIRED": "AWS Batch needs an action on the account before it can place the job",
        "UNDETERMINED": "AWS Batch sees the queue blocked but cannot tell why",
    }
)
"""What each reason code AWS Batch sets on a RUNNABLE job blocking its queue means, in plain words."""

TIME_LIMIT_REASONS: Final = (
    "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
)
"""The blocked reasons a job queue's JobStateTimeLimitActions may act on (Batch matches them exactly)."""

TIME_LIMIT_CANCEL_PREFIX: Final = "Canceled by JobStateTimeLimit action"
"""How Batch's statusReason begins on a job its job queue's state time limit cancelled."""

TIME_LIMIT_PARAMETER: Final = "RunnableTimeLimitMinutes"
"""The template parameter that sets the job queue's state time limit."""


def blocked_reason_code(status_reason: str | None) -> str | None:
    """Return the blocked-reason code `status_reason` carries (`CAPACITY:...`), or None when it has none."""
    if not status_reason:
        return None
    return next((code for code in BLOCKED_REASONS if code in status_reason), None)


def explain_batch_reason(status_reason: str | None) -> str | None:
    """Return Batch's reason for a waiting or time-limit-cancelled job in plain words; None when unknown."""
    code = blocked_reason_code(status_reason)
    meaning = BLOCKED_REASONS[code] if code else None
    if status_reason and status_reason.startswith(TIME_LIMIT_CANCEL_PREFIX):
        why = f": {meaning}" if meaning else ""
        return (
            "AWS Batch cancelled the job because it stayed RUNNABLE longer than the job queue's time limit "
            f"({TIME_LIMIT_PARAMETER}){why}"
        )
    return meaning
