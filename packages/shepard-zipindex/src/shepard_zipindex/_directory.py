"""Walk a zip's central directory in bounded memory: fetch it a chunk at a time, parse one entry at a time."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from shepard_zipindex._errors import CorruptZipError, TooManyMembersError, TruncatedZipError
from shepard_zipindex._records import (
    CENTRAL_HEADER,
    CENTRAL_SIGNATURE,
    DAMAGED,
    MASK16,
    MASK32,
    ZIP64_EXTRA_ID,
    decode_name,
    iter_extra,
    zip64_values,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DIRECTORY_CHUNK: Final = 8 * 1024 * 1024
"""The most central directory bytes fetched (and held) at once: about 100,000 typical entries."""
_HEADER: Final = CENTRAL_HEADER.size
_FIELDS: Final = struct.Struct("<4s4x2H4x3L4H6xL")
"""The central header fields read here: signature, flags, method, CRC-32, sizes, lengths, disk, offset."""
_COUNT_WRAP: Final = 0x10000
"""Writers without zip64 store the member count modulo 2**16 in the classic end record."""


Entry: TypeAlias = tuple[str, bytes, int, int, int, int, int, int, int, bytes]
"""A central directory entry as ZipMember's fields in order: ZipMember(*entry) builds the member."""


@dataclass(frozen=True, slots=True)
class Directory:
    """Where a zip's central directory lies and what its end record declares about it."""

    start: int
    end: int
    declared: int
    """The member count the end record declares."""
    concat: int
    """Bytes prepended to the zip (a self-extractor stub): add them to every offset the zip records."""
    zip64: bool
    """Whether the values come from a zip64 end record (whose count does not wrap)."""


def iter_directory(
    fetch: Callable[[int, int], bytes],
    directory: Directory,
    *,
    max_members: int,
    chunk: int = DIRECTORY_CHUNK,
) -> Iterator[Entry]:
    """Yield every entry of the directory, fetched `chunk` bytes at a time through `fetch`.

    Entries are parsed until the directory's bytes run out (as zip readers do), and the count found
    must match the declared one (modulo 2**16 for a classic end record, whose count field wraps).
    """
    end = directory.end
    concat = directory.concat
    buffer = b""
    buffer_start = directory.start
    pos = 0
    count = 0
    unpack = _FIELDS.unpack_from
    while buffer_start + pos < end:
        if count >= max_members:
            raise TooManyMembersError(_too_many(max_members))
        if pos + _HEADER > len(buffer):
            buffer_start += pos
            pos = 0
            buffer = _refill(
                fetch, buffer_start, min(end, buffer_start + max(chunk, _HEADER)), _HEADER, count
            )
        (
            signature,
            flags,
            method,
            crc,
            compressed_size,
            file_size,
            name_len,
            extra_len,
            comment_len,
            disk,
            offset,
        ) = unpack(buffer, pos)
        if signature != CENTRAL_SIGNATURE:
            raise CorruptZipError(
                f"The zip is damaged: entry {count + 1} of its list of members (at byte "
                f"{buffer_start + pos:,}) does not start with the marker every entry starts with. {DAMAGED}"
            )
        name_start = pos + _HEADER
        extra_start = name_start + name_len
        entry_end = extra_start + extra_len + comment_len
        if entry_end > len(buffer):
            length = entry_end - pos
            buffer_start += pos
            pos = 0
            buffer = _refill(fetch, buffer_start, min(end, buffer_start + max(chunk, length)), length, count)
            name_start = pos + _HEADER
            extra_start = name_start + name_len
            entry_end = extra_start + extra_len + comment_len
        raw_name = buffer[name_start:extra_start]
        if extra_len:
            extra = buffer[extra_start : extra_start + extra_len]
            fields = iter_extra(extra)
            name = decode_name(raw_name, flags, fields)
        else:
            extra = b""
            fields = {}
            name = raw_name.decode("ascii") if raw_name.isascii() else decode_name(raw_name, flags, fields)
        if MASK32 in {compressed_size, file_size, offset} or disk == MASK16:
            file_size, compressed_size, offset, disk = _zip64_fields(
                name, fields, (file_size, compressed_size, offset, disk)
            )
        yield (name, raw_name, flags, method, crc, compressed_size, file_size, offset + concat, disk, extra)
        pos = entry_end
        count += 1
    _check_count(count, directory.declared, zip64=directory.zip64)


def count_cap_error(declared: int, max_members: int) -> TooManyMembersError | None:
    """Return the error for a zip whose end record already declares more members than the cap, if it does."""
    return TooManyMembersError(_too_many(max_members, declared)) if declared > max_members else None


def _too_many(max_members: int, declared: int | None = None) -> str:
    holds = f"{declared:,} members" if declared is not None else f"more than {max_members:,} members"
    return (
        f"The zip holds {holds}; Shepard reads job zips of at most {max_members:,} members. Put the many "
        "small files in an inner archive (a zip or tar inside the job zip) and unpack it in the job, then "
        "upload the zip again."
    )


def _refill(fetch: Callable[[int, int], bytes], at: int, stop: int, need: int, count: int) -> bytes:
    """Fetch [at, stop) to parse on from `at` (the entry being parsed); insist on the `need` bytes."""
    buffer = fetch(at, stop)
    if len(buffer) < need:
        raise TruncatedZipError(
            f"The zip is damaged: entry {count + 1} of its list of members (at byte {at:,}) runs past the "
            f"end of that list. {DAMAGED}"
        )
    return buffer


def _zip64_fields(
    name: str, fields: dict[int, bytes], values: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """Replace the masked file size, compressed size, header offset and disk with their zip64 values."""
    file_size, compressed_size, offset, disk = values
    wanted = [
        (field, width)
        for field, width, value, mask in (
            ("file size", 8, file_size, MASK32),
            ("compressed size", 8, compressed_size, MASK32),
            ("header offset", 8, offset, MASK32),
            ("disk number", 4, disk, MASK16),
        )
        if value == mask
    ]
    big = zip64_values(fields.get(ZIP64_EXTRA_ID), wanted, f"the central directory entry of {name!r}")
    return (
        big.get("file size", file_size),
        big.get("compressed size", compressed_size),
        big.get("header offset", offset),
        big.get("disk number", disk),
    )


def _check_count(count: int, declared: int, *, zip64: bool) -> None:
    if count == declared or (not zip64 and count % _COUNT_WRAP == declared):
        return
    raise CorruptZipError(
        f"The zip contradicts itself: its end record says it holds {declared:,} members, but its "
        f"central directory lists {count:,}. {DAMAGED}"
    )
