"""Zip a folder into a stream: deflate what pays on every core, store the rest, never follow symlinks.

The zip is written front to back (no seeking, no spooling) as a standard zip with data
descriptors, zip64 records when sizes or counts need them, and correct CRCs. Each file is read in
chunks; a deflated file's chunks are compressed in parallel (each primed with the 32 KiB before it,
as pigz does) and written in order, so memory stays near WINDOW chunks whatever the sizes.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import logging
import os
import stat
import time
import zlib
from typing import IO, TYPE_CHECKING, Final, Protocol

from shepard_worker._compressibility import worth_deflating
from shepard_worker._tree import DirChain, Node, walk
from shepard_worker._zipformat import DEFLATED, LIMIT_16, LIMIT_32, STORED, Entry, end_records

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

log = logging.getLogger(__name__)

CHUNK: Final = 1024 * 1024
DICTIONARY: Final = 32 * 1024
SKIPPED_REPORT: Final = "SHEPARD_SKIPPED_FILES.txt"
RENAMED_REPORT: Final = "SHEPARD_RENAMED_FILES.json"
SKIPPED_HEADER: Final = (
    "These outputs could not be read and are not in this zip, or not whole, or changed while being "
    "zipped (name, then reason):"
)
RENAMED_NOTE: Final = (
    "names that were not UTF-8 are stored with each bad byte written as \\xNN; a stored name that "
    "another file already has gets ~N before its extension (a folder's new name holds for all it holds)"
)
_EMPTY_FINAL_BLOCK: Final = b"\x03\x00"
_FILE_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class BinarySink(Protocol):
    """Where a zip is written: a write-only stream (no seeking)."""

    def write(self, data: bytes, /) -> int:
        """Write `data`; return how many bytes."""
        ...


@dataclasses.dataclass
class ZipStats:
    """What went into a zip: counts, bytes in and out, and the entries that could not be stored whole."""

    files: int = 0
    directories: int = 0
    symlinks: int = 0
    skipped: int = 0
    deflated: int = 0
    stored: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    renamed: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)
    unreadable: list[tuple[bytes, str]] = dataclasses.field(default_factory=list)


def default_workers() -> int:
    """Return how many threads compress: the cores this process may use (at most 8)."""
    return max(1, min(8, len(os.sched_getaffinity(0))))


def has_entries(folder: Path) -> bool:
    """Return whether `folder` holds anything at all."""
    with os.scandir(folder) as entries:
        return any(True for _ in entries)


def _deflate(data: bytes, dictionary: bytes, level: int, *, final: bool) -> bytes:
    """Deflate one chunk primed with the bytes before it; end on a byte boundary unless `final`."""
    if dictionary:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, dictionary)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def zip_folder(
    folder: Path, sink: BinarySink, compress_level: int = 6, *, workers: int | None = None
) -> ZipStats:
    r"""Write a zip of everything under `folder` to `sink`; return what went in.

    Symlinks are stored as links (their target text), never followed; every file and folder is
    opened relative to its parent's descriptor with O_NOFOLLOW, so swapping a folder for a symlink
    mid-walk cannot redirect it. Fifos, sockets and devices are skipped. A file or folder that
    cannot be read (or vanishes) is left out, logged and listed in SHEPARD_SKIPPED_FILES.txt at the
    zip's root. A name that is not UTF-8 is stored with each bad byte escaped as `\xNN`, and
    SHEPARD_RENAMED_FILES.json maps it to the original bytes. Stored modes keep rwx bits only.
    """
    threads = workers or default_workers()
    with (
        concurrent.futures.ThreadPoolExecutor(threads, "zip-deflate") as pool,
        DirChain(folder) as chain,
    ):
        writer = _ZipWriter(sink, pool, compress_level, window=2 * threads + 2)
        for node in walk(chain):
            writer.add(chain, node)
        writer.finish()
    return writer.stats


class _ZipWriter:
    """Writes members in order while their chunks are deflated ahead by the pool."""

    def __init__(
        self, sink: BinarySink, pool: concurrent.futures.Executor, level: int, *, window: int
    ) -> None:
        self._sink = sink
        self._pool = pool
        self._level = level
        self._window = window
        self._pending: collections.deque[tuple[str, object]] = collections.deque()
        self._offset = 0
        self._member: Entry | None = None
        self._central = bytearray()
        self._entries = 0
        self._root_names: set[bytes] = set()
        self._folders: dict[bytes, bytes] = {}
        """Each renamed folder's path (as on disk) and its stored path: what lies under it moves with it."""
        self._taken: set[bytes] = set()
        """Every stored path given to a renamed entry, so no two entries share one."""
        self.stats = ZipStats()

    def add(self, chain: DirChain, node: Node) -> None:
        """Add one walked entry (a folder, file or symlink); skip and note what cannot be read."""
        name = self._stored_name(chain, node)
        if b"/" not in name:
            self._root_names.add(name)
        if node.error is not None or node.stat is None:
            self._skip(name, node.error)
            return
        if len(name) + 1 >= LIMIT_16:
            self._skip(name, OSError("the name is too long for a zip (64 KiB)"))
            return
        mode = node.stat.st_mode
        try:
            if stat.S_ISDIR(mode):
                self._add_folder(name, node.stat)
            elif stat.S_ISLNK(mode):
                target = os.fsencode(os.readlink(node.name, dir_fd=chain.fd()))
                entry = Entry(name, STORED, stat.S_IFLNK | 0o777, node.stat.st_mtime)
                self._add_bytes(entry, target)
                self.stats.symlinks += 1
            elif stat.S_ISREG(mode):
                self._add_file(chain, node, name)
            else:
                log.warning("skipping %s: not a file, folder or symlink", _shown(name))
                self.stats.skipped += 1
        except OSError as exc:
            self._skip(name, exc)

    def finish(self) -> None:
        """Write the skipped-files report (if anything was skipped), the central directory and the end."""
        if self.stats.unreadable:
            self._add_skipped_report()
        if self.stats.renamed:
            self._add_renamed_report()
        self._drain(0)
        directory_offset = self._offset
        self._write(bytes(self._central))
        self._write(end_records(self._entries, directory_offset, len(self._central)))
        self.stats.bytes_out = self._offset

    def _stored_name(self, chain: DirChain, node: Node) -> bytes:
        r"""Return the path `node` is stored under: unique, UTF-8, under its folder's stored path.

        A name that is not UTF-8 is escaped (`\xNN` per bad byte); when that name is taken (by a
        sibling on disk, or another escaped entry) it gets `~N` before its extension. Each renamed
        entry is recorded with its original path.
        """
        parent, slash, component = node.path.rpartition(b"/")
        stored_parent = self._folders.get(parent, parent)
        escaped = _shown(component).encode()
        candidate = stored_parent + slash + escaped
        if escaped != component or candidate in self._taken:
            counter = 0
            while candidate in self._taken or (escaped != component and _exists(chain, escaped)):
                counter += 1
                escaped = _numbered(_shown(component).encode(), counter)
                candidate = stored_parent + slash + escaped
            self._taken.add(candidate)
            log.warning("%r is stored as %s (not UTF-8, or its name was taken)", node.path, _shown(candidate))
            self.stats.renamed.append((candidate, node.path))
        if candidate != node.path and node.is_dir:
            self._folders[node.path] = candidate
        return candidate

    def _skip(self, name: bytes, error: OSError | None) -> None:
        reason = (error.strerror or str(error)) if error is not None else "unreadable"
        log.warning("skipping %s: %s", _shown(name), reason)
        self.stats.unreadable.append((name, reason))

    def _add_folder(self, name: bytes, st: os.stat_result) -> None:
        entry = Entry(name + b"/", STORED, stat.S_IFDIR | stat.S_IMODE(st.st_mode) & 0o777, st.st_mtime)
        self._add_bytes(entry, b"")
        self.stats.directories += 1

    def _add_bytes(self, entry: Entry, data: bytes) -> None:
        entry.crc = zlib.crc32(data)
        entry.size = entry.compressed_size = len(data)
        self._push("header", entry)
        self._push("bytes", data)
        self._push("end", entry)

    def _add_file(self, chain: DirChain, node: Node, name: bytes) -> None:
        fd = os.open(node.name, _FILE_FLAGS, dir_fd=chain.fd())
        with os.fdopen(fd, "rb", buffering=0) as source:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return  # replaced by something else since the scan
            size = st.st_size
            first = source.read(min(CHUNK, size))
            deflate = bool(first) and worth_deflating(name, first, self._level)
            entry = Entry(
                name,
                DEFLATED if deflate else STORED,
                stat.S_IFREG | stat.S_IMODE(st.st_mode) & 0o777,
                st.st_mtime,
                streamed=True,
                zip64=size + size // 64 + CHUNK >= LIMIT_32,
            )
            self._push("header", entry)
            if not self._stream_file(name, source, first, size, entry):
                _check_unchanged(name, source, st, entry.size, self._skip)
        self.stats.files += 1
        self.stats.bytes_in += entry.size
        self.stats.deflated += deflate
        self.stats.stored += not deflate

    def _stream_file(self, name: bytes, source: IO[bytes], first: bytes, size: int, entry: Entry) -> bool:
        """Store the file's bytes (at most `size`); return whether a read error was reported."""
        read = source.read
        deflate = entry.method == DEFLATED
        chunk, dictionary, done, failed = first, b"", 0, False
        while chunk:
            done += len(chunk)
            entry.crc = zlib.crc32(chunk, entry.crc)
            try:
                following = read(min(CHUNK, size - done)) if done < size else b""
            except OSError as exc:
                following, failed = b"", True
                self._skip(name, OSError(exc.errno, f"{exc.strerror}; stored only the first {done} bytes"))
            if deflate:
                future = self._pool.submit(_deflate, chunk, dictionary, self._level, final=not following)
                self._push("future", future)
                dictionary = chunk[-DICTIONARY:]
            else:
                self._push("bytes", chunk)
            chunk = following
        entry.size = done
        self._push("end", entry)
        return failed

    def _add_skipped_report(self) -> None:
        lines = [SKIPPED_HEADER]
        lines += [f"{_shown(skipped)}\t{reason}" for skipped, reason in self.stats.unreadable]
        self._add_report(SKIPPED_REPORT, ("\n".join(lines) + "\n").encode())

    def _add_renamed_report(self) -> None:
        renamed = [
            {"stored_as": stored.decode(), "original_name_hex": original.hex()}
            for stored, original in self.stats.renamed
        ]
        text = json.dumps({"note": RENAMED_NOTE, "renamed": renamed}, indent=1) + "\n"
        self._add_report(RENAMED_REPORT, text.encode())

    def _add_report(self, report: str, text: bytes) -> None:
        name = report.encode()
        stem, dot, suffix = name.rpartition(b".")
        counter = 1
        while name in self._root_names:
            name = b"%s-%d%s%s" % (stem, counter, dot, suffix)
            counter += 1
        self._root_names.add(name)
        entry = Entry(name, DEFLATED, stat.S_IFREG | 0o644, time.time())
        entry.crc, entry.size = zlib.crc32(text), len(text)
        data = zlib.compress(text, 6, -15)
        entry.compressed_size = len(data)
        self._push("header", entry)
        self._push("bytes", data)
        self._push("end", entry)

    def _push(self, kind: str, item: object) -> None:
        self._pending.append((kind, item))
        self._drain(self._window)

    def _drain(self, keep: int) -> None:
        while len(self._pending) > keep:
            kind, item = self._pending.popleft()
            if kind == "header":
                assert isinstance(item, Entry)  # noqa: S101 - the queue's own invariant
                item.offset = self._offset
                self._member = item
                self._write(item.local_header())
            elif kind == "end":
                assert isinstance(item, Entry)  # noqa: S101
                if item.streamed:
                    self._check_fits(item)
                    self._write(item.descriptor())
                self._central += item.central_record()
                self._entries += 1
            else:
                data = item.result() if isinstance(item, concurrent.futures.Future) else item
                assert isinstance(data, bytes)  # noqa: S101
                if self._member is not None and self._member.streamed:
                    self._member.compressed_size += len(data)
                self._write(data)

    @staticmethod
    def _check_fits(entry: Entry) -> None:
        if not entry.zip64 and max(entry.size, entry.compressed_size) >= LIMIT_32:
            raise OSError(f"{_shown(entry.name)} grew past 4 GiB while being zipped")  # pragma: no cover

    def _write(self, data: bytes) -> None:
        if data:
            self._sink.write(data)
            self._offset += len(data)


def _shown(name: bytes) -> str:
    return name.decode("utf-8", "backslashreplace")


def _exists(chain: DirChain, name: bytes) -> bool:
    """Return whether the current folder holds an entry named `name` (not following a symlink)."""
    try:
        os.lstat(name, dir_fd=chain.fd())
    except OSError:
        return False
    return True


def _numbered(name: bytes, counter: int) -> bytes:
    """Return `name` with `~counter` before its extension (`a.txt` -> `a~1.txt`, `.rc` -> `.rc~1`)."""
    stem, dot, suffix = name.rpartition(b".")
    if not dot or not stem:
        return b"%s~%d" % (name, counter)
    return b"%s~%d.%s" % (stem, counter, suffix)


def _check_unchanged(
    name: bytes,
    source: IO[bytes],
    before: os.stat_result,
    stored: int,
    report: Callable[[bytes, OSError | None], None],
) -> None:
    """Report the file when its bytes changed while it was zipped: cut short, grown or rewritten."""
    try:
        grew = bool(source.read(1))
        after = os.fstat(source.fileno())
    except OSError as exc:
        report(name, OSError(exc.errno, f"{exc.strerror}, after storing {stored} bytes"))
        return
    if stored < before.st_size or after.st_size < before.st_size:
        why = f"it was cut short while being zipped: {stored} of its {before.st_size} bytes are stored"
    elif grew or after.st_size > before.st_size:
        why = f"it grew while being zipped: its first {stored} bytes are stored, of {after.st_size} now"
    elif (after.st_mtime_ns, after.st_ctime_ns) != (before.st_mtime_ns, before.st_ctime_ns):
        why = f"it was written to while being zipped: its {stored} stored bytes may mix old and new"
    else:
        return
    report(name, OSError(0, why))
