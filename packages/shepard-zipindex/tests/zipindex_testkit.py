"""Write zip64 archives whose huge members are holes of zeros, so a 4.5 GiB zip costs no disk."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class BytesRangeReader:
    """A RangeReader over bytes held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read_suffix(self, length: int) -> tuple[bytes, int]:
        return self.data[max(0, len(self.data) - length) :], len(self.data)

    def read_range(self, start: int, end: int) -> bytes:
        return self.data[start:end]


class Unseekable(io.BytesIO):
    """An in-memory stream that cannot seek, so zipfile writes data descriptors into it."""

    def seekable(self) -> bool:
        return False

    def seek(self, *_args: object) -> int:
        raise io.UnsupportedOperation

    def tell(self) -> int:
        raise io.UnsupportedOperation


def build_zip(
    members: dict[str, bytes] | list[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    force_zip64: bool = False,
) -> bytes:
    """Write a zip with Python's zipfile and return its bytes."""
    items = list(members.items()) if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in items:
            if name.endswith("/"):
                archive.writestr(name, b"")
                continue
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = compression
            with archive.open(info, "w", force_zip64=force_zip64) as f:
                f.write(data)
        archive.comment = comment
    return buffer.getvalue()


_CRC_POLY = 0xEDB88320
_MASK32 = 0xFFFFFFFF


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    i = 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc32_of_zeros(length: int) -> int:
    """Return zlib.crc32(bytes(length)) in O(log length) time, as zlib's crc32_combine does."""
    # The operator feeding one zero bit into the (reflected) CRC register, squared up to one zero byte.
    operator = [_CRC_POLY] + [1 << (i - 1) for i in range(1, 32)]
    for _ in range(3):
        operator = _gf2_square(operator)
    state = _MASK32
    while length:
        if length & 1:
            state = _gf2_times(operator, state)
        length >>= 1
        if length:
            operator = _gf2_square(operator)
    return state ^ _MASK32


def filesystem_supports_holes(directory: Path) -> bool:
    """Tell whether a file with a 64 MiB hole in `directory` takes (almost) no disk."""
    probe = directory / ".sparse-probe"
    try:
        with probe.open("wb") as f:
            f.seek(64 << 20)
            f.write(b"\0")
        return probe.stat().st_blocks * 512 < 1 << 20
    finally:
        probe.unlink(missing_ok=True)


@dataclass
class Member:
    """A member to write: real bytes, or a hole of `zeros` zero bytes (stored)."""

    name: str
    data: bytes = b""
    zeros: int = 0
    deflate: bool = False


def write_sparse_zip64(path: Path, members: list[Member], *, comment: bytes = b"") -> int:
    """Write a zip64 archive (zip64 extras in local and central headers); return its size."""
    central: list[bytes] = []
    with path.open("wb") as f:
        for member in members:
            offset = f.tell()
            name = member.name.encode()
            if member.zeros:
                crc, usize, csize, method, payload = (
                    crc32_of_zeros(member.zeros),
                    member.zeros,
                    member.zeros,
                    0,
                    b"",
                )
            elif member.deflate:
                compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
                payload = compressor.compress(member.data) + compressor.flush()
                crc, usize, csize, method = zlib.crc32(member.data), len(member.data), len(payload), 8
            else:
                payload = member.data
                crc, usize, csize, method = zlib.crc32(payload), len(payload), len(payload), 0
            local_extra = struct.pack("<HHQQ", 1, 16, usize, csize)
            f.write(
                struct.pack(
                    "<4s5H3L2H", b"PK\x03\x04", 45, 0, method, 0, 0x21, crc, _MASK32, _MASK32, len(name), 20
                )
            )
            f.write(name + local_extra + payload)
            if member.zeros:
                f.seek(member.zeros, os.SEEK_CUR)
            central_extra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset)
            central.append(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    45,
                    45,
                    0,
                    method,
                    0,
                    0x21,
                    crc,
                    _MASK32,
                    _MASK32,
                    len(name),
                    len(central_extra),
                    0,
                    0,
                    0,
                    0,
                    _MASK32,
                )
                + name
                + central_extra
            )
        directory_offset = f.tell()
        directory = b"".join(central)
        f.write(directory)
        record_offset = f.tell()
        count = len(members)
        f.write(
            struct.pack(
                "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), directory_offset
            )
        )
        f.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, record_offset, 1))
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, _MASK32, _MASK32, len(comment)))
        f.write(comment)
        return f.tell()


_EMPTY_CRC = 0


def many_members_zip(
    count: int, *, folder: str = "job", inputs: bytes | None = None, zip64: bool | None = None
) -> bytes:
    """Return a zip of `count` empty stored members in `folder`/ (after `folder`/inputs.txt when given).

    Written with struct packing rather than zipfile, so a million members take seconds. The zip64 end
    records are written when `zip64` is true, or (by default) when the count needs them.
    """
    local = struct.Struct("<4s5H3L2H")
    central = struct.Struct("<4s6H3L5H2L")
    locals_: list[bytes] = []
    centrals: list[bytes] = []
    offset = 0

    def add(name: bytes, data: bytes) -> None:
        nonlocal offset
        crc = zlib.crc32(data)
        header = local.pack(b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(name), 0)
        locals_.append(header + name + data)
        centrals.append(
            central.pack(
                b"PK\x01\x02",
                20,
                20,
                0,
                0,
                0,
                0x21,
                crc,
                len(data),
                len(data),
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
        offset += len(header) + len(name) + len(data)

    if inputs is not None:
        add(f"{folder}/inputs.txt".encode(), inputs)
    for i in range(count):
        add(f"{folder}/m{i:07d}.txt".encode(), b"")
    directory = b"".join(centrals)
    entries = len(centrals)
    use_zip64 = entries > 0xFFFE if zip64 is None else zip64
    tail = []
    if use_zip64:
        record_offset = offset + len(directory)
        tail.append(
            struct.pack(
                "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, len(directory), offset
            )
        )
        tail.append(struct.pack("<4sLQL", b"PK\x06\x07", 0, record_offset, 1))
        tail.append(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, _MASK32, _MASK32, 0))
    else:
        # Like writers without zip64, store the count modulo 2**16 when it does not fit.
        wrapped = entries & 0xFFFF
        tail.append(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, wrapped, wrapped, len(directory), offset, 0))
    return b"".join([*locals_, directory, *tail])
