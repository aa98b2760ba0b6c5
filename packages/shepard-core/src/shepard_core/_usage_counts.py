"""Usage counters: the run time of ended jobs, summed per what pricing needs, in the counter items.

A priced key is `usage:<instance type>|<capacity type>|<vCPUs>|<memory MiB>|<TAG>` (run milliseconds)
beside `usage-jobs:<same>` (jobs); an unknown part is empty, and `%` and `|` in a part are written `%25`
and `%7C`, so every key parses back. A job whose instance type is not known is counted under
`unpriced:<TAG>` and `unpriced-jobs:<TAG>`. A TAG is kept to its first TAG_CHARS characters.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

from shepard_core._schema import number_text

if TYPE_CHECKING:
    from shepard_core._usage import JobUsage

TAG_CHARS: Final = 100
"""A TAG is counted under its first 100 characters (shepard_core._counts.COUNTED_TAG_CHARS)."""

RUN_MS: Final = "run_ms"
JOBS: Final = "jobs"
_PREFIXES: Final = {
    "usage:": (True, RUN_MS),
    "usage-jobs:": (True, JOBS),
    "unpriced:": (False, RUN_MS),
    "unpriced-jobs:": (False, JOBS),
}
_SEPARATOR: Final = "|"
_PARTS: Final = 5


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageKey:
    """What pricing needs of a set of runs; instance_type None marks runs that cannot be priced."""

    instance_type: str | None
    capacity_type: str | None = None
    vcpus: float | None = None
    memory_mib: int | None = None
    tag: str = ""
    """The runs' TAG (its first TAG_CHARS characters), empty for jobs without one."""


@dataclasses.dataclass(frozen=True)
class UsageSum:
    """The summed run time (milliseconds) and the number of jobs of one usage key."""

    run_ms: int = 0
    jobs: int = 0

    def plus(self, field: str, number: int) -> UsageSum:
        """Return this sum with `number` added to `field` (RUN_MS or JOBS)."""
        if field == RUN_MS:
            return UsageSum(self.run_ms + number, self.jobs)
        return UsageSum(self.run_ms, self.jobs + number)


def _escape(part: str) -> str:
    """Return a key part with `%` and `|` percent-escaped."""
    return part.replace("%", "%25").replace(_SEPARATOR, "%7C")


def _number(text: str) -> float | None:
    """Return a key's number part, None when empty or unreadable."""
    try:
        return float(text) if text else None
    except ValueError:
        return None


def run_ms(usage: JobUsage) -> int | None:
    """Return the job's run time in milliseconds (None when its start or end is not known)."""
    if usage.started_ms is None or usage.ended_ms is None:
        return None
    return max(0, usage.ended_ms - usage.started_ms)


def usage_attributes(usage: JobUsage, tag: str | None) -> tuple[str, str]:
    """Return the counter attributes (run milliseconds, jobs) a job with `usage` and `tag` adds to."""
    counted_tag = (tag or "")[:TAG_CHARS]
    if not usage.instance_type:
        return f"unpriced:{counted_tag}", f"unpriced-jobs:{counted_tag}"
    parts = [
        usage.instance_type,
        usage.capacity_type or "",
        "" if usage.vcpus is None else number_text(usage.vcpus),
        "" if usage.memory_mib is None else str(usage.memory_mib),
        counted_tag,
    ]
    key = _SEPARATOR.join(_escape(part) for part in parts)
    return f"usage:{key}", f"usage-jobs:{key}"


def usage_deltas(usage: JobUsage, tag: str | None) -> dict[str, int]:
    """Return what an ended job adds to the usage counters: its run milliseconds and one job.

    A job whose run time is not known (it never ran, or the row has no start) adds nothing.
    """
    milliseconds = run_ms(usage)
    if milliseconds is None:
        return {}
    time_attribute, jobs_attribute = usage_attributes(usage, tag)
    return {time_attribute: milliseconds, jobs_attribute: 1}


def parse_usage_attribute(name: str) -> tuple[UsageKey, str] | None:
    """Return the key and field (RUN_MS or JOBS) of a usage counter attribute; None if it is not one."""
    for prefix, (priced, field) in _PREFIXES.items():
        if not name.startswith(prefix):
            continue
        rest = name.removeprefix(prefix)
        if not priced:
            return UsageKey(instance_type=None, tag=rest), field
        parts = [unquote(part) for part in rest.split(_SEPARATOR)]
        if len(parts) != _PARTS or not parts[0]:
            return None
        instance_type, capacity, vcpus, memory, tag = parts
        memory_number = _number(memory)
        key = UsageKey(
            instance_type=instance_type,
            capacity_type=capacity or None,
            vcpus=_number(vcpus),
            memory_mib=None if memory_number is None else int(memory_number),
            tag=tag,
        )
        return key, field
    return None
