"""The records of a streamed zip (APPNOTE 6.3): local headers, data descriptors, central directory, zip64."""

from __future__ import annotations

import dataclasses
import stat
import struct
import time
from typing import Final

STORED: Final = 0
DEFLATED: Final = 8
FLAG_DATA_DESCRIPTOR: Final = 0x08
FLAG_UTF8: Final = 0x800
LIMIT_32: Final = 0xFFFFFFFF
LIMIT_16: Final = 0xFFFF
UNIX: Final = 3
MSDOS_DIRECTORY: Final = 0x10
ZIP64_VERSION: Final = 45
BASE_VERSION: Final = 20

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_DESCRIPTOR = struct.Struct("<IIII")
_DESCRIPTOR_64 = struct.Struct("<IIQQ")
_END = struct.Struct("<IHHHHIIH")
_END_64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR_64 = struct.Struct("<IIQI")


def dos_date_time(mtime: float) -> tuple[int, int]:
    """Return the (date, time) words of a zip entry for `mtime` (local time, 1980 at the earliest)."""
    t = time.localtime(max(mtime, 315532800))
    year = min(t.tm_year, 2107)
    return (year - 1980) << 9 | t.tm_mon << 5 | t.tm_mday, t.tm_hour << 11 | t.tm_min << 5 | t.tm_sec // 2


def name_flags(name: bytes) -> int:
    """Return the UTF-8 flag for a name that is non-ASCII UTF-8; other bytes are stored as they are."""
    if name.isascii():
        return 0
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return FLAG_UTF8


@dataclasses.dataclass
class Entry:
    """One member: what its local header says and what its central record will say."""

    name: bytes
    method: int
    mode: int
    mtime: float
    streamed: bool = False
    zip64: bool = False
    crc: int = 0
    compressed_size: int = 0
    size: int = 0
    offset: int = 0

    @property
    def flags(self) -> int:
        """The general purpose flags: UTF-8 name, sizes after the data when streamed."""
        return name_flags(self.name) | (FLAG_DATA_DESCRIPTOR if self.streamed else 0)

    @property
    def version(self) -> int:
        """The version needed to extract this member."""
        return ZIP64_VERSION if self.zip64 else BASE_VERSION

    def local_header(self) -> bytes:
        """Return the local header; a streamed member's CRC and sizes follow its data instead."""
        date, clock = dos_date_time(self.mtime)
        crc, csize, size = (0, 0, 0) if self.streamed else (self.crc, self.compressed_size, self.size)
        extra = b""
        if self.zip64:
            extra = struct.pack("<HHQQ", 1, 16, size, csize)
            csize = size = LIMIT_32
        header = _LOCAL.pack(
            0x04034B50,
            self.version,
            self.flags,
            self.method,
            clock,
            date,
            crc,
            csize,
            size,
            len(self.name),
            len(extra),
        )
        return header + self.name + extra

    def descriptor(self) -> bytes:
        """Return the data descriptor that follows a streamed member's data (8-byte sizes with zip64)."""
        layout = _DESCRIPTOR_64 if self.zip64 else _DESCRIPTOR
        return layout.pack(0x08074B50, self.crc, self.compressed_size, self.size)

    def central_record(self) -> bytes:
        """Return the member's central directory record, with a zip64 extra field when a value needs 64 bits.

        A value of 0xFFFFFFFF or more needs it. The extra field then holds all three (size, compressed
        size, offset) and the record's three fields say 0xFFFFFFFF: unzip 6.0 decides which values
        the field holds from state left by other members, and misreads one that holds only some.
        """
        date, clock = dos_date_time(self.mtime)
        values = (self.size, self.compressed_size, self.offset)
        wide = any(value >= LIMIT_32 for value in values)
        extra = struct.pack("<HH3Q", 1, 24, *values) if wide else b""
        size, csize, offset = (LIMIT_32,) * 3 if wide else values
        version = ZIP64_VERSION if wide or self.zip64 else BASE_VERSION
        record = _CENTRAL.pack(
            0x02014B50,
            UNIX << 8 | version,
            version,
            self.flags,
            self.method,
            clock,
            date,
            self.crc,
            csize,
            size,
            len(self.name),
            len(extra),
            0,
            0,
            0,
            self.mode << 16 | (MSDOS_DIRECTORY if stat.S_ISDIR(self.mode) else 0),
            offset,
        )
        return record + self.name + extra


def end_records(entries: int, directory_offset: int, directory_size: int) -> bytes:
    """Return the end of central directory record, after the zip64 end record and locator when needed."""
    end = b""
    if entries >= LIMIT_16 or directory_offset >= LIMIT_32 or directory_size >= LIMIT_32:
        end_64_offset = directory_offset + directory_size
        end += _END_64.pack(
            0x06064B50,
            44,
            UNIX << 8 | ZIP64_VERSION,
            ZIP64_VERSION,
            0,
            0,
            entries,
            entries,
            directory_size,
            directory_offset,
        )
        end += _LOCATOR_64.pack(0x07064B50, 0, end_64_offset, 1)
    return end + _END.pack(
        0x06054B50,
        0,
        0,
        min(entries, LIMIT_16),
        min(entries, LIMIT_16),
        min(directory_size, LIMIT_32),
        min(directory_offset, LIMIT_32),
        0,
    )
