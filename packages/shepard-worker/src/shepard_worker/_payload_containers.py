"""Label payload containers with their job, attempt and worker, and remove the ones a dead worker left."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

JOB_LABEL: Final = "io.shepard.job"
ATTEMPT_LABEL: Final = "io.shepard.attempt"
WORKER_LABEL: Final = "io.shepard.worker"
_CONTAINER_ID: Final = re.compile(r"/(?:docker|containers|docker-|cri-containerd-)[/-]?([0-9a-f]{64})\b")
REMOVE_TIMEOUT_SECONDS: Final = 10
DEFAULT_ENGINE_SOCKET: Final = "/var/run/docker.sock"
SOCKET_HELP: Final = (
    "set SHEPARD_DOCKER_SOCKET to the engine's socket as a path on the engine's machine "
    "(on AWS Batch, /var/run/docker.sock, which the job definition mounts)"
)


def own_container_id(
    mountinfo: Path = Path("/proc/self/mountinfo"), cgroup: Path = Path("/proc/self/cgroup")
) -> str | None:
    """Return the id of the container this process runs in (from its mounts or cgroup), or None."""
    for source in (mountinfo, cgroup):
        try:
            text = source.read_text(errors="replace")
        except OSError:
            continue
        match = _CONTAINER_ID.search(text)
        if match:
            return match.group(1)
    return None


def engine_knows(client: docker.DockerClient, container_id: str | None) -> bool:
    """Return whether the engine runs `container_id` (the worker shares the engine with its payloads)."""
    import docker

    if container_id is None:
        return False
    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError:
        log.warning("could not look up the worker's container %s", container_id, exc_info=True)
        return False
    return True


def engine_socket_source(
    client: docker.DockerClient, explicit: str | None, docker_host: str | None, worker_id: str | None
) -> str:
    """Return the engine's socket as a path on the engine's machine, to bind into a payload.

    `explicit` (SHEPARD_DOCKER_SOCKET) wins. Otherwise the socket is the one the worker reaches
    (DOCKER_HOST's unix path, default /var/run/docker.sock): its own path when the worker is not in
    one of the engine's containers (the engine shares its files), else the source of the worker
    container's bind mount holding it. Raises PayloadStartError saying how to set it when neither.
    """
    import docker

    from shepard_worker._errors import PayloadStartError

    if explicit:
        return explicit
    if docker_host and not docker_host.startswith("unix://"):
        raise PayloadStartError(
            f"ALLOW_DOCKER_ACCESS needs the engine's unix socket, and DOCKER_HOST is {docker_host}: "
            + SOCKET_HELP
        )
    here = "/" + docker_host.removeprefix("unix://").lstrip("/") if docker_host else DEFAULT_ENGINE_SOCKET
    if worker_id is None:
        return here
    try:
        mounts = client.containers.get(worker_id).attrs.get("Mounts") or []
    except docker.errors.APIError as exc:
        raise PayloadStartError(f"could not inspect the worker's container for its socket: {exc}") from None
    found = [
        (str(mount["Destination"]), str(mount["Source"]))
        for mount in mounts
        if mount.get("Type") == "bind" and _holds(str(mount.get("Destination")), here)
    ]
    if not found:
        raise PayloadStartError(
            f"ALLOW_DOCKER_ACCESS: the worker reaches the engine at {here}, which is not a bind mount of its "
            f"container {worker_id[:12]}, so its path on the engine's machine is unknown: " + SOCKET_HELP
        )
    destination, source = max(found, key=lambda pair: len(pair[0]))
    return source.rstrip("/") + here[len(destination.rstrip("/")) :] if here != destination else source


def _holds(folder: str, path: str) -> bool:
    """Return whether `path` is `folder` or lies under it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def payload_labels(job_uuid: str, attempt: int, worker_id: str | None) -> dict[str, str]:
    """Return the labels of a payload container: its job, its attempt and (when known) its worker."""
    labels = {JOB_LABEL: job_uuid, ATTEMPT_LABEL: str(attempt)}
    if worker_id is not None:
        labels[WORKER_LABEL] = worker_id
    return labels


def remove_leftovers(client: docker.DockerClient, job_uuid: str) -> list[str]:
    """Remove payload containers left for `job_uuid` or whose worker container is gone; return their ids.

    The caller holds the job's claim, so any earlier container of the job belongs to an attempt that
    lost it (or died); a payload whose worker is no longer on the engine has nobody left to end it.
    """
    import docker

    removed: list[str] = []
    try:
        candidates = client.containers.list(all=True, filters={"label": JOB_LABEL})
    except docker.errors.APIError:
        log.warning("could not list payload containers left on the engine", exc_info=True)
        return removed
    for container in candidates:
        labels = container.labels or {}
        worker = labels.get(WORKER_LABEL)
        if labels.get(JOB_LABEL) == job_uuid:
            why = f"left by attempt {labels.get(ATTEMPT_LABEL, '?')} of this job"
        elif worker is not None and not _alive(client, worker):
            why = f"its worker {worker[:12]} is gone (job {labels.get(JOB_LABEL)})"
        else:
            continue
        log.warning("removing payload container %s: %s", container.short_id, why)
        try:
            container.remove(force=True)
            removed.append(str(container.id))
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError:
            log.warning("could not remove payload container %s", container.short_id, exc_info=True)
    return removed


def _alive(client: docker.DockerClient, container_id: str) -> bool:
    import docker

    try:
        container = client.containers.get(container_id)
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError:
        return True  # unknown: leave its payload alone
    return str(container.status) in {"created", "running", "restarting", "paused"}
