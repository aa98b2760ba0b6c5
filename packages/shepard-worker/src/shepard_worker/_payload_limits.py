"""The worker's own memory, CPU and pids limits (cgroup v2 or v1), handed to the payload container."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Final

CGROUP_ROOT: Final = Path("/sys/fs/cgroup")
_UNLIMITED_V1: Final = 1 << 60
"""cgroup v1 reports "no memory limit" as a huge page-rounded number; anything above this is no limit."""


@dataclasses.dataclass(frozen=True)
class PayloadLimits:
    """Limits for the payload container; None means unlimited."""

    memory_bytes: int | None = None
    nano_cpus: int | None = None
    pids: int | None = None

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
