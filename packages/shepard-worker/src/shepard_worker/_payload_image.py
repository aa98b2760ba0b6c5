"""Find the exact payload image a job carries: check its `docker save` tar, load it interruptibly."""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
import threading
from typing import TYPE_CHECKING, Any, Final

from shepard_worker._errors import PayloadStartError, TerminatedError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import docker

log = logging.getLogger(__name__)

LOAD_CHUNK: Final = 1024 * 1024
"""The tar goes to the engine in pieces of this size; the stop event is checked between pieces."""
MAX_MANIFEST_BYTES: Final = 1024 * 1024
MAX_CONFIG_BYTES: Final = 16 * 1024 * 1024
STOP_POLL_SECONDS: Final = 0.1


class _LoadAbortedError(Exception):
    """The worker was asked to stop while the tar was being sent to the engine."""


def tar_image_id(path: Path) -> str:
    """Return the id (`sha256:` + the config's digest) of the one image in the `docker save` tar `path`.

    Raise PayloadStartError naming the tar when it is empty, corrupt, truncated or holds other than
    exactly one image.
    """
    try:
        if path.stat().st_size == 0:
            raise PayloadStartError(f"payload tar {path} is empty: it is not a `docker save` image tar")
        with tarfile.open(path, mode="r:") as archive:
            members = {member.name: member for member in archive}
            manifest = _read_json(archive, members, "manifest.json", MAX_MANIFEST_BYTES, path)
            if not isinstance(manifest, list) or not manifest:
                raise PayloadStartError(f"payload tar {path} lists no image in its manifest.json")
            if len(manifest) != 1:
                raise PayloadStartError(
                    f"payload tar {path} holds {len(manifest)} images; a job's tar must hold exactly one"
                )
            entry = manifest[0]
            config_name = entry.get("Config") if isinstance(entry, dict) else None
            layers = entry.get("Layers") if isinstance(entry, dict) else None
            if not isinstance(config_name, str) or not isinstance(layers, list):
                raise PayloadStartError(f"payload tar {path} has a malformed manifest.json")
            size = path.stat().st_size
            for name in [config_name, *layers]:
                member = members.get(str(name))
                if member is None or member.offset_data + member.size > size:
                    raise PayloadStartError(
                        f"payload tar {path} is truncated or incomplete: {name} is missing"
                    )
            config = _read_member(archive, members[config_name], MAX_CONFIG_BYTES, path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PayloadStartError(f"payload tar {path} is corrupt or truncated: {exc}") from None
    return "sha256:" + hashlib.sha256(config).hexdigest()


def _read_json(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, limit: int, path: Path
) -> Any:  # noqa: ANN401 - parsed JSON
    member = members.get(name)
    if member is None:
        what = "is empty" if not members else f"has no {name}"
        raise PayloadStartError(f"payload tar {path} {what}: it is not a `docker save` image tar")
    try:
        return json.loads(_read_member(archive, member, limit, path))
    except ValueError:
        raise PayloadStartError(f"payload tar {path} has a malformed {name}") from None


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, limit: int, path: Path) -> bytes:
    if member.size > limit:
        raise PayloadStartError(f"payload tar {path}: {member.name} is larger than {limit} bytes")
    data = archive.extractfile(member)
    if data is None:
        raise PayloadStartError(f"payload tar {path}: {member.name} is not a file")
    content = data.read()
    if len(content) != member.size:
        raise PayloadStartError(f"payload tar {path} is truncated inside {member.name}")
    return content


def _chunks(path: Path, stop: threading.Event) -> Iterator[bytes]:
    with path.open("rb") as tar:
        while chunk := tar.read(LOAD_CHUNK):
            if stop.is_set():
                raise _LoadAbortedError
            yield chunk


class ImageLoader:
    """Loads one payload tar into the engine on a thread, abandoning the load when `stop` is set."""

    def __init__(self, client: docker.DockerClient, path: Path, stop: threading.Event) -> None:
        """Prepare to load `path` through `client`; `stop` ends the wait (and the upload) early."""
        self._client = client
        self._path = path
        self._stop = stop
        self._error: BaseException | None = None
        self._reported: list[str] = []

    def _load(self) -> None:
        try:
            messages = self._client.api.load_image(_chunks(self._path, self._stop))  # type: ignore[no-untyped-call]
            for message in messages:
                if isinstance(message, dict) and message.get("error"):
                    self._error = PayloadStartError(
                        f"the engine could not load payload tar {self._path}: {message['error']}"
                    )
                    return
                stream = message.get("stream", "") if isinstance(message, dict) else ""
                if stream.startswith(("Loaded image ID: ", "Loaded image: ")):
                    self._reported.append(stream.split(": ", 1)[1].strip())
        except BaseException as exc:  # noqa: BLE001 - handed to load()
            self._error = exc

    def load(self) -> list[str]:
        """Send the tar to the engine and return what the engine says it loaded; TerminatedError on stop."""
        import docker

        thread = threading.Thread(target=self._load, name="payload-load", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(STOP_POLL_SECONDS)
            if self._stop.is_set():
                # The upload stops at its next piece; an engine still unpacking is not waited for.
                raise TerminatedError("the worker was asked to stop (SIGTERM) while the payload image loaded")
        if isinstance(self._error, PayloadStartError):
            raise self._error
        if isinstance(self._error, _LoadAbortedError):
            raise TerminatedError("the worker was asked to stop (SIGTERM) while the payload image loaded")
        if isinstance(self._error, docker.errors.APIError):
            raise PayloadStartError(
                f"the engine could not load payload tar {self._path}: "
                f"{self._error.explanation or self._error}"
            )
        if self._error is not None:
            raise PayloadStartError(f"could not send payload tar {self._path} to the engine: {self._error}")
        return self._reported


def resolve_payload_image(
    client: docker.DockerClient, *, image: str | None, tar: Path | None, stop: threading.Event
) -> str:
    """Return the id of the image to run: the tar's image (loaded unless the engine has its id), else `image`.

    A name is never trusted while a tar exists: the engine may hold an older image under it.
    """
    import docker

    if tar is not None and tar.is_file():
        wanted = tar_image_id(tar)
        if _has_image(client, wanted):
            log.info("payload image %s (from %s) is already on the engine", wanted, tar)
            return wanted
        log.info("loading payload image %s from %s", wanted, tar)
        reported = ImageLoader(client, tar, stop).load()
        if _has_image(client, wanted):
            return wanted
        raise PayloadStartError(
            f"payload tar {tar} was loaded ({', '.join(reported) or 'nothing reported'}) but its image "
            f"{wanted} is not on the engine"
        )
    if image is None:
        raise PayloadStartError(
            f"no payload image: {tar} does not exist (SHEPARD_PAYLOAD_TAR) and "
            "SHEPARD_PAYLOAD_IMAGE is not set"
        )
    try:
        return str(client.images.get(image).id)
    except docker.errors.ImageNotFound:
        raise PayloadStartError(
            f"payload image {image} is not on the engine and there is no payload tar ({tar})"
        ) from None


def _has_image(client: docker.DockerClient, image_id: str) -> bool:
    import docker

    try:
        client.images.get(image_id)
    except docker.errors.ImageNotFound:
        return False
    return True
