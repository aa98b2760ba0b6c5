"""Read an EventBridge "Batch Job State Change" event: which Shepard job ended, how, and on which attempt."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shepard_core import JobUsage, PayloadVariable, Setting, parse_child_job_id

if TYPE_CHECKING:
    from collections.abc import Mapping

SOURCE: Final = "aws.batch"
DETAIL_TYPE: Final = "Batch Job State Change"
ENDED: Final = frozenset({"FAILED", "SUCCEEDED"})
"""The Batch statuses after which a job runs no more attempts."""

_JOB_NAME: Final = re.compile(r"shepard-(?P<claim>[0-9a-f]{32})\Z")
"""The name the scheduler gives every array (or plain job) it submits: `shepard-<claim token>`."""


class NotAnEndError(ValueError):
    """The event is not the end of a Shepard job (another source, a status that is not final, ...)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class BatchEnd:
    """A Batch job that ended: its ids, the claim it ran for, and what Batch says of its last attempt."""

    batch_job_id: str
    """The job's Batch id: `<array id>:<index>` for an array child."""
    status: str
    """FAILED or SUCCEEDED."""
    claim: str
    """The claim token of the array (or plain job) the scheduler submitted."""
    job_uuid: str | None
    """A plain job's UUID (its override); None for an array child, whose UUID is in the manifest."""
    array_index: int | None
    attempts: int
    """How many attempts Batch made; 0 when the job ended before one started (cancelled)."""
    status_reason: str | None
    exit_code: int | None
    """The last attempt's container exit code, when Batch gives one."""
    container_reason: str | None
    """The last attempt's container reason (e.g. `OutOfMemoryError: Container killed ...`)."""
    started_at: datetime | None
    """When the last attempt started, when Batch gives it."""
    ended_at: datetime
    """When Batch stopped the job (the last attempt's stop, else the event's time)."""
    detail: dict[str, Any] = dataclasses.field(repr=False)
    usage: JobUsage = dataclasses.field(default_factory=JobUsage)
    """The job's vCPUs and memory (its resource requirements) and its last attempt's run times."""

    @property
    def marker(self) -> str:
        """Return `<Batch job id>#<attempts>`: what this end event records on the row it finishes."""
        return f"{self.batch_job_id}#{self.attempts}"


def _moment(milliseconds: object) -> datetime | None:
    if isinstance(milliseconds, int | float) and not isinstance(milliseconds, bool) and milliseconds > 0:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    return None


def _event_time(event: Mapping[str, Any]) -> datetime:
    raw = event.get("time")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw).astimezone(UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def _environment(detail: Mapping[str, Any]) -> dict[str, str]:
    container = detail.get("container")
    variables = container.get("environment", []) if isinstance(container, dict) else []
    found: dict[str, str] = {}
    for variable in variables if isinstance(variables, list) else []:
        if isinstance(variable, dict) and isinstance(variable.get("name"), str):
            found.setdefault(variable["name"], str(variable.get("value", "")))
    return found


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _exit_code(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _index(detail: Mapping[str, Any], job_id: str) -> int | None:
    """Return an array child's index: Batch's `arrayProperties.index`, else the one in its id."""
    properties = detail.get("arrayProperties")
    if isinstance(properties, dict) and isinstance(properties.get("index"), int):
        return int(properties["index"])
    return parse_child_job_id(job_id)[1]


def _positive(raw: object) -> float | None:
    """Return `raw` as a positive finite number, else None."""
    try:
        value = float(str(raw))
    except ValueError:
        return None
    return value if 0 < value < float("inf") else None


def _job_size(container: Mapping[str, Any]) -> tuple[float | None, int | None]:
    """Return the job's vCPUs and MiB: its resourceRequirements, else the legacy vcpus and memory."""
    sizes = {
        str(item.get("type")): _positive(item.get("value"))
        for item in container.get("resourceRequirements") or []
        if isinstance(item, dict)
    }
    vcpus = sizes.get("VCPU") or _positive(container.get("vcpus"))
    memory = sizes.get("MEMORY") or _positive(container.get("memory"))
    return vcpus, None if memory is None else int(memory)


def _milliseconds(raw: object) -> int | None:
    """Return a Batch time (epoch milliseconds) as an int, None when absent or not a time."""
    moment = _moment(raw)
    return None if moment is None else int(moment.timestamp() * 1000)


def read_batch_end(event: Mapping[str, Any]) -> BatchEnd:
    """Return the end of a Shepard job an EventBridge event reports, or raise NotAnEndError saying why not."""
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise NotAnEndError(f"not a Batch job state change (source {event.get('source')!r})")
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("jobId"), str):
        raise NotAnEndError("the event has no job detail")
    job_id = str(detail["jobId"])
    status = str(detail.get("status"))
    if status not in ENDED:
        raise NotAnEndError(f"Batch job {job_id} is {status}, not ended")
    index = _index(detail, job_id)
    properties = detail.get("arrayProperties")
    if index is None and isinstance(properties, dict) and "size" in properties:
        raise NotAnEndError(f"Batch job {job_id} is an array; each child's own event ends its job")
    environment = _environment(detail)
    named = _JOB_NAME.match(str(detail.get("jobName", "")))
    claim = environment.get(Setting.ARRAY_CLAIM.value) or (named["claim"] if named else None)
    if not claim:
        raise NotAnEndError(f"Batch job {job_id} carries no Shepard claim token: not a Shepard job")
    job_uuid = None if index is not None else environment.get(PayloadVariable.UUID.value)
    if index is None and not job_uuid:
        raise NotAnEndError(f"Batch job {job_id} names neither an array index nor a job UUID")
    attempts = [a for a in detail.get("attempts") or [] if isinstance(a, dict)]
    last: dict[str, Any] = attempts[-1] if attempts else {}
    last_container = _mapping(last.get("container"))
    job_container = _mapping(detail.get("container"))
    vcpus, memory = _job_size(job_container)
    exit_code = _exit_code(last_container.get("exitCode"))
    if exit_code is None and attempts:
        exit_code = _exit_code(job_container.get("exitCode"))
    return BatchEnd(
        batch_job_id=job_id,
        status=status,
        claim=claim,
        job_uuid=job_uuid,
        array_index=index,
        attempts=len(attempts),
        status_reason=_text(detail.get("statusReason")) or _text(last.get("statusReason")),
        exit_code=exit_code,
        container_reason=_text(last_container.get("reason")) or _text(job_container.get("reason")),
        started_at=_moment(last.get("startedAt")),
        ended_at=_moment(last.get("stoppedAt")) or _moment(detail.get("stoppedAt")) or _event_time(event),
        detail=dict(detail),
        usage=JobUsage(
            vcpus=vcpus,
            memory_mib=memory,
            started_ms=_milliseconds(last.get("startedAt")),
            ended_ms=_milliseconds(last.get("stoppedAt")) if last.get("startedAt") else None,
        ),
    )
