"""What a finished job used, as its row records it for pricing: instance, capacity type, size and run time."""

from __future__ import annotations

import dataclasses
from typing import Final

from shepard_core._schema import Attr, number_text

SPOT: Final = "spot"
ON_DEMAND: Final = "on-demand"
CAPACITY_TYPES: Final = frozenset({SPOT, ON_DEMAND})
"""The capacity types a row records (EC2 instance metadata's `instance-life-cycle` words)."""
LOCAL_INSTANCE_TYPE: Final = "local.flock"
"""The instance type a local flock's workers record: `shepard cost` prices it with fixed local figures."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobUsage:
    """The resources one job held and for how long; any part may be unknown (None)."""

    instance_type: str | None = None
    capacity_type: str | None = None
    """`spot` or `on-demand`."""
    availability_zone: str | None = None
    vcpus: float | None = None
    """The job's own vCPUs (its Batch resource requirements), not the instance's."""
    memory_mib: int | None = None
    """The job's own memory in MiB (its Batch resource requirements)."""
    started_ms: int | None = None
    """When the job started running, epoch milliseconds."""
    ended_ms: int | None = None
    """When the job stopped running, epoch milliseconds."""

    def update_parts(self) -> tuple[list[str], dict[str, str], dict[str, dict[str, str]]]:
        """Return the SET clauses, attribute names and values that record the known parts on a row.

        The placeholders are `#u_*` and `:u_*`, so the clauses join any update expression of the row.
        """
        known: dict[str, tuple[str, dict[str, str]]] = {}
        if self.instance_type:
            known[Attr.INSTANCE_TYPE] = ("itype", {"S": self.instance_type})
        if self.capacity_type:
            known[Attr.CAPACITY_TYPE] = ("capacity", {"S": self.capacity_type})
        if self.availability_zone:
            known[Attr.AVAILABILITY_ZONE] = ("zone", {"S": self.availability_zone})
        if self.vcpus is not None:
            known[Attr.VCPUS] = ("vcpus", {"N": number_text(self.vcpus)})
        if self.memory_mib is not None:
            known[Attr.MEMORY_MIB] = ("memory", {"N": str(self.memory_mib)})
        if self.started_ms is not None:
            known[Attr.RUN_STARTED] = ("started", {"N": str(self.started_ms)})
        if self.ended_ms is not None:
            known[Attr.RUN_ENDED] = ("ended", {"N": str(self.ended_ms)})
        clauses = [f"#u_{short} = :u_{short}" for short, _ in known.values()]
        names = {f"#u_{short}": name for name, (short, _) in known.items()}
        values = {f":u_{short}": value for short, value in known.values()}
        return clauses, names, values
