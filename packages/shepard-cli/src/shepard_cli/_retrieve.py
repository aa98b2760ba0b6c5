"""retrieve: sync the outputs bucket to a local folder, fetching only new or changed objects, in parallel."""

from __future__ import annotations

import dataclasses
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from mypy_boto3_s3 import S3Client
    from rich.progress import Progress


@dataclasses.dataclass(frozen=True)
class RemoteObject:
    """One object of the bucket: its key, size and modification time (epoch seconds)."""

    key: str
    size: int
    modified: float


@dataclasses.dataclass
class SyncResult:
    """What a sync did: the keys it fetched and how many it left as they were."""

    fetched: list[str] = dataclasses.field(default_factory=list)
    unchanged: int = 0


def list_objects(s3: S3Client, bucket: str, prefix: str = "") -> Iterator[RemoteObject]:
    """Yield every object under `prefix` (folder placeholders are skipped)."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):
                continue
            yield RemoteObject(obj["Key"], obj["Size"], obj["LastModified"].timestamp())


def local_path(directory: Path, key: str) -> Path:
    """Return where `key` lands under `directory`, refusing keys that would escape it."""
    target = (directory / key).resolve()
    if not target.is_relative_to(directory.resolve()):
        raise CliError(
            f"object key {key!r} would land outside {directory}", "Retrieve with a --prefix that avoids it"
        )
    return target


def needs_fetch(obj: RemoteObject, path: Path) -> bool:
    """Return whether the local copy is missing or differs in size or time from the object."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return True
    return stat.st_size != obj.size or int(stat.st_mtime) != int(obj.modified)


def sync(  # noqa: PLR0913 - the client, where, what and how
    s3: S3Client,
    bucket: str,
    directory: Path,
    *,
    prefix: str = "",
    parallel: int = 8,
    progress: Progress | None = None,
    select: Callable[[str], bool] | None = None,
) -> SyncResult:
    """Download the bucket's new or changed objects into `directory`; local files are only added to.

    `select`, when given, keeps only the keys it returns True for.
    """
    directory.mkdir(parents=True, exist_ok=True)
    result = SyncResult()
    todo: list[tuple[RemoteObject, Path]] = []
    for obj in list_objects(s3, bucket, prefix):
        if select is not None and not select(obj.key):
            continue
        path = local_path(directory, obj.key)
        if needs_fetch(obj, path):
            todo.append((obj, path))
        else:
            result.unchanged += 1
    task = progress.add_task("retrieving", total=sum(o.size for o, _ in todo)) if progress else None
    lock = threading.Lock()

    def fetch(item: tuple[RemoteObject, Path]) -> str:
        obj, path = item
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.shepard-partial")

        def advance(received: int) -> None:
            if progress is not None and task is not None:
                with lock:
                    progress.advance(task, received)

        extra: dict[str, Any] = {"Callback": advance}
        s3.download_file(bucket, obj.key, str(partial), **extra)
        os.utime(partial, (obj.modified, obj.modified))
        partial.replace(path)
        return obj.key

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="shepard-retrieve") as pool:
        result.fetched = list(pool.map(fetch, todo))
    return result
