"""The GPUs AWS Batch assigned to the worker's container (NVIDIA_VISIBLE_DEVICES), handed to its payload.

For a job whose definition requests GPUs, the ECS agent lists the GPUs it assigned to the container in
NVIDIA_VISIBLE_DEVICES, by id: GPU UUIDs (`GPU-<uuid>`, as `nvidia-smi -L` names them) or indices. A
container without GPUs gets no such variable. The NVIDIA container toolkit also reads `all`, `none` and
`void` there (and an empty value as `void`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Final

from shepard_worker._errors import WorkerConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from docker.types import DeviceRequest

log = logging.getLogger(__name__)

NVIDIA_VISIBLE_DEVICES: Final = "NVIDIA_VISIBLE_DEVICES"
CUDA_VISIBLE_DEVICES: Final = "CUDA_VISIBLE_DEVICES"
NO_GPU_VALUES: Final = frozenset({"", "none", "void"})
EVERY_GPU: Final = "all"
HIDDEN: Final = "void"
"""NVIDIA_VISIBLE_DEVICES for a payload without GPUs: the NVIDIA runtime then hands it none."""
MAX_GPU_INDEX: Final = 63
"""The largest GPU index accepted; no EC2 instance has more than 16 GPUs."""
NVIDIA_DRIVER: Final = "nvidia"
GPU_CAPABILITIES: Final = (("gpu",),)
_HEX: Final = "[0-9a-fA-F]"
_GPU_UUID: Final = re.compile(rf"GPU-{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\Z")
_GPU_INDEX: Final = re.compile(r"[0-9]{1,3}\Z")


class GpuAssignmentError(WorkerConfigError):
    """NVIDIA_VISIBLE_DEVICES holds something that names no GPU, so which GPUs are the job's is unknown."""


@dataclasses.dataclass(frozen=True)
class GpuAssignment:
    """The GPUs a payload gets: the ids assigned to the worker, every GPU of the engine, or none."""

    device_ids: tuple[str, ...] = ()
    every_gpu: bool = False
    """`all` outside AWS Batch: the worker sees every GPU of its engine, and so does the payload."""

    @property
    def has_gpus(self) -> bool:
        """Whether the payload gets any GPU."""
        return self.every_gpu or bool(self.device_ids)

    def device_requests(self) -> list[DeviceRequest]:
        """Return the engine's device requests: exactly the assigned ids (or every GPU); none without GPUs."""
        from docker.types import DeviceRequest

        capabilities = [list(group) for group in GPU_CAPABILITIES]
        if self.every_gpu:
            return [DeviceRequest(driver=NVIDIA_DRIVER, count=-1, capabilities=capabilities)]
        if self.device_ids:
            ids = list(self.device_ids)
            return [DeviceRequest(driver=NVIDIA_DRIVER, device_ids=ids, capabilities=capabilities)]
        return []

    def environment(self) -> dict[str, str]:
        """Return NVIDIA_VISIBLE_DEVICES as the payload container must hold it (`void` without GPUs).

        Set explicitly, it replaces an image's own NVIDIA_VISIBLE_DEVICES=all (CUDA base images have it),
        which on an engine whose default runtime is NVIDIA's would hand the payload every GPU of the host.
        """
        if self.every_gpu:
            return {NVIDIA_VISIBLE_DEVICES: EVERY_GPU}
        return {NVIDIA_VISIBLE_DEVICES: ",".join(self.device_ids) or HIDDEN}

    def describe(self) -> str:
        """Say which GPUs the payload gets, for the worker's log."""
        if self.every_gpu:
            return "every GPU of the engine"
        if not self.device_ids:
            return "no GPU"
        return f"{len(self.device_ids)} GPU(s): {', '.join(self.device_ids)}"


def assigned_gpus(value: str | None, *, on_batch: bool) -> GpuAssignment:
    """Return the GPUs NVIDIA_VISIBLE_DEVICES `value` names, or raise GpuAssignmentError for anything else.

    Unset, empty, `none` and `void` name no GPU. `all` is never an assignment on AWS Batch (the agent
    names GPUs by id), so there it can only come from an image or an override, and gives no GPU rather
    than every GPU of a shared host; elsewhere (`docker run --gpus all`) it is every GPU of the engine.
    """
    if value is None or value.strip() in NO_GPU_VALUES:
        return GpuAssignment()
    raw = value.strip()
    if raw == EVERY_GPU:
        if on_batch:
            log.warning(
                "%s=all, but AWS Batch names the GPUs it assigns by id: no GPU was assigned to this job, "
                "so its payload gets none (set GPUsPerJob for GPU jobs)",
                NVIDIA_VISIBLE_DEVICES,
            )
            return GpuAssignment()
        return GpuAssignment(every_gpu=True)
    ids: list[str] = []
    for token in (part.strip() for part in raw.split(",")):
        device = _device_id(token, value)
        if device in ids:
            raise GpuAssignmentError(f"{NVIDIA_VISIBLE_DEVICES}={value!r} names GPU {device} twice")
        ids.append(device)
    return GpuAssignment(device_ids=tuple(ids))


def _device_id(token: str, value: str) -> str:
    """Return `token` as a GPU id (a GPU UUID, or an index without leading zeros), else raise."""
    if _GPU_UUID.match(token):
        return token
    if _GPU_INDEX.match(token) and int(token) <= MAX_GPU_INDEX:
        return str(int(token))
    what = "an empty item" if not token else repr(token)
    raise GpuAssignmentError(
        f"{NVIDIA_VISIBLE_DEVICES}={value!r} holds {what}, which names no GPU: expected GPU UUIDs "
        f"(GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or indices 0-{MAX_GPU_INDEX}, comma-separated, "
        f"or one of all, none, void"
    )


def inherited_gpu_variables(worker_env: Mapping[str, str], payload_env: Mapping[str, str]) -> dict[str, str]:
    """Return the GPU variables a payload running in the worker's own container gets from the worker.

    NVIDIA_VISIBLE_DEVICES describes the container's GPUs, so the worker's value wins over an input's.
    CUDA_VISIBLE_DEVICES is the job's when its inputs set it, else the worker's; when neither has one
    and the worker's GPUs are named by UUID (as on AWS Batch), it is those UUIDs: a privileged worker
    container (the flock's) has every GPU device of the host, and CUDA then uses only the assigned ones.
    Indices are not copied: inside a container GPUs are numbered from 0, unlike the host's indices.
    """
    kept: dict[str, str] = {}
    assigned = worker_env.get(NVIDIA_VISIBLE_DEVICES)
    if assigned is not None:
        kept[NVIDIA_VISIBLE_DEVICES] = assigned
    if CUDA_VISIBLE_DEVICES in payload_env:
        return kept
    if CUDA_VISIBLE_DEVICES in worker_env:
        kept[CUDA_VISIBLE_DEVICES] = worker_env[CUDA_VISIBLE_DEVICES]
    elif assigned is not None:
        uuids = [token.strip() for token in assigned.split(",")]
        if all(_GPU_UUID.match(token) for token in uuids):
            kept[CUDA_VISIBLE_DEVICES] = ",".join(uuids)
    return kept
