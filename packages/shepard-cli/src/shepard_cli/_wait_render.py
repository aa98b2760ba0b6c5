"""How status and watch show why a job waits: label and text pairs, plain lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shepard_cli._watch_render import format_duration

if TYPE_CHECKING:
    from shepard_cli._watch_waits import LongWaits


def environment_line(environment: dict[str, Any]) -> str:
    """Return a compute environment's state in one line: state, status, reason, vCPUs in use of the most."""
    parts = [f"{environment.get('name')}: {environment.get('state')}, {environment.get('status')}"]
    if environment.get("status_reason"):
        parts[0] += f" ({environment['status_reason']})"
    if environment.get("max_vcpus") is not None:
        parts.append(f"{environment.get('desired_vcpus')} of at most {environment['max_vcpus']} vCPUs")
    if environment.get("instance_types"):
        parts.append(f"{environment.get('type')} {', '.join(environment['instance_types'])}")
    return ", ".join(parts)


def queue_line(queue: dict[str, Any]) -> str:
    """Return a job queue's state in one line: state, status and reason."""
    reason = f" ({queue['statusReason']})" if queue.get("statusReason") else ""
    return f"{queue.get('jobQueueName')}: {queue.get('state')}, {queue.get('status')}{reason}"


def wait_rows(waiting: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the rows `shepard status` shows of a waiting job: how long, why, causes, queue, environments."""
    details = waiting.get("details") or {}
    rows = []
    if waiting.get("waited_seconds") is not None:
        rows.append(("waiting for", format_duration(waiting["waited_seconds"])))
    rows.append(("why it waits", str(waiting.get("summary"))))
    rows += [("cause", cause) for cause in (waiting.get("causes") or [])[1:]]
    if details.get("status_reason"):
        rows.append(("batch says", str(details["status_reason"])))
    job = details.get("job") or {}
    if job.get("vcpus") is not None and job.get("memory_mib") is not None:
        rows.append(("job needs", f"{job['vcpus']:g} vCPUs, {job['memory_mib']:,} MiB"))
    if details.get("job_queue"):
        rows.append(("job queue", queue_line(details["job_queue"])))
    rows += [
        ("compute environment", environment_line(env)) for env in details.get("compute_environments") or []
    ]
    rows += [("could not read", note) for note in details.get("notes") or []]
    return rows


def long_wait_lines(waits: LongWaits) -> list[str]:
    """Return `shepard watch`'s lines for the jobs waiting for AWS Batch longer than the threshold."""
    if not waits.total:
        return []
    threshold = format_duration(waits.threshold_seconds)
    over = "over " if waits.total_is_floor else ""
    lines = [
        f"Waiting for AWS Batch over {threshold}: {over}{waits.total:,} job(s)"
        + (f", the {len(waits.shown)} longest waiting:" if waits.shown else "")
    ]
    for wait in waits.shown:
        lines.append(
            f"  {wait.uuid}  {format_duration(wait.waited_seconds)}  {wait.batch_status or '-'}  "
            f"{wait.summary or 'not described'}"
        )
        lines += [f"      also: {cause}" for cause in wait.causes[1:]]
    return lines
