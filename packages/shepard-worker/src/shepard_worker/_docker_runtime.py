"""Run the payload image on a Docker engine (docker-in-docker inside the worker image)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from shepard_worker._environment import READ_ONLY_DIR_NAME
from shepard_worker._errors import PayloadStartError
from shepard_worker._runtime import PayloadSpec, RunningPayload, Runtime
from shepard_worker._staging import RUN_SCRIPT

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from shepard_worker._config import WorkerConfig
    from shepard_worker._logs import PayloadLog

log = logging.getLogger(__name__)

DOCKER_SOCKET_IN_PAYLOAD: Final = "/var/run/docker.sock"
DEFAULT_ENGINE_SOCKET: Final = "/var/run/docker.sock"
JOB_LABEL: Final = "io.shepard.job"


class _RunningContainer(RunningPayload):
    def __init__(self, container: Container, payload_log: PayloadLog) -> None:
        self._container = container
        self._exit_code: int | None = None
        self._error: BaseException | None = None
        self._logs = threading.Thread(
            target=self._pump, args=(payload_log,), name="payload-output", daemon=True
        )
        self._waiter = threading.Thread(target=self._wait, name="payload-wait", daemon=True)
        self._logs.start()
        self._waiter.start()
        self._closed = False

    def _pump(self, payload_log: PayloadLog) -> None:
        try:
            payload_log.consume(self._container.logs(stream=True, follow=True, stdout=True, stderr=True))
        except Exception:
            log.warning("the payload's log stream broke", exc_info=True)

    def _wait(self) -> None:
        try:
            result = self._container.wait()
            self._exit_code = int(result.get("StatusCode", -1))
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self._error = exc

    def wait(self, timeout: float | None = None) -> int | None:
        self._waiter.join(timeout)
        if self._waiter.is_alive():
            return None
        if self._error is not None:
            raise self._error
        self._logs.join(30)
        return self._exit_code

    def stop(self, grace_seconds: float) -> None:
        log.warning("stopping the payload container (SIGTERM, then SIGKILL after %ss)", grace_seconds)
        try:
            self._container.stop(timeout=int(grace_seconds))
        except Exception:
            log.warning("could not stop the payload container", exc_info=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._container.remove(force=True)
        except Exception:
            log.warning("could not remove the payload container", exc_info=True)


class DockerRuntime(Runtime):
    """Runs the payload image with the job's environment, folders, ulimit and (optionally) docker.sock.

    The image is `image` when the engine has it; otherwise the image loaded from the tar `image_tar`
    (`docker load`), so a job image that names its payload still works on a fresh inner engine.
    The environment is passed as a mapping through the API, so no value can add a variable.
    Quick-deploy jobs run `/bin/sh <folder>/run.sh` in that folder.
    """

    name = "docker"

    def __init__(
        self,
        *,
        client: docker.DockerClient | None = None,
        image: str | None = None,
        image_tar: Path | None = None,
        network_mode: str = "host",
        engine_socket: str | None = None,
    ) -> None:
        """Use `client` (default: from DOCKER_HOST) to run `image` or the image in `image_tar`.

        `engine_socket` is the engine's socket as the engine sees it, bound into the payload when
        the job definition allows Docker access.
        """
        if image is None and image_tar is None:
            raise ValueError("DockerRuntime needs an image name or an image tar")
        self._client_or_none = client
        self._image = image
        self._image_tar = image_tar
        self._network_mode = network_mode
        self._engine_socket = engine_socket or DEFAULT_ENGINE_SOCKET
        self._image_id: str | None = None

    @classmethod
    def from_config(cls, config: WorkerConfig) -> DockerRuntime:
        """Build the runtime the configuration describes (SHEPARD_PAYLOAD_IMAGE, else SHEPARD_PAYLOAD_TAR)."""
        return cls(
            image=config.payload_image,
            image_tar=config.payload_tar,
            network_mode=config.payload_network,
            engine_socket=config.engine_socket,
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
        """Return `<mount>/read_only`, where the whole mount is bound read-only (the seed's paths)."""
        return mount / READ_ONLY_DIR_NAME

    def image_id(self) -> str:
        """Return the payload image's id, loading the tar on first use."""
        if self._image_id is not None:
            return self._image_id
        import docker

        try:
            image = self._present_image() or self._load_tar()
        except docker.errors.APIError as exc:
            raise PayloadStartError(f"could not get the payload image: {exc.explanation or exc}") from None
        self._image_id = str(image.id)
        return self._image_id

    def _present_image(self) -> Any:  # noqa: ANN401 - docker.models.images.Image
        if self._image is None:
            return None
        import docker

        try:
            return self._client.images.get(self._image)
        except docker.errors.ImageNotFound:
            if self._image_tar is None or not self._image_tar.is_file():
                raise PayloadStartError(
                    f"payload image {self._image} is not on the engine and there is no payload tar "
                    f"({self._image_tar})"
                ) from None
            log.info("payload image %s is not on the engine; loading the tar", self._image)
            return None

    def _load_tar(self) -> Any:  # noqa: ANN401 - docker.models.images.Image
        path = self._image_tar or Path()
        if not path.is_file():
            raise PayloadStartError(
                f"no payload image: {path} does not exist (SHEPARD_PAYLOAD_TAR) and "
                "SHEPARD_PAYLOAD_IMAGE is not set"
            )
        log.info("loading the payload image from %s", path)
        with path.open("rb") as tar:
            images = self._client.images.load(tar)
        if not images:
            raise PayloadStartError(f"{path} holds no image")
        return images[0]

    def _mounts(self, spec: PayloadSpec) -> list[Any]:
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
            mounts.append(Mount(target=DOCKER_SOCKET_IN_PAYLOAD, source=self._engine_socket, type="bind"))
        return mounts

    def start(self, spec: PayloadSpec, payload_log: PayloadLog) -> RunningPayload:
        """Create and start the payload container, or raise PayloadStartError."""
        import docker
        from docker.types import Ulimit

        options: dict[str, Any] = {
            "environment": spec.env,
            "mounts": self._mounts(spec),
            "network_mode": self._network_mode,
            "labels": {JOB_LABEL: spec.job_uuid},
            "detach": True,
        }
        if spec.ulimit_fileno is not None:
            options["ulimits"] = [Ulimit(name="nofile", soft=spec.ulimit_fileno, hard=spec.ulimit_fileno)]
        if spec.quick_deploy_dir is not None:
            options["entrypoint"] = ["/bin/sh", str(spec.quick_deploy_dir / RUN_SCRIPT)]
            options["working_dir"] = str(spec.quick_deploy_dir)
        image = self.image_id()
        container = None
        try:
            container = self._client.containers.create(image, **options)
            container.start()
        except docker.errors.APIError as exc:
            if container is not None:
                container.remove(force=True)
            raise PayloadStartError(
                f"the engine refused the payload container: {exc.explanation or exc}"
            ) from None
        log.info("payload container %s started from image %s", container.short_id, image)
        return _RunningContainer(container, payload_log)

    def close(self) -> None:
        """Close the engine connection, if one was opened."""
        if self._client_or_none is not None:
            self._client_or_none.close()
