"""Fetch a zip's tail and find, validate and resolve its end records (classic and zip64) in it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shepard_zipindex._errors import (
    CorruptZipError,
    MultiDiskArchiveError,
    NotAZipError,
    ReadFailedError,
    TruncatedZipError,
)
from shepard_zipindex._records import (
    CENTRAL_HEADER,
    CENTRAL_SIGNATURE,
    DAMAGED,
    END_RECORD,
    END_SIGNATURE,
    MAX_COMMENT,
    ZIP64_END_RECORD,
    ZIP64_END_SIGNATURE,
    ZIP64_LOCATOR,
    ZIP64_LOCATOR_SIGNATURE,
    EndRecord,
    parse_end_record,
)

if TYPE_CHECKING:
    from shepard_zipindex._readers import RangeReader

END_SEARCH: Final = END_RECORD.size + MAX_COMMENT
"""How far back from the end an end record can start (it is followed by a comment of at most 64 KiB)."""
END_RECORDS_MAX: Final = END_SEARCH + ZIP64_LOCATOR.size + ZIP64_END_RECORD.size
_MAX_ZIP64_RECORD: Final = 64 * 1024
_COUNT_WRAP: Final = 0x10000
_JOIN_PARTS: Final = (
    "Shepard reads only whole zips: join the parts (for example with `zip -s 0 split.zip --out whole.zip`) "
    "or zip the files again without splitting, then upload the zip."
)


class Tail:
    """The bytes read so far: one contiguous run ending at the end of the blob."""

    def __init__(self, reader: RangeReader, data: bytes, size: int) -> None:
        """Hold `data`, the last bytes of a blob of `size` bytes that `reader` serves."""
        self.reader = reader
        self.data = data
        self.size = size
        self.start = size - len(data)

    def covers(self, start: int, end: int) -> bool:
        """Tell whether [start, end) lies inside the held bytes."""
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
            f"The zip is shorter than its own records say: bytes {start:,} to {end:,} were needed, but only "
            f"{len(data):,} of them are there. {DAMAGED}"
        )
    return data


def read_tail(reader: RangeReader, length: int) -> Tail:
    """Read the last `length` bytes of the blob (all of it, if shorter)."""
    data, size = reader.read_suffix(length)
    if size < 0 or len(data) != min(length, size):
        raise ReadFailedError(
            f"Reading the end of the zip failed: {reader!r} returned {len(data):,} bytes when asked for "
            f"the last {length:,} bytes of a {size:,}-byte file."
        )
    return Tail(reader, data, size)


def not_a_zip(tail: Tail) -> NotAZipError:
    """Return the error for a blob in whose tail no valid end record was found."""
    if tail.size == 0:
        return NotAZipError("The file is empty (0 bytes), so it is not a zip: upload the job's zip again.")
    if tail.size < END_RECORD.size:
        return NotAZipError(
            f"The file is only {tail.size} bytes long, too short to be a zip: upload the job's zip again."
        )
    return NotAZipError(
        "The file is not a zip, or it was cut short: a zip ends with a record that lists its contents "
        f"(the end of central directory record), and none was found in its last "
        f"{min(tail.size, END_SEARCH):,} bytes. Check that the upload finished and that the file really "
        "is a zip (not, say, a .tar.gz or .7z file renamed to .zip), then upload it again."
    )


def find_end_record(tail: Tail) -> EndRecord | None:
    """Scan backwards for end records; the earliest valid one wins (later ones sit in its comment)."""
    data = tail.data
    lowest = max(0, len(data) - END_SEARCH)
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
                flaw = (
                    f"The zip is damaged: the record that ends it (at byte {record.position:,}) {problem}. "
                    f"{DAMAGED}"
                )
        pos -= 1
    if found is None and flaw is not None:
        raise CorruptZipError(flaw)
    return found


def _inconsistency(tail: Tail, record: EndRecord) -> str | None:
    """Say what is wrong with a candidate end record's counts, sizes or directory signature, if anything."""
    if record.needs_zip64() or _has_locator(tail, record.position) or record.disk or record.directory_disk:
        return None
    directory_start = record.position - record.directory_size
    problem = None
    if record.entries_on_disk > record.entries:
        problem = (
            f"counts more members on its disk ({record.entries_on_disk:,}) than in all ({record.entries:,})"
        )
    elif directory_start < 0:
        problem = (
            f"gives its list of members a size ({record.directory_size:,} bytes) that would start it before "
            "the beginning of the file"
        )
    elif record.entries * CENTRAL_HEADER.size > record.directory_size:
        problem = (
            f"says it holds {record.entries:,} members, which cannot fit in its "
            f"{record.directory_size:,}-byte list of members"
        )
    elif record.entries == 0 and 0 < record.directory_size < _COUNT_WRAP * CENTRAL_HEADER.size:
        problem = f"says it holds no members but has a {record.directory_size:,}-byte list of members"
    elif (
        record.directory_size
        and tail.covers(directory_start, directory_start + 4)
        and tail.fetch(directory_start, directory_start + 4) != CENTRAL_SIGNATURE
    ):
        problem = f"points to a list of members at byte {directory_start:,} that is not there"
    return problem


def _has_locator(tail: Tail, position: int) -> bool:
    start = position - ZIP64_LOCATOR.size
    return tail.covers(start, position) and tail.fetch(start, start + 4) == ZIP64_LOCATOR_SIGNATURE


def resolve_zip64(tail: Tail, end: EndRecord) -> tuple[EndRecord, int, bool]:
    """Fold the zip64 end record's values in; return the record, where the end records start, and zip64."""
    locator_start = end.position - ZIP64_LOCATOR.size
    if locator_start < 0:
        return end, end.position, False
    if not tail.covers(locator_start, end.position):
        if not end.needs_zip64():
            return end, end.position, False
        tail.extend_to(locator_start)
    locator = tail.fetch(locator_start, end.position)
    signature, locator_disk, record_offset, disks = ZIP64_LOCATOR.unpack(locator)
    if signature != ZIP64_LOCATOR_SIGNATURE:
        if end.needs_zip64():
            raise CorruptZipError(
                "The zip is damaged: the record that ends it says its sizes are kept in a zip64 end record, "
                f"but the zip64 locator that points to that record is missing. {DAMAGED}"
            )
        return end, end.position, False
    if locator_disk != 0 or disks > 1:
        raise MultiDiskArchiveError(f"The zip is one part of a split archive of {disks} parts. {_JOIN_PARTS}")
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
            raise CorruptZipError(
                f"The zip is damaged: there is no zip64 end record at byte {record_offset:,}, where its "
                f"locator points. {DAMAGED}"
            )
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
    return zip64_end, record_start, True


def _zip64_record_at(tail: Tail, start: int, locator_start: int) -> bool:
    tail.extend_to(start)
    head = tail.fetch(start, start + ZIP64_END_RECORD.size)
    if head[:4] != ZIP64_END_SIGNATURE:
        return False
    record_size = int.from_bytes(head[4:12], "little")
    return record_size >= ZIP64_END_RECORD.size - 12 and start + 12 + record_size == locator_start


def check_single_disk(end: EndRecord) -> None:
    """Refuse a zip that is one part of a split (multi-disk) archive."""
    if end.disk != 0 or end.directory_disk != 0 or end.entries_on_disk != end.entries:
        raise MultiDiskArchiveError(
            f"The zip is part {end.disk + 1} of a split (multi-disk) archive. {_JOIN_PARTS}"
        )
