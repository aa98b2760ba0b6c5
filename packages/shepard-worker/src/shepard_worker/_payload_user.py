"""Give the job's folders and secrets to the user the payload image runs as (its USER), so it can use them."""

from __future__ import annotations

import io
import logging
import os
import tarfile
from typing import TYPE_CHECKING, Final

from shepard_worker._errors import PayloadStartError

if TYPE_CHECKING:
    from pathlib import Path

    import docker
    from docker.models.containers import Container

log = logging.getLogger(__name__)

MAX_ACCOUNT_FILE: Final = 4 * 1024 * 1024


def image_user(client: docker.DockerClient, image_id: str) -> str:
    """Return the image's USER ("" when it runs as root)."""
    config = client.images.get(image_id).attrs.get("Config") or {}
    return str(config.get("User") or "")


def resolve_user(user: str, passwd: str, group: str) -> tuple[int, int]:
    """Return (uid, gid) for a Docker USER (`name`, `uid`, `name:group`, `uid:gid`) from passwd/group text.

    A numeric uid missing from passwd gets gid 0, as the container runtime gives it.
    """
    name, _, group_name = user.partition(":")
    accounts = _entries(passwd)
    if name.isdigit():
        uid = int(name)
        gid = next((int(e[3]) for e in accounts if e[2] == name and e[3].isdigit()), 0)
    else:
        entry = next((e for e in accounts if e[0] == name and e[2].isdigit() and e[3].isdigit()), None)
        if entry is None:
            raise PayloadStartError(f"the payload image's USER {name} is not in its /etc/passwd")
        uid, gid = int(entry[2]), int(entry[3])
    if group_name:
        if group_name.isdigit():
            gid = int(group_name)
        else:
            found = next((e for e in _entries(group) if e[0] == group_name and e[2].isdigit()), None)
            if found is None:
                raise PayloadStartError(
                    f"the payload image's USER group {group_name} is not in its /etc/group"
                )
            gid = int(found[2])
    return uid, gid


def _entries(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line.count(":") >= 3]  # noqa: PLR2004


def image_accounts(client: docker.DockerClient, image_id: str, labels: dict[str, str]) -> tuple[str, str]:
    """Return the image's /etc/passwd and /etc/group ("" when absent), read from a never-started container."""
    import docker

    container = client.containers.create(
        image_id, command=["/shepard-never-started"], entrypoint=[], labels=labels, network_mode="none"
    )
    try:
        return _read_file(container, "/etc/passwd"), _read_file(container, "/etc/group")
    finally:
        try:
            container.remove(force=True)
        except docker.errors.APIError:
            log.warning("could not remove container %s", container.short_id, exc_info=True)


def _read_file(container: Container, path: str) -> str:
    import docker

    try:
        chunks, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return ""
    data = b"".join(chunks)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            if member.isfile() and member.size <= MAX_ACCOUNT_FILE:
                extracted = archive.extractfile(member)
                return extracted.read().decode(errors="replace") if extracted else ""
    return ""


def give_to_user(folders: list[Path], uid: int, gid: int) -> None:
    """Give every file and folder under `folders` to uid:gid (links themselves, never their targets).

    Walks with an explicit stack, so no depth is too deep; permission bits (0600 secrets) are kept.
    """
    pending = list(folders)
    while pending:
        folder = pending.pop()
        os.lchown(folder, uid, gid)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(folder / entry.name)
                else:
                    os.lchown(entry.path, uid, gid)
