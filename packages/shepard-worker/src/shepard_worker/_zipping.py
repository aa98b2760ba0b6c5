"""Zip a folder into a stream without following symlinks: zip64 when large, never seeking, never spooling."""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import time
import zipfile
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

CHUNK: Final = 1024 * 1024


class BinarySink(Protocol):
    """Where a zip is written: a write-only stream that can tell its position (no seeking)."""

    def write(self, data: bytes, /) -> int:
        """Write `data`; return how many bytes."""
        ...

    def tell(self) -> int:
        """Return how many bytes were written."""
        ...

    def flush(self) -> None:
        """Flush buffered data."""
        ...

    def close(self) -> None:
        """Finish the stream (zipfile never calls it on a stream it was given)."""
        ...


@dataclasses.dataclass
class ZipStats:
    """What went into a zip."""

    files: int = 0
    directories: int = 0
    symlinks: int = 0
    skipped: int = 0
    bytes_in: int = 0


def _date_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    parts = time.localtime(max(mtime, 315532800))  # zip dates start in 1980
    return (parts.tm_year, parts.tm_mon, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)


def tree_size(folder: Path) -> int:
    """Return the total size of the regular files under `folder`, not following symlinks."""
    total = 0
    for dirpath, _dirnames, filenames in os.walk(folder, followlinks=False):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))  # noqa: PTH118 - os.walk speaks str
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def has_entries(folder: Path) -> bool:
    """Return whether `folder` holds anything at all."""
    with os.scandir(folder) as entries:
        return any(True for _ in entries)


def zip_folder(folder: Path, sink: BinarySink, compress_level: int = 6) -> ZipStats:
    """Write a zip of everything under `folder` to `sink` (which need only `write` and `tell`).

    Symlinks are stored as links (their target text), never followed, so a payload cannot place a
    file from outside the folder into the zip. Every file is opened relative to its parent folder's
    descriptor with O_NOFOLLOW, so swapping a folder for a symlink mid-walk cannot redirect it.
    Fifos, sockets and devices are skipped.
    """
    stats = ZipStats()
    root_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with zipfile.ZipFile(
            sink,
            mode="w",
            compression=zipfile.ZIP_DEFLATED if compress_level > 0 else zipfile.ZIP_STORED,
            compresslevel=compress_level if compress_level > 0 else None,
            allowZip64=True,
        ) as archive:
            _add_folder(archive, root_fd, "", stats)
    finally:
        os.close(root_fd)
    return stats


def _add_folder(archive: zipfile.ZipFile, dir_fd: int, prefix: str, stats: ZipStats) -> None:
    with os.scandir(dir_fd) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        name = prefix + entry.name
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            _add_symlink(archive, dir_fd, entry.name, name, st)
            stats.symlinks += 1
        elif stat.S_ISDIR(st.st_mode):
            info = zipfile.ZipInfo(name + "/", _date_time(st.st_mtime))
            info.external_attr = (stat.S_IFDIR | stat.S_IMODE(st.st_mode)) << 16 | 0x10
            archive.writestr(info, b"")
            stats.directories += 1
            child_fd = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            try:
                _add_folder(archive, child_fd, name + "/", stats)
            finally:
                os.close(child_fd)
        elif stat.S_ISREG(st.st_mode):
            stats.bytes_in += _add_file(archive, dir_fd, entry.name, name)
            stats.files += 1
        else:
            log.warning("skipping %s: not a file, folder or symlink", name)
            stats.skipped += 1


def _add_symlink(archive: zipfile.ZipFile, dir_fd: int, entry: str, name: str, st: os.stat_result) -> None:
    target = os.readlink(entry, dir_fd=dir_fd)
    info = zipfile.ZipInfo(name, _date_time(st.st_mtime))
    info.create_system = 3  # unix, so unzip restores the link
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    info.compress_type = zipfile.ZIP_STORED
    archive.writestr(info, target.encode("utf-8", "surrogateescape"))


def _add_file(archive: zipfile.ZipFile, dir_fd: int, entry: str, name: str) -> int:
    fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as source:
        st = os.fstat(source.fileno())
        if not stat.S_ISREG(st.st_mode):
            return 0  # replaced by something else since the scan
        info = zipfile.ZipInfo(name, _date_time(st.st_mtime))
        info.external_attr = (stat.S_IFREG | stat.S_IMODE(st.st_mode)) << 16
        info.compress_type = archive.compression
        # Python 3.13 renamed the attribute; both spellings take the archive's level.
        level_attribute = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
        setattr(info, level_attribute, archive.compresslevel)
        info.file_size = st.st_size
        copied = 0
        with archive.open(info, mode="w") as target:
            while chunk := source.read(CHUNK):
                target.write(chunk)
                copied += len(chunk)
        return copied
