"""Index a zip from its tail in bounded memory; read single members with as few ranged reads as possible."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final

from shepard_zipindex._decompress import AES_ENCRYPTED, STORED, check_method, compressed_bound, decompress
from shepard_zipindex._directory import DIRECTORY_CHUNK, Directory, count_cap_error, iter_directory
from shepard_zipindex._errors import (
    CorruptZipError,
    CRCMismatchError,
    DirectoryTooLargeError,
    DuplicateMemberError,
    EncryptedMemberError,
    MemberNotFoundError,
    MemberTooLargeError,
    MultiDiskArchiveError,
)
from shepard_zipindex._inputs import INPUTS_NAME, InputsLocator
from shepard_zipindex._records import (
    CENTRAL_HEADER,
    DAMAGED,
    END_RECORD,
    FLAG_DATA_DESCRIPTOR,
    LOCAL_HEADER,
    LOCAL_SIGNATURE,
    MASK32,
    ZIP64_EXTRA_ID,
    EndRecord,
    ZipMember,
    iter_extra,
    zip64_values,
)
from shepard_zipindex._tail import (
    END_RECORDS_MAX,
    END_SEARCH,
    Tail,
    check_single_disk,
    find_end_record,
    not_a_zip,
    read_tail,
    resolve_zip64,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shepard_zipindex._directory import Entry
    from shepard_zipindex._readers import RangeReader

SUFFIX_LENGTH: Final = 64 * 1024
"""The first read: the last 64 KiB usually hold the end records and the whole central directory."""
MAX_DIRECTORY_SIZE: Final = 256 * 1024 * 1024
"""The largest central directory ZipIndex.open reads by default (in chunks, never all at once)."""
MAX_MEMBERS: Final = 1_000_000
"""The most members ZipIndex.open accepts by default: scanning a million entries takes a few seconds."""
DEFAULT_MAX_SIZE: Final = 1 << 20
"""The largest decompressed member ZipIndex.read returns by default."""
LOCAL_EXTRA_SLACK: Final = 1024
"""Bytes fetched beyond the central extra field's length, for a local extra field that is longer."""
_KEPT_CANDIDATES: Final = 8
"""How many distinct inputs.txt-like names open() remembers the entries of (enough for any answer)."""
_NESTED_INPUTS: Final = "/" + INPUTS_NAME
_SMALLER: Final = "make it smaller (keep large data in other files of the zip), then upload the zip again"


class ZipIndex:
    """A zip's central directory, scanned from its tail, and single-member reads through a RangeReader.

    Opening scans the directory once, a chunk at a time, keeping only its count and what find_inputs
    needs; a directory of at most chunk_size bytes is also kept, so that listing it costs no read.
    """

    def __init__(
        self, reader: RangeReader, tail: Tail, end: EndRecord, directory: Directory, *, chunk_size: int
    ) -> None:
        """Hold what ZipIndex.open learnt; use ZipIndex.open rather than this."""
        self.reader = reader
        self._tail = tail
        self.end_record = end
        self.directory_start = directory.start
        self._directory = directory
        self._chunk_size = chunk_size
        self._max_members = end.entries
        self._count = 0
        self._locator = InputsLocator()
        self._candidates: dict[str, list[ZipMember]] = {}

    @classmethod
    def open(
        cls,
        reader: RangeReader,
        *,
        suffix_length: int = SUFFIX_LENGTH,
        max_directory_size: int = MAX_DIRECTORY_SIZE,
        max_members: int = MAX_MEMBERS,
        chunk_size: int = DIRECTORY_CHUNK,
    ) -> ZipIndex:
        """Read the end record(s) and scan the central directory: one suffix read, more only if needed.

        The directory is fetched `chunk_size` bytes per read and parsed as it comes, so memory stays
        within a few chunks whatever the member count; a directory of at most `chunk_size` bytes is
        fetched with one read and kept.
        """
        if suffix_length < END_RECORD.size:
            raise ValueError(f"suffix_length must be at least {END_RECORD.size}, not {suffix_length}")
        if chunk_size < CENTRAL_HEADER.size:
            raise ValueError(f"chunk_size must be at least {CENTRAL_HEADER.size}, not {chunk_size}")
        tail = read_tail(reader, suffix_length)
        if tail.size < END_RECORD.size:
            raise not_a_zip(tail)
        end = find_end_record(tail)
        if end is None and tail.start > 0 and len(tail.data) < END_SEARCH:
            # A comment longer than the first suffix: look once more, as far back as a comment can reach.
            # As much before the end records as the first read would have held, so the directory still fits.
            tail = read_tail(reader, suffix_length + END_RECORDS_MAX)
            end = find_end_record(tail)
        if end is None:
            raise not_a_zip(tail)
        end, records_start, zip64 = resolve_zip64(tail, end)
        check_single_disk(end)
        directory_start = records_start - end.directory_size
        _check_directory(end, records_start, max_directory_size, max_members)
        if end.directory_size <= chunk_size:
            tail.extend_to(directory_start)
        directory = Directory(
            start=directory_start,
            end=records_start,
            declared=end.entries,
            concat=directory_start - end.directory_offset,
            zip64=zip64,
        )
        index = cls(reader, tail, end, directory, chunk_size=chunk_size)
        index._scan(max_members)
        return index

    def _scan(self, max_members: int) -> None:
        """Count the entries and feed their names to the inputs locator, remembering inputs.txt's entries."""
        add = self._locator.add
        candidates = self._candidates
        count = 0
        for entry in self._iter(max_members):
            name = entry[0]
            count += 1
            add(name)
            if name == INPUTS_NAME or (name.endswith(_NESTED_INPUTS) and name.count("/") == 1):
                kept = candidates.get(name)
                if kept is None and (len(candidates) < _KEPT_CANDIDATES or name == INPUTS_NAME):
                    candidates[name] = kept = []
                if kept is not None and len(kept) < 2:  # noqa: PLR2004 - two already make it ambiguous
                    kept.append(ZipMember(*entry))
        self._count = count
        self._max_members = max_members

    def _iter(self, max_members: int) -> Iterator[Entry]:
        return iter_directory(
            self._tail.fetch, self._directory, max_members=max_members, chunk=self._chunk_size
        )

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
        return self._count

    def __contains__(self, name: object) -> bool:
        """Tell whether a member has this name (scanning the directory again unless open() kept it)."""
        if not isinstance(name, str):
            return False
        return name in self._candidates or any(entry[0] == name for entry in self._iter(self._max_members))

    def iter_members(self) -> Iterator[ZipMember]:
        """Yield every central directory entry in order (reading again a directory larger than chunk_size)."""
        for entry in self._iter(self._max_members):
            yield ZipMember(*entry)

    def names(self) -> list[str]:
        """Return every member's name in central directory order (folders end with '/')."""
        return [entry[0] for entry in self._iter(self._max_members)]

    def members(self) -> list[ZipMember]:
        """Return every central directory entry in order."""
        return list(self.iter_members())

    def info(self, name: str) -> ZipMember:
        """Return the one entry named `name`."""
        found = self._candidates.get(name)
        if found is None:
            found = []
            for entry in self._iter(self._max_members):
                if entry[0] == name:
                    found.append(ZipMember(*entry))
                    if len(found) > 1:
                        break
        if not found:
            raise MemberNotFoundError(
                f"The zip has no member named {name!r} (names are case-sensitive, and a file in a folder is "
                "named with its folder, as in 'folder/file')."
            )
        if len(found) > 1:
            raise DuplicateMemberError(
                f"The zip holds more than one member named {name!r}, so it is not clear which one to read: "
                "keep exactly one, then upload the zip again."
            )
        return found[0]

    def find_inputs(self) -> str:
        """Return the name of the job's inputs.txt: at the root, else in the zip's single top-level folder."""
        return self._locator.result()

    def read(self, name: str, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
        """Return the member's decompressed, CRC-checked bytes; refuse any member over max_size bytes."""
        if max_size < 0:
            raise ValueError(f"max_size must be >= 0, not {max_size}")
        member = self.info(name)
        _check_readable(member)
        if member.file_size > max_size:
            raise MemberTooLargeError(
                f"{name!r} is {member.file_size:,} bytes, more than the {max_size:,} bytes that may be read "
                f"from it: {_SMALLER}."
            )
        if member.compress_type == STORED and member.compressed_size != member.file_size:
            raise CorruptZipError(
                f"The zip is damaged: {name!r} is stored uncompressed, yet its header gives two different "
                f"sizes ({member.compressed_size:,} and {member.file_size:,} bytes). {DAMAGED}"
            )
        if member.compressed_size > compressed_bound(max_size):
            raise MemberTooLargeError(
                f"{name!r} takes {member.compressed_size:,} compressed bytes, so it holds more than the "
                f"{max_size:,} bytes that may be read from it: {_SMALLER}."
            )
        data = self._member_data(member)
        content = decompress(member.compress_type, data, name, max_size)
        if len(content) != member.file_size:
            raise CorruptZipError(
                f"The zip is damaged: {name!r} decompresses to {len(content):,} bytes, but its header says "
                f"{member.file_size:,}. {DAMAGED}"
            )
        crc = zlib.crc32(content)
        if crc != member.crc:
            raise CRCMismatchError(
                f"The zip is damaged: the content of {name!r} does not match its checksum (CRC-32 {crc:08x}, "
                f"expected {member.crc:08x}). {DAMAGED}"
            )
        return content

    def _member_data(self, member: ZipMember) -> bytes:
        """Fetch the local header and compressed data: one read unless the local extra field is long."""
        start = member.header_offset
        if start + LOCAL_HEADER.size > self.directory_start:
            raise CorruptZipError(
                f"The zip is damaged: its list of members places {member.name!r} at byte {start:,}, which is "
                f"not before the list itself. {DAMAGED}"
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
            raise CorruptZipError(
                f"The zip is damaged: {member.name!r} should start at byte {start:,}, but its local header "
                f"is not there. {DAMAGED}"
            )
        data_start = LOCAL_HEADER.size + name_len + extra_len
        data_end = data_start + member.compressed_size
        if start + data_end > self.directory_start:
            raise CorruptZipError(
                f"The zip is damaged: the data of {member.name!r} runs into its list of members. {DAMAGED}"
            )
        if data_end > len(chunk):
            chunk += self._tail.fetch(start + len(chunk), start + data_end)
        local_name = chunk[LOCAL_HEADER.size : LOCAL_HEADER.size + name_len]
        if local_name != member.raw_name:
            raise CorruptZipError(
                f"The zip is damaged: the local header of {member.name!r} names {local_name!r} instead. "
                f"{DAMAGED}"
            )
        if not flags & FLAG_DATA_DESCRIPTOR:
            extra = chunk[LOCAL_HEADER.size + name_len : data_start]
            _check_local_sizes(member, csize, usize, extra)
        return chunk[data_start:data_end]


def _check_directory(end: EndRecord, records_start: int, max_directory_size: int, max_members: int) -> None:
    """Refuse, before reading it, a directory that overlaps its end records, is over a cap, or cannot fit."""
    if records_start - end.directory_size - end.directory_offset < 0:
        raise CorruptZipError(
            f"The zip is damaged: its list of members (at byte {end.directory_offset:,}, "
            f"{end.directory_size:,} bytes) overlaps the record that ends it, at byte {records_start:,}. "
            f"{DAMAGED}"
        )
    if end.directory_size > max_directory_size:
        raise DirectoryTooLargeError(
            f"The zip's list of members (its central directory) is {end.directory_size:,} bytes, more than "
            f"the {max_directory_size:,} bytes Shepard reads (max_directory_size): the zip holds too many "
            "files, or names that are too long. Put the many small files in an inner archive (a zip or tar "
            "inside the job zip) and unpack it in the job, then upload the zip again."
        )
    too_many = count_cap_error(end.entries, max_members)
    if too_many is not None:
        raise too_many
    if end.entries * CENTRAL_HEADER.size > end.directory_size:
        raise CorruptZipError(
            f"The zip is damaged: the record that ends it says it holds {end.entries:,} members, which "
            f"cannot fit in its {end.directory_size:,}-byte list of members. {DAMAGED}"
        )


def _check_readable(member: ZipMember) -> None:
    if member.is_encrypted or member.compress_type == AES_ENCRYPTED:
        raise EncryptedMemberError(
            f"{member.name!r} is encrypted (password-protected), and Shepard cannot read encrypted files: "
            "zip the job's files again without a password, then upload the zip."
        )
    if member.disk != 0:
        raise MultiDiskArchiveError(
            f"{member.name!r} starts on part {member.disk + 1} of a split archive; Shepard reads only whole "
            "zips: join the parts (for example with `zip -s 0 split.zip --out whole.zip`) or zip the files "
            "again without splitting, then upload the zip."
        )
    check_method(member.compress_type, member.name)


def _check_local_sizes(member: ZipMember, csize: int, usize: int, extra: bytes) -> None:
    """Insist that a local header without a data descriptor agrees with the central directory."""
    if MASK32 in (csize, usize):
        payload = iter_extra(extra).get(ZIP64_EXTRA_ID)
        wanted = [("file size", 8), ("compressed size", 8)]
        values = zip64_values(payload, wanted, f"the local header of {member.name!r}")
        usize, csize = values["file size"], values["compressed size"]
    if (csize, usize) != (member.compressed_size, member.file_size) and (csize, usize) != (0, 0):
        raise CorruptZipError(
            f"The zip is damaged: the local header of {member.name!r} gives sizes ({csize:,} compressed, "
            f"{usize:,} uncompressed) that disagree with its list of members ({member.compressed_size:,}, "
            f"{member.file_size:,}). {DAMAGED}"
        )
