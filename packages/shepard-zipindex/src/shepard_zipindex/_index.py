"""Index a zip from its tail and read single members with as few ranged reads as possible."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final

from shepard_zipindex._decompress import AES_ENCRYPTED, STORED, check_method, compressed_bound, decompress
from shepard_zipindex._errors import (
    CorruptZipError,
    CRCMismatchError,
    DirectoryTooLargeError,
    DuplicateMemberError,
    EncryptedMemberError,
    MemberNotFoundError,
    MemberTooLargeError,
    MultiDiskArchiveError,
    NotAZipError,
    ReadFailedError,
    TruncatedZipError,
)
from shepard_zipindex._inputs import locate_inputs
from shepard_zipindex._records import (
    CENTRAL_HEADER,
    CENTRAL_SIGNATURE,
    END_RECORD,
    END_SIGNATURE,
    FLAG_DATA_DESCRIPTOR,
    LOCAL_HEADER,
    LOCAL_SIGNATURE,
    MASK32,
    MAX_COMMENT,
    ZIP64_END_RECORD,
    ZIP64_END_SIGNATURE,
    ZIP64_EXTRA_ID,
    ZIP64_LOCATOR,
    ZIP64_LOCATOR_SIGNATURE,
    EndRecord,
    ZipMember,
    iter_extra,
    parse_central_directory,
    parse_end_record,
    zip64_values,
)

if TYPE_CHECKING:
    from shepard_zipindex._readers import RangeReader

SUFFIX_LENGTH: Final = 64 * 1024
"""The first read: the last 64 KiB usually hold the end records and the whole central directory."""
MAX_DIRECTORY_SIZE: Final = 256 * 1024 * 1024
"""The largest central directory ZipIndex.open fetches by default (about 2.5 million members)."""
DEFAULT_MAX_SIZE: Final = 1 << 20
"""The largest decompressed member ZipIndex.read returns by default."""
LOCAL_EXTRA_SLACK: Final = 1024
"""Bytes fetched beyond the central extra field's length, for a local extra field that is longer."""
_END_SEARCH: Final = END_RECORD.size + MAX_COMMENT
_END_RECORDS_MAX: Final = _END_SEARCH + ZIP64_LOCATOR.size + ZIP64_END_RECORD.size
_MAX_ZIP64_RECORD: Final = 64 * 1024


class _Tail:
    """The bytes read so far: one contiguous run ending at the end of the blob."""

    def __init__(self, reader: RangeReader, data: bytes, size: int) -> None:
        self.reader = reader
        self.data = data
        self.size = size
        self.start = size - len(data)

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start <= end <= self.size

    def extend_to(self, start: int) -> None:
        """Read whatever lies between `start` and the bytes already held (one read, if any)."""
        if start < self.start:
            self.data = read_exact(self.reader, start, self.start) + self.data
            self.start = start

    def fetch(self, start: int, end: int) -> bytes:
        """Return [start, end), reading only the part before the held bytes (one read at most)."""
        if start >= self.start:
            return self.data[start - self.start : end - self.start]
        if end <= self.start:
            return read_exact(self.reader, start, end)
        return read_exact(self.reader, start, self.start) + self.data[: end - self.start]


def read_exact(reader: RangeReader, start: int, end: int) -> bytes:
    """Read [start, end) and insist on getting every byte."""
    data = reader.read_range(start, end)
    if len(data) != end - start:
        raise TruncatedZipError(
            f"asked for bytes [{start}, {end}) but got {len(data)} bytes: the zip is shorter than it says"
        )
    return data


class ZipIndex:
    """A zip's central directory, fetched from its tail, and single-member reads through a RangeReader."""

    def __init__(
        self, reader: RangeReader, tail: _Tail, end: EndRecord, directory_start: int, members: list[ZipMember]
    ) -> None:
        """Hold what ZipIndex.open learnt; use ZipIndex.open rather than this."""
        self.reader = reader
        self._tail = tail
        self.end_record = end
        self.directory_start = directory_start
        self._members = members
        self._by_name: dict[str, list[ZipMember]] = {}
        for member in members:
            self._by_name.setdefault(member.name, []).append(member)

    @classmethod
    def open(
        cls,
        reader: RangeReader,
        *,
        suffix_length: int = SUFFIX_LENGTH,
        max_directory_size: int = MAX_DIRECTORY_SIZE,
    ) -> ZipIndex:
        """Read the end record(s) and the central directory: one suffix read, more only if they don't fit."""
        if suffix_length < END_RECORD.size:
            raise ValueError(f"suffix_length must be at least {END_RECORD.size}, not {suffix_length}")
        tail = _read_tail(reader, suffix_length)
        if tail.size == 0:
            raise NotAZipError("the input is empty (0 bytes), not a zip")
        if tail.size < END_RECORD.size:
            raise NotAZipError(f"the input is {tail.size} bytes long: too short to be a zip")
        end = _find_end_record(tail)
        if end is None and tail.start > 0 and len(tail.data) < _END_SEARCH:
            # A comment longer than the first suffix: look once more, as far back as a comment can reach.
            # As much before the end records as the first read would have held, so the directory still fits.
            tail = _read_tail(reader, suffix_length + _END_RECORDS_MAX)
            end = _find_end_record(tail)
        if end is None:
            raise NotAZipError(
                f"no valid end of central directory record in the last {min(tail.size, _END_SEARCH)} bytes: "
                "the input is not a zip, or it is truncated"
            )
        end, records_start = _resolve_zip64(tail, end)
        _check_single_disk(end)
        concat = records_start - end.directory_size - end.directory_offset
        if concat < 0:
            raise CorruptZipError(
                f"the central directory (offset {end.directory_offset}, {end.directory_size} bytes) "
                f"overlaps the end record at {records_start}"
            )
        if end.directory_size > max_directory_size:
            raise DirectoryTooLargeError(
                f"the central directory is {end.directory_size} bytes, more than the "
                f"max_directory_size={max_directory_size} this reader accepts"
            )
        if end.entries * CENTRAL_HEADER.size > end.directory_size:
            raise CorruptZipError(
                f"the end record declares {end.entries} entries, which cannot fit in a "
                f"{end.directory_size}-byte central directory"
            )
        directory_start = records_start - end.directory_size
        tail.extend_to(directory_start)
        directory = tail.fetch(directory_start, records_start)
        members = parse_central_directory(directory, end.entries, directory_start, concat)
        return cls(reader, tail, end, directory_start, members)

    @property
    def size(self) -> int:
        """The zip's total size in bytes."""
        return self._tail.size

    @property
    def comment(self) -> bytes:
        """The archive comment."""
        return self.end_record.comment

    def __len__(self) -> int:
        """Count the central directory entries."""
        return len(self._members)

    def __contains__(self, name: object) -> bool:
        """Tell whether a member has this name."""
        return name in self._by_name

    def names(self) -> list[str]:
        """Return every member's name in central directory order (folders end with '/')."""
        return [m.name for m in self._members]

    def members(self) -> list[ZipMember]:
        """Return every central directory entry in order."""
        return list(self._members)

    def info(self, name: str) -> ZipMember:
        """Return the one entry named `name`."""
        found = self._by_name.get(name)
        if not found:
            raise MemberNotFoundError(f"the zip has no member named {name!r}")
        if len(found) > 1:
            raise DuplicateMemberError(f"the zip holds {len(found)} members named {name!r}")
        return found[0]

    def find_inputs(self) -> str:
        """Return the name of the job's inputs.txt: at the root, else in the zip's single top-level folder."""
        return locate_inputs(self.names())

    def read(self, name: str, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
        """Return the member's decompressed, CRC-checked bytes; refuse any member over max_size bytes."""
        if max_size < 0:
            raise ValueError(f"max_size must be >= 0, not {max_size}")
        member = self.info(name)
        _check_readable(member)
        if member.file_size > max_size:
            raise MemberTooLargeError(f"{name!r} is {member.file_size} bytes, more than max_size={max_size}")
        if member.compress_type == STORED and member.compressed_size != member.file_size:
            raise CorruptZipError(
                f"{name!r} is stored but its sizes differ ({member.compressed_size} != {member.file_size})"
            )
        if member.compressed_size > compressed_bound(max_size):
            raise MemberTooLargeError(
                f"{name!r} has {member.compressed_size} compressed bytes, more than any member of at most "
                f"max_size={max_size} bytes needs"
            )
        data = self._member_data(member)
        content = decompress(member.compress_type, data, name, max_size)
        if len(content) != member.file_size:
            raise CorruptZipError(
                f"{name!r} decompresses to {len(content)} bytes but its header says {member.file_size}"
            )
        crc = zlib.crc32(content)
        if crc != member.crc:
            raise CRCMismatchError(
                f"{name!r}: CRC-32 of the data is {crc:08x} but the header says {member.crc:08x}"
            )
        return content

    def _member_data(self, member: ZipMember) -> bytes:
        """Fetch the local header and compressed data: one read unless the local extra field is long."""
        start = member.header_offset
        if start + LOCAL_HEADER.size > self.directory_start:
            raise CorruptZipError(
                f"{member.name!r}: its local header offset {start} is not before the central directory"
            )
        guess_end = min(
            self.directory_start,
            start
            + LOCAL_HEADER.size
            + len(member.raw_name)
            + len(member.extra)
            + LOCAL_EXTRA_SLACK
            + member.compressed_size,
        )
        chunk = self._tail.fetch(start, guess_end)
        (signature, _needed, flags, _method, _time, _date, _crc, csize, usize, name_len, extra_len) = (
            LOCAL_HEADER.unpack_from(chunk)
        )
        if signature != LOCAL_SIGNATURE:
            raise CorruptZipError(f"{member.name!r}: no local header at offset {start}")
        data_start = LOCAL_HEADER.size + name_len + extra_len
        data_end = data_start + member.compressed_size
        if start + data_end > self.directory_start:
            raise CorruptZipError(f"{member.name!r}: its data runs into the central directory")
        if data_end > len(chunk):
            chunk += self._tail.fetch(start + len(chunk), start + data_end)
        local_name = chunk[LOCAL_HEADER.size : LOCAL_HEADER.size + name_len]
        if local_name != member.raw_name:
            raise CorruptZipError(
                f"{member.name!r}: the local header names {local_name!r} instead (the zip is corrupt)"
            )
        if not flags & FLAG_DATA_DESCRIPTOR:
            extra = chunk[LOCAL_HEADER.size + name_len : data_start]
            _check_local_sizes(member, csize, usize, extra)
        return chunk[data_start:data_end]


def _read_tail(reader: RangeReader, length: int) -> _Tail:
    data, size = reader.read_suffix(length)
    if size < 0 or len(data) != min(length, size):
        raise ReadFailedError(
            f"{reader!r} returned {len(data)} bytes for the last {length} bytes of a {size}-byte blob"
        )
    return _Tail(reader, data, size)


def _find_end_record(tail: _Tail) -> EndRecord | None:
    """Scan backwards for end records; the earliest valid one wins (later ones sit in its comment)."""
    data = tail.data
    lowest = max(0, len(data) - _END_SEARCH)
    pos = len(data) - END_RECORD.size
    found: EndRecord | None = None
    flaw: str | None = None
    # A record (with its comment) must end exactly at the end, or be followed by zeros only: bsdtar pads
    # what it writes to a pipe.
    padding_start = len(data.rstrip(b"\0"))
    while pos >= lowest:
        pos = data.rfind(END_SIGNATURE, lowest, pos + len(END_SIGNATURE))
        if pos < 0:
            break
        record_end = pos + END_RECORD.size + int.from_bytes(data[pos + 20 : pos + 22], "little")
        if padding_start <= record_end <= len(data):
            record = parse_end_record(data, pos, tail.start + pos)
            problem = _inconsistency(tail, record)
            if problem is None:
                found = record
            else:
                flaw = f"the end of central directory record at {record.position} {problem}"
        pos -= 1
    if found is None and flaw is not None:
        raise CorruptZipError(flaw)
    return found


def _inconsistency(tail: _Tail, record: EndRecord) -> str | None:
    """Say what is wrong with a candidate end record's counts, sizes or directory signature, if anything."""
    if record.needs_zip64() or _has_locator(tail, record.position) or record.disk or record.directory_disk:
        return None
    directory_start = record.position - record.directory_size
    problem = None
    if record.entries_on_disk > record.entries:
        problem = f"counts more entries on its disk ({record.entries_on_disk}) than in all ({record.entries})"
    elif directory_start < 0:
        problem = f"declares a {record.directory_size}-byte central directory that starts before the input"
    elif record.entries * CENTRAL_HEADER.size > record.directory_size:
        problem = (
            f"declares {record.entries} entries, which cannot fit in a {record.directory_size}-byte "
            "central directory"
        )
    elif record.entries == 0 and record.directory_size:
        problem = f"declares no entries but a {record.directory_size}-byte central directory"
    elif (
        record.entries
        and tail.covers(directory_start, directory_start + 4)
        and tail.fetch(directory_start, directory_start + 4) != CENTRAL_SIGNATURE
    ):
        problem = f"points to a central directory at {directory_start} that is not there"
    return problem


def _has_locator(tail: _Tail, position: int) -> bool:
    start = position - ZIP64_LOCATOR.size
    return tail.covers(start, position) and tail.fetch(start, start + 4) == ZIP64_LOCATOR_SIGNATURE


def _resolve_zip64(tail: _Tail, end: EndRecord) -> tuple[EndRecord, int]:
    """Fold the zip64 end record's values in; return the record and where the end records start."""
    locator_start = end.position - ZIP64_LOCATOR.size
    if locator_start < 0:
        return end, end.position
    if not tail.covers(locator_start, end.position):
        if not end.needs_zip64():
            return end, end.position
        tail.extend_to(locator_start)
    locator = tail.fetch(locator_start, end.position)
    signature, locator_disk, record_offset, disks = ZIP64_LOCATOR.unpack(locator)
    if signature != ZIP64_LOCATOR_SIGNATURE:
        if end.needs_zip64():
            raise CorruptZipError("the end record points to zip64 values but there is no zip64 locator")
        return end, end.position
    if locator_disk != 0 or disks > 1:
        raise MultiDiskArchiveError(f"the zip spans {disks} disks (a split archive); only single files work")
    # The zip64 record normally sits right before its locator; fall back to where the locator points.
    record_start = locator_start - ZIP64_END_RECORD.size
    if record_start < 0 or not _zip64_record_at(tail, record_start, locator_start):
        record_start = record_offset
        too_far = locator_start - record_start > _MAX_ZIP64_RECORD
        if (
            too_far
            or not 0 <= record_start <= locator_start - ZIP64_END_RECORD.size
            or not _zip64_record_at(tail, record_start, locator_start)
        ):
            raise CorruptZipError(f"no zip64 end record where its locator points ({record_offset})")
    (_sig, _record_size, _made_by, _needed, disk, cd_disk, entries_disk, entries, cd_size, cd_offset) = (
        ZIP64_END_RECORD.unpack(tail.fetch(record_start, record_start + ZIP64_END_RECORD.size))
    )
    zip64_end = EndRecord(
        position=end.position,
        disk=disk,
        directory_disk=cd_disk,
        entries_on_disk=entries_disk,
        entries=entries,
        directory_size=cd_size,
        directory_offset=cd_offset,
        comment=end.comment,
    )
    return zip64_end, record_start


def _zip64_record_at(tail: _Tail, start: int, locator_start: int) -> bool:
    tail.extend_to(start)
    head = tail.fetch(start, start + ZIP64_END_RECORD.size)
    if head[:4] != ZIP64_END_SIGNATURE:
        return False
    record_size = int.from_bytes(head[4:12], "little")
    return record_size >= ZIP64_END_RECORD.size - 12 and start + 12 + record_size == locator_start


def _check_single_disk(end: EndRecord) -> None:
    if end.disk != 0 or end.directory_disk != 0 or end.entries_on_disk != end.entries:
        raise MultiDiskArchiveError(
            f"the zip is part {end.disk + 1} of a split (multi-disk) archive; only single files work"
        )


def _check_readable(member: ZipMember) -> None:
    if member.is_encrypted or member.compress_type == AES_ENCRYPTED:
        raise EncryptedMemberError(f"{member.name!r} is encrypted; encrypted members are not supported")
    if member.disk != 0:
        raise MultiDiskArchiveError(f"{member.name!r} starts on disk {member.disk} of a split archive")
    check_method(member.compress_type, member.name)


def _check_local_sizes(member: ZipMember, csize: int, usize: int, extra: bytes) -> None:
    """Insist that a local header without a data descriptor agrees with the central directory."""
    if MASK32 in (csize, usize):
        payload = iter_extra(extra).get(ZIP64_EXTRA_ID)
        wanted = [("file size", 8), ("compressed size", 8)]
        values = zip64_values(payload, wanted, f"local header of {member.name!r}")
        usize, csize = values["file size"], values["compressed size"]
    if (csize, usize) != (member.compressed_size, member.file_size) and (csize, usize) != (0, 0):
        raise CorruptZipError(
            f"{member.name!r}: the local header's sizes ({csize}, {usize}) disagree with the central "
            f"directory's ({member.compressed_size}, {member.file_size})"
        )
