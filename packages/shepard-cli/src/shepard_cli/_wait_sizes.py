"""What a Batch job asks for (vCPUs, memory) and which EC2 instance types a compute environment may launch."""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

OPTIMAL_FAMILIES: Final = ("c4", "m4", "r4", "c5", "m5", "r5")
"""The families AWS Batch's `optimal` (and `default_x86_64`) choose from: C4, M4, R4, or C5, M5, R5 in
Regions without the former; both are counted, so a job is never said not to fit when it might."""
_OPTIMAL_NAMES: Final = frozenset({"optimal", "default_x86_64"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobNeeds:
    """The vCPUs and memory (MiB) a Batch job asks for; None where neither the job nor its definition says."""

    vcpus: float | None
    memory_mib: int | None

    def to_json(self) -> dict[str, Any]:
        """Return the needs as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceSize:
    """One EC2 instance type's name, vCPUs and memory (MiB), as DescribeInstanceTypes gives them."""

    name: str
    vcpus: int
    memory_mib: int

    def fits(self, needs: JobNeeds) -> bool:
        """Return whether a job with `needs` fits on one instance of this type (unknown needs fit)."""
        return (needs.vcpus is None or needs.vcpus <= self.vcpus) and (
            needs.memory_mib is None or needs.memory_mib <= self.memory_mib
        )


def _number(value: object) -> float | None:
    try:
        return float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _from_container(container: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Return the vCPUs and memory a container's resourceRequirements (else vcpus/memory) ask for."""
    vcpus = memory = None
    for requirement in container.get("resourceRequirements") or []:
        if requirement.get("type") == "VCPU":
            vcpus = _number(requirement.get("value"))
        elif requirement.get("type") == "MEMORY":
            memory = _number(requirement.get("value"))
    return (
        vcpus if vcpus is not None else _number(container.get("vcpus")),
        memory if memory is not None else _number(container.get("memory")),
    )


def job_needs(job: Mapping[str, Any], definition: Mapping[str, Any] | None = None) -> JobNeeds:
    """Return what a DescribeJobs entry asks for, completed from its DescribeJobDefinitions entry."""
    vcpus, memory = _from_container(job.get("container") or {})
    if (vcpus is None or memory is None) and definition:
        defined_vcpus, defined_memory = _from_container(definition.get("containerProperties") or {})
        vcpus = vcpus if vcpus is not None else defined_vcpus
        memory = memory if memory is not None else defined_memory
    return JobNeeds(vcpus=vcpus, memory_mib=None if memory is None else int(memory))


def instance_type_patterns(instance_types: Iterable[str]) -> list[str]:
    """Return the DescribeInstanceTypes `instance-type` filter values a compute environment's types stand for.

    A size (`m5.large`) stands for itself, a family (`m5`) for each of its sizes (`m5.*`), `optimal`
    for the families Batch picks from.
    """
    patterns: list[str] = []
    for entry in instance_types:
        name = entry.strip().lower()
        if name in _OPTIMAL_NAMES:
            found = [f"{family}.*" for family in OPTIMAL_FAMILIES]
        elif "." in name or "*" in name:
            found = [name]
        elif name:
            found = [f"{name}.*"]
        else:
            found = []
        patterns += [pattern for pattern in found if pattern not in patterns]
    return patterns


def instance_sizes(described: Iterable[Mapping[str, Any]]) -> list[InstanceSize]:
    """Return the sizes of DescribeInstanceTypes' `InstanceTypes` entries (entries without sizes left out)."""
    sizes = []
    for entry in described:
        vcpus = (entry.get("VCpuInfo") or {}).get("DefaultVCpus")
        memory = (entry.get("MemoryInfo") or {}).get("SizeInMiB")
        if entry.get("InstanceType") and isinstance(vcpus, int) and isinstance(memory, int):
            sizes.append(InstanceSize(name=str(entry["InstanceType"]), vcpus=vcpus, memory_mib=memory))
    return sizes


def sizes_for(patterns: Iterable[str], sizes: Iterable[InstanceSize]) -> list[InstanceSize]:
    """Return the sizes whose type one of `patterns` names, largest first."""
    wanted = list(patterns)
    chosen = [size for size in sizes if any(fnmatch.fnmatchcase(size.name, p) for p in wanted)]
    return sorted(chosen, key=lambda size: (size.vcpus, size.memory_mib, size.name), reverse=True)
