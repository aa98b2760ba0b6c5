"""Decide how the worker runs a job's payload: the deployed image's nested payload, else a process.

A job whose worker image was deployed (`shepard deploy` pushed it to the flock's registry) runs its
payload with the worker's DockerRuntime: the executor pulls the image once per digest, takes the nested
payload tar out of it and loads it into the engine, as a Batch host running the worker image would.
Everything else runs with the worker's ProcessRuntime, which runs a quick-deploy `run.sh`.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Setting

if TYPE_CHECKING:
    from pathlib import Path

    from shepard_local._executor import BatchJob
    from shepard_local._state import FlockState

PAYLOAD_TAR_PATH: Final = "/opt/shepard/payload.tar"
RECHECK_SECONDS: Final = 5.0

log = logging.getLogger(__name__)


class _Stream:
    """A file-like view of the docker SDK's chunk iterator, for tarfile's streaming mode."""

    def __init__(self, chunks: Any) -> None:  # noqa: ANN401 - the SDK's generator
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def registry_reference(image: str, registry: str) -> str:
    """Return where the flock's registry holds `image`: it stands in for ECR under the same repository."""
    host, _, path = image.partition("/")
    if registry and ".dkr.ecr." in host and path:
        return f"{registry}/{path}"
    return image


class PayloadResolver:
    """Map a job's worker image to the worker's runtime variables."""

    def __init__(self, state: FlockState) -> None:
        """Resolve payloads for the flock in `state`; Docker is used only when the flock runs with it."""
        self._state = state
        self._use_docker = state.runtime == "docker"
        self._payload_dir: Path = state.directory / "payloads"
        self._lock = threading.Lock()
        self._by_reference: dict[str, tuple[float, str | None]] = {}
        self._by_image_id: dict[str, str] = {}
        self._client: Any = None

    def describe(self) -> str:
        """Return how payloads run, for `shepard local status`."""
        if self._use_docker:
            return "docker for deployed payload images, process for jobs without one"
        return "process (quick-deploy run.sh; no Docker engine)"

    def environment_for(self, job: BatchJob) -> dict[str, str]:
        """Return SHEPARD_RUNTIME and the payload variables the worker needs for `job`.

        Payloads use the host's network here, not the template's Docker bridge: the local engine runs
        without a bridge, and the payload reaches the emulator on the loopback address.
        """
        payload = self._payload_image(job.image) if self._use_docker and job.image else None
        if payload is None:
            return {Setting.RUNTIME: "process"}
        return {Setting.RUNTIME: "docker", Setting.PAYLOAD_IMAGE: payload, Setting.PAYLOAD_NETWORK: "host"}

    def _payload_image(self, image: str) -> str | None:
        reference = registry_reference(image, self._state.registry)
        with self._lock:
            checked = self._by_reference.get(reference)
            if checked is not None and time.monotonic() - checked[0] < RECHECK_SECONDS:
                return checked[1]
            try:
                payload = self._resolve(reference)
            except Exception as exc:  # noqa: BLE001 - no deployed image means the process runtime
                log.info("no deployed payload for %s (%s); jobs run with the process runtime", reference, exc)
                payload = None
            self._by_reference[reference] = (time.monotonic(), payload)
            return payload

    def _resolve(self, reference: str) -> str:
        import docker

        if self._client is None:
            self._client = docker.from_env(timeout=120)
        client = self._client
        repository, _, tag = reference.rpartition(":")
        if "/" in tag or not repository:
            repository, tag = reference, "latest"
        image = client.images.pull(repository, tag=tag)
        if image.id in self._by_image_id:
            return self._by_image_id[image.id]
        self._payload_dir.mkdir(parents=True, exist_ok=True)
        tar_path = self._payload_dir / f"{image.id.replace(':', '-')}.tar"
        container = client.containers.create(image.id, command=["true"])
        try:
            chunks, _ = container.get_archive(PAYLOAD_TAR_PATH)
            with tarfile.open(fileobj=_Stream(chunks), mode="r|") as archive:  # type: ignore[call-overload]
                for member in archive:
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        with tar_path.open("wb") as out:
                            shutil.copyfileobj(extracted, out, 1024 * 1024)
                        break
        finally:
            container.remove(force=True)
        with tar_path.open("rb") as data:
            loaded = client.images.load(data)
        tar_path.unlink()
        payload = str(loaded[0].id)
        log.info("deployed image %s carries payload %s %s", reference, loaded[0].tags, payload)
        self._by_image_id[image.id] = payload
        return payload
