"""Run the payload image on a Docker engine (the host's through its socket, or the worker image's own)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_worker._environment import READ_ONLY_DIR_NAME
from shepard_worker._errors import PayloadStartError, TerminatedError
from shepard_worker._gpus import GpuAssignment, assigned_gpus
from shepard_worker._logs import split_lines
from shepard_worker._payload_containers import (
    JOB_LABEL,
    engine_knows,
    engine_socket_source,
    own_container_id,
    payload_labels,
    remove_leftovers,
)
from shepard_worker._payload_image import resolve_payload_image
from shepard_worker._payload_limits import PayloadLimits, payload_budget
from shepard_worker._payload_user import give_to_user, image_accounts, image_user, resolve_user
from shepard_worker._runtime import PayloadSpec, RunningPayload, Runtime
from shepard_worker._staging import RUN_SCRIPT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import docker
    from docker.models.containers import Container

    from shepard_worker._config import WorkerConfig
    from shepard_worker._logs import PayloadLog

log = logging.getLogger(__name__)

DOCKER_SOCKET_IN_PAYLOAD: Final = "/var/run/docker.sock"
__all__ = ["JOB_LABEL", "DockerRuntime"]

DRAIN_SECONDS: Final = 300
"""After the container exits, how long its log stream may go on delivering (the engine can lag far behind)."""
STALL_SECONDS: Final = 30
"""A log stream that delivers nothing for this long after the container exited is cut."""
STOPPED_DRAIN_SECONDS: Final = 3
"""After SIGTERM the drain is short: Batch kills the worker 30 s after SIGTERM."""
DRAIN_POLL_SECONDS: Final = 0.2
ENGINE_LOG_OPTIONS: Final = (("max-size", "64m"), ("max-file", "4"))
"""The engine's own json-file log of a payload container: at most 4 files of 64 MiB."""
GPU_DRIVER_REFUSAL: Final = "could not select device driver"
GPU_DRIVER_HINT: Final = (
    "the payload was to get the worker's GPUs (NVIDIA_VISIBLE_DEVICES), but the engine cannot hand out "
    "GPUs: its machine needs NVIDIA's driver and container toolkit (the ECS GPU AMI has both)"
)


class _RunningContainer(RunningPayload):
    def __init__(self, container: Container, payload_log: PayloadLog) -> None:
        self._container = container
        self._exit_code: int | None = None
        self._error: BaseException | None = None
        self._stream: Any = None
        self._received = 0
        self._cut = threading.Event()
        self._gate = threading.Lock()
        self._stopping = False
        self._logs = threading.Thread(
            target=self._pump, args=(payload_log,), name="payload-output", daemon=True
        )
        self._oom_killed = False
        self._memory_limit: int | None = None
        self._waiter = threading.Thread(target=self._wait, name="payload-wait", daemon=True)
        self._waiter.start()
        self._logs.start()
        self._closed = False

    def _chunks(self) -> Iterator[bytes]:
        """Yield the container's output once, to its end, reopening the stream where it stopped early.

        A follow stream can end before the last lines when the container exits (the engine races its
        own log file); a stream reopened after the exit is read past what was already delivered.
        """
        offset = 0
        while not self._cut.is_set():
            self._stream = self._container.logs(stream=True, follow=True, stdout=True, stderr=True)
            skip, new = offset, 0
            for chunk in self._stream:
                if skip >= len(chunk):
                    skip -= len(chunk)
                    continue
                piece, skip = chunk[skip:], 0
                offset += len(piece)
                new += len(piece)
                yield piece
            if not new:
                if not self._waiter.is_alive():
                    return
                time.sleep(DRAIN_POLL_SECONDS)

    def _pump(self, payload_log: PayloadLog) -> None:
        try:
            for line in split_lines(self._chunks()):
                with self._gate:
                    if self._cut.is_set():
                        return
                    payload_log.write_line(line)
                    self._received += 1
        except Exception:
            if not self._cut.is_set():
                log.warning("the payload's log stream broke", exc_info=True)

    def _wait(self) -> None:
        try:
            result = self._container.wait()
            self._exit_code = int(result.get("StatusCode", -1))
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self._error = exc
            return
        try:
            self._container.reload()
            attrs = self._container.attrs
            self._oom_killed = bool(attrs.get("State", {}).get("OOMKilled"))
            self._memory_limit = attrs.get("HostConfig", {}).get("Memory") or None
        except Exception:  # the exit code is known; how it ended is a detail
            log.warning("could not inspect the ended payload container", exc_info=True)

    def ending(self) -> str | None:
        """Say so when the kernel killed the payload for memory (the engine's State.OOMKilled)."""
        if not self._oom_killed:
            return None
        limit = f" of {self._memory_limit // (1024 * 1024)} MiB" if self._memory_limit else ""
        return f"killed for running out of memory (OOMKilled): it used all its memory{limit}"

    def wait(self, timeout: float | None = None) -> int | None:
        self._waiter.join(timeout)
        if self._waiter.is_alive():
            return None
        if self._error is not None:
            raise self._error
        self._drain()
        return self._exit_code

    def _drain(self) -> None:
        """Wait for the log stream to end; cut it on a stall or at its cap (nothing is written after)."""
        cap = STOPPED_DRAIN_SECONDS if self._stopping else DRAIN_SECONDS
        now = time.monotonic()
        deadline, seen, progress_at = now + cap, self._received, now
        while self._logs.is_alive() and now < deadline and now - progress_at < STALL_SECONDS:
            self._logs.join(DRAIN_POLL_SECONDS)
            now = time.monotonic()
            if self._received != seen:
                seen, progress_at = self._received, now
        with self._gate:
            self._cut.set()
        if self._logs.is_alive():
            log.warning(
                "the payload's log stream had not ended %ss after the container exited; the rest is not "
                "in the worker's log or the error zip",
                cap,
            )
            with contextlib.suppress(Exception):
                self._stream.close()

    def stop(self, grace_seconds: float) -> None:
        log.warning("stopping the payload container (SIGTERM, then SIGKILL after %ss)", grace_seconds)
        self._stopping = True
        try:
            self._container.stop(timeout=int(grace_seconds))
        except Exception:
            log.warning("could not stop the payload container", exc_info=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._gate:
            self._cut.set()
        try:
            self._container.remove(force=True)
        except Exception:
            log.warning("could not remove the payload container", exc_info=True)


class DockerRuntime(Runtime):
    """Runs the payload image with the job's environment, folders, limits, ulimit and optional docker.sock.

    The image is the one in the tar `image_tar` (loaded unless the engine already has its id) and runs
    by id; only without a tar is the engine's `image` used. The environment is passed as a mapping
    through the API, so no value can add a variable. Quick-deploy jobs run `/bin/sh <folder>/run.sh`.
    """

    name = "docker"

    def __init__(  # noqa: PLR0913 - the engine and the job definition's options
        self,
        *,
        client: docker.DockerClient | None = None,
        image: str | None = None,
        image_tar: Path | None = None,
        network_mode: str = "bridge",
        engine_socket: str | None = None,
        docker_host: str | None = None,
        limits: PayloadLimits | None = None,
        pids_limit: int | None = None,
        worker_container: str | None = None,
        visible_gpus: str | None = None,
        on_batch: bool = False,
    ) -> None:
        """Use `client` (default: from DOCKER_HOST) to run the image in `image_tar`, else `image`.

        `engine_socket` is the engine's socket as the engine's machine names it, bound into the payload
        when the job definition allows Docker access; without it the socket `docker_host` (default
        /var/run/docker.sock) names is found on that machine (`engine_socket_source`). `limits`
        default to what the job's budget (the worker's own cgroup limits) has left once the worker's
        own use is taken off; `pids_limit` bounds the payload's processes further.
        `worker_container` (default: this process's container) labels the payload when the engine
        runs it. `visible_gpus` is the worker's NVIDIA_VISIBLE_DEVICES: the payload gets exactly those
        GPUs (`on_batch`: the worker runs on AWS Batch, where `all` assigns none; see `_gpus`).
        """
        if image is None and image_tar is None:
            raise ValueError("DockerRuntime needs an image name or an image tar")
        self._client_or_none = client
        self._image = image
        self._image_tar = image_tar
        self._network_mode = network_mode
        self._engine_socket = engine_socket
        self._docker_host = docker_host
        self._image_id: str | None = None
        self._limits = limits
        self._pids_limit = pids_limit
        self._worker_container = worker_container
        self._visible_gpus = visible_gpus
        self._on_batch = on_batch

    @classmethod
    def from_config(cls, config: WorkerConfig) -> DockerRuntime:
        """Build the runtime the configuration describes (SHEPARD_PAYLOAD_TAR, else SHEPARD_PAYLOAD_IMAGE)."""
        return cls(
            image=config.payload_image,
            image_tar=config.payload_tar,
            network_mode=config.payload_network,
            engine_socket=config.engine_socket,
            docker_host=config.docker_host,
            pids_limit=config.pids_limit,
            visible_gpus=config.visible_gpus,
            on_batch=config.batch_job_id is not None,
        )

    @property
    def _client(self) -> docker.DockerClient:
        if self._client_or_none is None:
            import docker

            try:
                self._client_or_none = docker.from_env()
            except docker.errors.DockerException as exc:
                raise PayloadStartError(f"no Docker engine reachable: {exc}") from None
        return self._client_or_none

    def read_only_path(self, mount: Path) -> Path:
        """Return `<mount>/read_only`, the whole mount bound read-only (the original Shepard's paths)."""
        return mount / READ_ONLY_DIR_NAME

    def image_id(self, stop: threading.Event | None = None) -> str:
        """Return the payload image's id, loading the tar on first use (given up when `stop` is set)."""
        if self._image_id is not None:
            return self._image_id
        import docker

        try:
            self._image_id = resolve_payload_image(
                self._client, image=self._image, tar=self._image_tar, stop=stop or threading.Event()
            )
        except docker.errors.APIError as exc:
            raise PayloadStartError(f"could not get the payload image: {exc.explanation or exc}") from None
        return self._image_id

    def _mounts(self, spec: PayloadSpec, worker_id: str | None) -> list[Any]:
        from docker.types import Mount

        mounts = [
            Mount(target=str(dirs.job_dir), source=str(dirs.job_dir), type="bind")
            for dirs in spec.workspace.all
        ]
        mounts.extend(
            Mount(
                target=str(self.read_only_path(dirs.mount)),
                source=str(dirs.mount),
                type="bind",
                read_only=True,
            )
            for dirs in (spec.workspace.efs, spec.workspace.lustre)
            if dirs is not None
        )
        if spec.allow_docker_access:
            source = engine_socket_source(self._client, self._engine_socket, self._docker_host, worker_id)
            mounts.append(Mount(target=DOCKER_SOCKET_IN_PAYLOAD, source=source, type="bind"))
        return mounts

    def _worker_id(self) -> str | None:
        """Return the worker's container id when the payload's engine runs it (a shared host engine)."""
        candidate = self._worker_container or own_container_id()
        return candidate if engine_knows(self._client, candidate) else None

    def _options(
        self, spec: PayloadSpec, labels: dict[str, str], worker_id: str | None, gpus: GpuAssignment
    ) -> dict[str, Any]:
        from docker.types import LogConfig, Ulimit

        budget = self._limits if self._limits is not None else payload_budget()
        limits = budget.within(PayloadLimits(pids=self._pids_limit))
        log.info("the payload's limits: %s", limits.describe())
        options: dict[str, Any] = {
            "environment": {**spec.env, **gpus.environment()},
            "mounts": self._mounts(spec, worker_id),
            "network_mode": self._network_mode,
            "labels": labels,
            "detach": True,
            "log_config": LogConfig(type="json-file", config=dict(ENGINE_LOG_OPTIONS)),
            **limits.container_options(),
        }
        if gpus.has_gpus:
            options["device_requests"] = gpus.device_requests()
        if spec.ulimit_fileno is not None:
            options["ulimits"] = [Ulimit(name="nofile", soft=spec.ulimit_fileno, hard=spec.ulimit_fileno)]
        if spec.quick_deploy_dir is not None:
            options["entrypoint"] = ["/bin/sh", str(spec.quick_deploy_dir / RUN_SCRIPT)]
            options["working_dir"] = str(spec.quick_deploy_dir)
        return options

    def _hand_folders_to_image_user(self, image: str, spec: PayloadSpec, labels: dict[str, str]) -> None:
        user = image_user(self._client, image)
        if not user or user in {"0", "root", "0:0", "root:root"}:
            return
        passwd, group = image_accounts(self._client, image, labels)
        uid, gid = resolve_user(user, passwd, group)
        log.info(
            "the payload image runs as %s (%d:%d); its job folders and secrets are given to it",
            user,
            uid,
            gid,
        )
        try:
            give_to_user([dirs.job_dir for dirs in spec.workspace.all], uid, gid)
        except OSError as exc:
            raise PayloadStartError(
                f"could not give the job's folders to the image's user {user}: {exc}"
            ) from None

    def create_container(self, spec: PayloadSpec) -> Container:
        """Create (not start) the payload container, or raise PayloadStartError (TerminatedError on stop).

        A worker whose NVIDIA_VISIBLE_DEVICES names no GPU raises GpuAssignmentError before the engine
        is asked for anything.
        """
        import docker

        gpus = assigned_gpus(self._visible_gpus, on_batch=self._on_batch)
        log.info("the payload gets %s", gpus.describe())
        stop = spec.stop or threading.Event()
        _check(stop)
        remove_leftovers(self._client, spec.job_uuid)
        image = self.image_id(stop)
        _check(stop)
        worker_id = self._worker_id()
        labels = payload_labels(spec.job_uuid, spec.attempt, worker_id)
        try:
            self._hand_folders_to_image_user(image, spec, labels)
            options = self._options(spec, labels, worker_id, gpus)
        except docker.errors.APIError as exc:
            raise PayloadStartError(
                f"could not inspect the payload image: {exc.explanation or exc}"
            ) from None
        try:
            return self._client.containers.create(image, **options)
        except docker.errors.APIError as exc:
            raise PayloadStartError(
                f"the engine refused the payload container: {exc.explanation or exc}"
            ) from None

    def start(self, spec: PayloadSpec, payload_log: PayloadLog) -> RunningPayload:
        """Create and start the payload container, or raise PayloadStartError (TerminatedError on stop)."""
        import docker

        container = self.create_container(spec)
        try:
            _check(spec.stop or threading.Event())
            container.start()
        except (docker.errors.APIError, TerminatedError) as exc:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
            if isinstance(exc, TerminatedError):
                raise
            reason = str(exc.explanation or exc)
            hint = f"; {GPU_DRIVER_HINT}" if GPU_DRIVER_REFUSAL in reason else ""
            raise PayloadStartError(f"the engine refused the payload container: {reason}{hint}") from None
        log.info("payload container %s started from image %s", container.short_id, self._image_id)
        return _RunningContainer(container, payload_log)

    def close(self) -> None:
        """Close the engine connection, if one was opened."""
        if self._client_or_none is not None:
            self._client_or_none.close()


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise TerminatedError("the worker was asked to stop (SIGTERM) before the payload started")
