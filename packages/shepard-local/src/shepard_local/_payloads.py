"""Decide how the worker runs a job's payload: the deployed image's nested payload, else a process.

A job whose worker image was deployed (`shepard deploy` pushed it to the flock's registry) runs its
payload with the worker's DockerRuntime. As each job starts, the executor asks the registry which digest
the image's tag names now, so a job started after a deploy runs what was deployed; it pulls each digest
once, takes the nested payload tar out of it and loads it into the engine, as a Batch host would.
Everything else runs with the worker's ProcessRuntime, which runs a quick-deploy `run.sh`.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
import threading
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Setting

if TYPE_CHECKING:
    from pathlib import Path

    from shepard_local._batch_jobs import BatchJob
    from shepard_local._state import FlockState

PAYLOAD_TAR_PATH: Final = "/opt/shepard/payload.tar"

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
        self._lock = threading.RLock()
        self._by_digest: dict[str, str | None] = {}
        self._undeployed: set[str] = set()
        """The registry references found without a deployed image, each logged once."""
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
        if not self._state.registry:
            return None
        reference = registry_reference(image, self._state.registry)
        try:
            deployed = self._docker().images.get_registry_data(reference)
        except Exception as exc:  # noqa: BLE001 - nothing deployed under the name means the process runtime
            with self._lock:
                first = reference not in self._undeployed
                self._undeployed.add(reference)
            if first:  # once per image until it is deployed, not once per job
                log.info(
                    "no deployed payload for %s (%s); its jobs run with the process runtime", reference, exc
                )
            return None
        with self._lock:
            self._undeployed.discard(reference)
            if deployed.id not in self._by_digest:
                try:
                    self._by_digest[deployed.id] = self._unpack(deployed)
                except Exception as exc:  # noqa: BLE001 - an image without a payload tar runs as a process
                    log.warning("%s@%s carries no loadable payload (%s)", reference, deployed.id, exc)
                    self._by_digest[deployed.id] = None
            return self._by_digest[deployed.id]

    def _docker(self) -> Any:  # noqa: ANN401 - the docker SDK's client
        import docker

        with self._lock:
            if self._client is None:
                self._client = docker.from_env(timeout=120)
            return self._client

    def _unpack(self, deployed: Any) -> str:  # noqa: ANN401 - the docker SDK's RegistryData
        client = self._docker()
        image = deployed.pull()
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
        log.info("deployed image %s carries payload %s %s", deployed.image_name, loaded[0].tags, payload)
        return payload
