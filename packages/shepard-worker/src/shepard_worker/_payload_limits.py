"""The job's budget (the worker's own cgroup limits, v2 or v1) and what of it the payload container gets.

The payload container is the engine's, in a cgroup beside the worker's, not under it: given the
worker's own limits it could use the job's memory and pids twice over. So it gets what the worker
leaves: the memory limit less the worker's own use (page cache excluded, the kernel takes it back),
the pids limit less the worker's own tasks, and the same CPU quota (the worker idles meanwhile).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Final

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
_UNLIMITED_V1: Final = 1 << 60
"""cgroup v1 reports "no memory limit" as a huge page-rounded number; anything above this is no limit."""
MIN_PAYLOAD_MEMORY: Final = 16 * 1024 * 1024
"""The least memory a payload is started with (the engine refuses less than 6 MiB)."""
MIN_PAYLOAD_PIDS: Final = 16


@dataclasses.dataclass(frozen=True)
class PayloadLimits:
    """Limits for the payload container; None means unlimited."""

    memory_bytes: int | None = None
    nano_cpus: int | None = None
    pids: int | None = None

    def within(self, other: PayloadLimits) -> PayloadLimits:
        """Return the tighter of each limit of self and `other`."""
        return PayloadLimits(
            memory_bytes=_least(self.memory_bytes, other.memory_bytes),
            nano_cpus=_least(self.nano_cpus, other.nano_cpus),
            pids=_least(self.pids, other.pids),
        )

    def describe(self) -> str:
        """Return the limits in words, for the worker's log."""
        memory = f"{self.memory_bytes // (1024 * 1024)} MiB" if self.memory_bytes is not None else "unlimited"
        cpus = f"{self.nano_cpus / 1e9:g}" if self.nano_cpus is not None else "unlimited"
        pids = str(self.pids) if self.pids is not None else "unlimited"
        return f"memory {memory}, vCPUs {cpus}, pids {pids}"

    def container_options(self) -> dict[str, Any]:
        """Return the docker SDK's create() options for these limits (memory without extra swap)."""
        options: dict[str, Any] = {}
        if self.memory_bytes is not None:
            options["mem_limit"] = self.memory_bytes
            options["memswap_limit"] = self.memory_bytes
        if self.nano_cpus is not None:
            options["nano_cpus"] = self.nano_cpus
        if self.pids is not None:
            options["pids_limit"] = self.pids
        return options


def read_own_limits(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> PayloadLimits:
    """Return the limits of this process's cgroup (v2 unified files first, else v1 controllers)."""
    paths = _cgroup_paths(proc_cgroup)
    if (root / "cgroup.controllers").exists():
        folder = _own_folder(root, paths.get(""))
        return PayloadLimits(
            memory_bytes=_number(_read(folder / "memory.max")),
            nano_cpus=_cpu_v2(_read(folder / "cpu.max")),
            pids=_number(_read(folder / "pids.max")),
        )
    memory = _number(_read(_own_folder(root / "memory", paths.get("memory")) / "memory.limit_in_bytes"))
    cpu_folder = _own_folder(root / "cpu", paths.get("cpu"))
    quota = _number(_read(cpu_folder / "cpu.cfs_quota_us"))
    period = _number(_read(cpu_folder / "cpu.cfs_period_us"))
    return PayloadLimits(
        memory_bytes=memory if memory is not None and memory < _UNLIMITED_V1 else None,
        nano_cpus=quota * 1_000_000_000 // period if quota and period and quota > 0 else None,
        pids=_number(_read(_own_folder(root / "pids", paths.get("pids")) / "pids.max")),
    )


@dataclasses.dataclass(frozen=True)
class OwnUsage:
    """What the worker's cgroup holds now: memory the kernel cannot take back, and tasks."""

    memory_bytes: int = 0
    pids: int = 0


def read_own_usage(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> OwnUsage:
    """Return this process's cgroup's memory use less its page cache, and its task count (0 when unknown)."""
    paths = _cgroup_paths(proc_cgroup)
    if (root / "cgroup.controllers").exists():
        folder = _own_folder(root, paths.get(""))
        memory, stat, pids = folder / "memory.current", folder / "memory.stat", folder / "pids.current"
        cache_key = "file"
    else:
        memory_folder = _own_folder(root / "memory", paths.get("memory"))
        memory, stat = memory_folder / "memory.usage_in_bytes", memory_folder / "memory.stat"
        pids = _own_folder(root / "pids", paths.get("pids")) / "pids.current"
        cache_key = "total_cache"
    used = _number(_read(memory)) or 0
    cache = _stat_value(_read(stat), cache_key)
    return OwnUsage(memory_bytes=max(used - cache, 0), pids=_number(_read(pids)) or 0)


def payload_budget(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> PayloadLimits:
    """Return the payload's share of the job's budget: the worker's limits less what the worker uses."""
    limits = read_own_limits(root, proc_cgroup)
    usage = read_own_usage(root, proc_cgroup)
    memory = limits.memory_bytes
    if memory is not None:
        memory = max(memory - usage.memory_bytes, MIN_PAYLOAD_MEMORY)
    pids = limits.pids
    if pids is not None:
        pids = max(pids - usage.pids, MIN_PAYLOAD_PIDS)
    return PayloadLimits(memory_bytes=memory, nano_cpus=limits.nano_cpus, pids=pids)


def _least(first: int | None, second: int | None) -> int | None:
    """Return the smaller limit, None meaning no limit."""
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)


def _stat_value(text: str | None, key: str) -> int:
    """Return the value of `key` in a memory.stat text (0 when absent)."""
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """Map each controller ("" for v2) to this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:  # noqa: PLR2004 - id:controllers:path
            for controller in parts[1].split(","):
                paths[controller.removeprefix("name=")] = parts[2]
    return paths


def _own_folder(mount: Path, path: str | None) -> Path:
    """Return the process's own cgroup folder under `mount` (the mount itself inside a cgroup namespace)."""
    if path:
        candidate = mount / path.lstrip("/")
        if candidate.is_dir():
            return candidate
    return mount


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _number(text: str | None) -> int | None:
    if text is None or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if value >= 0 else None


def _cpu_v2(text: str | None) -> int | None:
    if text is None:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max":
        return None
    try:
        return int(quota) * 1_000_000_000 // int(period or "100000")
    except (ValueError, ZeroDivisionError):
        return None
