"""The zip records this reader parses (end records, central and local headers), as plain values."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from shepard_zipindex._errors import CorruptZipError

END_RECORD: Final = struct.Struct("<4s4H2LH")
END_SIGNATURE: Final = b"PK\x05\x06"
ZIP64_LOCATOR: Final = struct.Struct("<4sLQL")
ZIP64_LOCATOR_SIGNATURE: Final = b"PK\x06\x07"
ZIP64_END_RECORD: Final = struct.Struct("<4sQ2H2L4Q")
ZIP64_END_SIGNATURE: Final = b"PK\x06\x06"
CENTRAL_HEADER: Final = struct.Struct("<4s6H3L5H2L")
CENTRAL_SIGNATURE: Final = b"PK\x01\x02"
LOCAL_HEADER: Final = struct.Struct("<4s5H3L2H")
LOCAL_SIGNATURE: Final = b"PK\x03\x04"

MAX_COMMENT: Final = 0xFFFF
MASK16: Final = 0xFFFF
MASK32: Final = 0xFFFFFFFF
ZIP64_EXTRA_ID: Final = 0x0001
UNICODE_PATH_EXTRA_ID: Final = 0x7075

DAMAGED: Final = "The file is damaged or was cut short: zip the job's files again and upload the new zip."
"""The advice that ends every message about a zip whose records are broken."""

FLAG_ENCRYPTED: Final = 0x0001
FLAG_DATA_DESCRIPTOR: Final = 0x0008
FLAG_STRONG_ENCRYPTION: Final = 0x0040
FLAG_UTF8: Final = 0x0800


@dataclass(frozen=True, slots=True)
class EndRecord:
    """The end of central directory record, with its zip64 counterpart's values folded in."""

    position: int
    """Where the classic end record starts in the blob."""
    disk: int
    directory_disk: int
    entries_on_disk: int
    entries: int
    directory_size: int
    directory_offset: int
    comment: bytes

    def needs_zip64(self) -> bool:
        """Tell whether any field holds the 'see the zip64 record' marker."""
        return MASK16 in (self.disk, self.directory_disk, self.entries_on_disk, self.entries) or MASK32 in (
            self.directory_size,
            self.directory_offset,
        )


@dataclass(frozen=True, slots=True)
class ZipMember:
    """One central directory entry: a member's name, sizes, checksum and where its local header is."""

    name: str
    raw_name: bytes
    flags: int
    compress_type: int
    crc: int
    compressed_size: int
    file_size: int
    header_offset: int
    """Absolute position of the member's local header in the blob (prepended data included)."""
    disk: int
    extra: bytes

    @property
    def is_dir(self) -> bool:
        """Tell whether the entry is a folder."""
        return self.name.endswith("/")

    @property
    def is_encrypted(self) -> bool:
        """Tell whether the member's data is encrypted."""
        return bool(self.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION))


def parse_end_record(data: bytes, offset: int, position: int) -> EndRecord:
    """Unpack a classic end record found at `offset` of `data` (blob position `position`)."""
    _sig, disk, cd_disk, entries_disk, entries, cd_size, cd_offset, comment_len = END_RECORD.unpack_from(
        data, offset
    )
    comment_start = offset + END_RECORD.size
    return EndRecord(
        position=position,
        disk=disk,
        directory_disk=cd_disk,
        entries_on_disk=entries_disk,
        entries=entries,
        directory_size=cd_size,
        directory_offset=cd_offset,
        comment=data[comment_start : comment_start + comment_len],
    )


def iter_extra(extra: bytes) -> dict[int, bytes]:
    """Split an extra field into {header id: payload}; a malformed tail (padding) is ignored."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, pos)
        if pos + 4 + size > len(extra):
            break
        fields.setdefault(header_id, extra[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return fields


def zip64_values(payload: bytes | None, wanted: list[tuple[str, int]], where: str) -> dict[str, int]:
    """Read the 8-byte (4-byte for the disk) zip64 values that replace masked header fields, in order."""
    values: dict[str, int] = {}
    if not wanted:
        return values
    if payload is None:
        raise CorruptZipError(
            f"The zip is damaged: {where} marks a size or offset as stored in a zip64 extra field, but "
            f"there is none. {DAMAGED}"
        )
    pos = 0
    for field, width in wanted:
        if pos + width > len(payload):
            raise CorruptZipError(
                f"The zip is damaged: in {where}, the zip64 extra field is too short to hold the {field}. "
                f"{DAMAGED}"
            )
        values[field] = int.from_bytes(payload[pos : pos + width], "little")
        pos += width
    return values


def decode_name(raw: bytes, flags: int, extra_fields: dict[int, bytes]) -> str:
    """Decode a member name: UTF-8 when flagged, else the Info-ZIP Unicode path extra, else cp437."""
    if flags & FLAG_UTF8:
        return raw.decode("utf-8", "surrogateescape")
    unicode_path = extra_fields.get(UNICODE_PATH_EXTRA_ID)
    min_unicode_path = 5
    if unicode_path is not None and len(unicode_path) > min_unicode_path and unicode_path[0] == 1:
        name_crc = int.from_bytes(unicode_path[1:5], "little")
        if name_crc == zlib.crc32(raw):
            try:
                return unicode_path[5:].decode("utf-8")
            except UnicodeDecodeError:
                pass
    return raw.decode("cp437")
