"""retrieve: sync the outputs bucket to a local folder, fetching only new or changed objects, in parallel.

Every file lands inside the folder. A key is read as a path of `/`-separated names where empty and
`.` names are dropped and `..` steps back; a key that resolves to the folder itself or above it, has a
name longer than a file name may be, or collides with a folder, a file or another key, is skipped
with its reason. Downloads go to a hidden partial file next to their target and are renamed when whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from mypy_boto3_s3 import S3Client
    from rich.progress import Progress

NAME_MAX_BYTES: Final = 255
"""The longest file name Linux and macOS file systems hold."""
PARTIAL_PREFIX: Final = ".shepard-partial-"
SEPARATORS: Final = frozenset({"/", os.sep, os.altsep or "/"})


@dataclasses.dataclass(frozen=True)
class RemoteObject:
    """One object of the bucket: its key, size and modification time (epoch seconds)."""

    key: str
    size: int
    modified: float


@dataclasses.dataclass
class SyncResult:
    """What a sync did: the keys it fetched, how many it left as they were, the keys it skipped and why."""

    fetched: list[str] = dataclasses.field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)


class SkipKeyError(Exception):
    """A key that cannot land inside the folder as a file; the message says why."""


def list_objects(s3: S3Client, bucket: str, prefix: str = "") -> Iterator[RemoteObject]:
    """Yield every object under `prefix` (folder placeholders are skipped)."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):
                continue
            yield RemoteObject(obj["Key"], obj["Size"], obj["LastModified"].timestamp())


def key_parts(key: str) -> tuple[str, ...]:
    """Return the file names `key` leads through inside the folder, or raise SkipKeyError."""
    names = [key]
    for separator in SEPARATORS:
        names = [part for name in names for part in name.split(separator)]
    parts: list[str] = []
    for name in names:
        if name in {"", "."}:
            continue
        if name == "..":
            if not parts:
                raise SkipKeyError("it resolves to a place above the folder")
            parts.pop()
            continue
        if "\0" in name:
            raise SkipKeyError("it holds a NUL character, which no file name may")
        if len(os.fsencode(name)) > NAME_MAX_BYTES:
            raise SkipKeyError(f"it holds a name longer than the {NAME_MAX_BYTES} bytes a file name may have")
        parts.append(name)
    if not parts:
        raise SkipKeyError("it resolves to the folder itself")
    return tuple(parts)


def local_path(directory: Path, key: str) -> Path:
    """Return where `key` lands under `directory`, or raise SkipKeyError when it cannot land inside it."""
    return directory.joinpath(*key_parts(key))


def _kind_on_disk(path: Path) -> str | None:
    """Return "folder", "link" or "file" for what `path` is on disk (links not followed), or None."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "file"
    if stat.S_ISLNK(mode):
        return "link"
    return "folder" if stat.S_ISDIR(mode) else "file"


class _Claims:
    """The paths a sync has given to keys, so that no two keys land on one file or file and folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[tuple[str, ...], str] = {}
        self.folders: dict[tuple[str, ...], str] = {}

    def claim(self, key: str) -> Path:
        """Give `key` its path, or raise SkipKeyError when it collides with the disk or an earlier key."""
        parts = key_parts(key)
        for depth in range(1, len(parts)):
            above = parts[:depth]
            if above in self.files:
                raise SkipKeyError(
                    f"it needs {'/'.join(above)!r} as a folder, where key {self.files[above]!r} is"
                )
            kind = _kind_on_disk(self.directory.joinpath(*above))
            if kind in {"file", "link"}:
                raise SkipKeyError(f"it needs {'/'.join(above)!r} as a folder, where a local {kind} is")
        if parts in self.files:
            raise SkipKeyError(f"it lands on the same file as key {self.files[parts]!r}")
        if parts in self.folders:
            raise SkipKeyError(f"it would be a file where key {self.folders[parts]!r} needs a folder")
        path = self.directory.joinpath(*parts)
        kind = _kind_on_disk(path)
        if kind in {"folder", "link"}:
            raise SkipKeyError(f"it would replace the local {kind} {'/'.join(parts)!r}")
        self.files[parts] = key
        for depth in range(1, len(parts)):
            self.folders.setdefault(parts[:depth], key)
        return path


def needs_fetch(obj: RemoteObject, path: Path) -> bool:
    """Return whether the local copy is missing or differs in size or time from the object."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return True
    return found.st_size != obj.size or int(found.st_mtime) != int(obj.modified)


def plan(
    directory: Path, objects: Iterable[RemoteObject], result: SyncResult
) -> list[tuple[RemoteObject, Path]]:
    """Return the objects to fetch with their paths; record skipped keys and unchanged files in `result`.

    Keys already written the plain way (`a/b`) are placed before their variants (`a//b`, `./a/b`).
    """
    claims = _Claims(directory)
    ordered = sorted(objects, key=lambda o: "/".join(_plain(o.key)) != o.key)
    todo: list[tuple[RemoteObject, Path]] = []
    for obj in ordered:
        try:
            path = claims.claim(obj.key)
        except SkipKeyError as skip:
            result.skipped.append((obj.key, str(skip)))
            continue
        if needs_fetch(obj, path):
            todo.append((obj, path))
        else:
            result.unchanged += 1
    return todo


def _plain(key: str) -> tuple[str, ...]:
    try:
        return key_parts(key)
    except SkipKeyError:
        return ()


def _download(
    s3: S3Client, bucket: str, obj: RemoteObject, path: Path, advance: Callable[[int], None]
) -> None:
    """Download one object to a partial file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, dir=path.parent)
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as f:
            s3.download_fileobj(bucket, obj.key, f, Callback=advance)
        os.utime(partial, (obj.modified, obj.modified))
        partial.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


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
    listed = (obj for obj in list_objects(s3, bucket, prefix) if select is None or select(obj.key))
    todo = plan(directory, listed, result)
    task = progress.add_task("retrieving", total=sum(o.size for o, _ in todo)) if progress else None
    lock = threading.Lock()

    def advance(received: int) -> None:
        if progress is not None and task is not None:
            with lock:
                progress.advance(task, received)

    def fetch(item: tuple[RemoteObject, Path]) -> str:
        obj, path = item
        _download(s3, bucket, obj, path, advance)
        return obj.key

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="shepard-retrieve") as pool:
        result.fetched = list(pool.map(fetch, todo))
    return result
