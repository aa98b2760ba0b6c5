"""Decompress one member's data without ever producing more than a cap of output bytes."""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from typing import Final, Protocol

from shepard_zipindex._errors import (
    DecompressionError,
    Deflate64Error,
    MemberTooLargeError,
    UnsupportedCompressionError,
)
from shepard_zipindex._records import DAMAGED

STORED: Final = 0
DEFLATED: Final = 8
DEFLATE64: Final = 9
BZIP2: Final = 12
LZMA: Final = 14
AES_ENCRYPTED: Final = 99
SUPPORTED_METHODS: Final = frozenset({STORED, DEFLATED, BZIP2, LZMA})

METHOD_NAMES: Final = {
    0: "stored",
    1: "shrink",
    2: "reduce-1",
    3: "reduce-2",
    4: "reduce-3",
    5: "reduce-4",
    6: "implode",
    8: "deflate",
    9: "Deflate64",
    10: "PKWARE DCL implode",
    12: "bzip2",
    14: "lzma",
    16: "IBM z/OS CMPSC",
    18: "IBM TERSE",
    19: "IBM LZ77",
    20: "zstd (deprecated id)",
    93: "zstd",
    94: "mp3",
    95: "xz",
    96: "jpeg",
    97: "WavPack",
    98: "PPMd",
    99: "AES encryption",
}

_REZIP: Final = "zip the job's files again with deflate (the usual method), then upload the zip."
_SMALLER: Final = "make it smaller (keep large data in other files of the zip), then upload the zip again."
_LZMA_HEADER: Final = struct.Struct("<BBH")
_LZMA_PROPERTIES_SIZE: Final = 5
_LZMA_MAX_LC_LP_PB: Final = 9 * 5 * 5
_LZMA_MIN_DICT: Final = 4096


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


def method_name(method: int) -> str:
    """Name a zip compression method id for messages."""
    return METHOD_NAMES.get(method, f"method {method}")


def check_method(method: int, name: str) -> None:
    """Raise the specific unsupported-feature error when the method cannot be decompressed here."""
    if method == DEFLATE64:
        raise Deflate64Error(
            f"{name!r} is compressed with Deflate64 (method 9), which Shepard cannot read: {_REZIP}"
        )
    if method not in SUPPORTED_METHODS:
        raise UnsupportedCompressionError(
            f"{name!r} is compressed with {method_name(method)} (method {method}), which Shepard cannot read "
            f"(it reads stored, deflate, bzip2 and lzma): {_REZIP}"
        )


def compressed_bound(size: int) -> int:
    """Return the most compressed bytes any supported method needs to encode `size` bytes."""
    return size + size // 16 + 1024


def decompress(method: int, data: bytes, name: str, max_size: int) -> bytes:
    """Return the decompressed bytes; stop with MemberTooLargeError as soon as output passes max_size."""
    if method == STORED:
        if len(data) > max_size:
            raise MemberTooLargeError(
                f"{name!r} holds {len(data):,} bytes, more than the {max_size:,} bytes that may be read from "
                f"it: {_SMALLER}"
            )
        return data
    decompressor: _Decompressor
    payload = data
    if method == DEFLATED:
        decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    elif method == BZIP2:
        decompressor = bz2.BZ2Decompressor()
    elif method == LZMA:
        decompressor, payload = _lzma_decompressor(data, name, max_size)
    else:
        check_method(method, name)
        raise AssertionError(method)  # pragma: no cover - check_method raised for every other method
    try:
        out = decompressor.decompress(payload, max_size + 1)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise DecompressionError(
            f"The zip is damaged: the {method_name(method)} data of {name!r} cannot be decompressed ({exc}). "
            f"{DAMAGED}"
        ) from exc
    if len(out) > max_size:
        raise MemberTooLargeError(
            f"{name!r} decompresses to more than the {max_size:,} bytes that may be read from it (its header "
            f"understates its size): {_SMALLER}"
        )
    # A raw LZMA stream may legitimately end without an end marker; its declared size decides.
    if method != LZMA and not decompressor.eof:
        raise DecompressionError(
            f"The zip is damaged: the {method_name(method)} data of {name!r} stops before its end. {DAMAGED}"
        )
    return out


def _lzma_decompressor(data: bytes, name: str, max_size: int) -> tuple[_Decompressor, bytes]:
    """Build a raw LZMA1 decompressor from the zip LZMA header (version, properties size, properties)."""
    if len(data) < _LZMA_HEADER.size + _LZMA_PROPERTIES_SIZE:
        raise DecompressionError(f"The zip is damaged: the lzma data of {name!r} is too short. {DAMAGED}")
    _major, _minor, props_size = _LZMA_HEADER.unpack_from(data)
    if props_size != _LZMA_PROPERTIES_SIZE or len(data) < _LZMA_HEADER.size + props_size:
        raise DecompressionError(
            f"The zip is damaged: the lzma header of {name!r} gives a properties size of {props_size}, "
            f"not 5. {DAMAGED}"
        )
    props = data[_LZMA_HEADER.size : _LZMA_HEADER.size + props_size]
    packed = props[0]
    if packed >= _LZMA_MAX_LC_LP_PB:
        raise DecompressionError(
            f"The zip is damaged: the lzma header of {name!r} holds an invalid properties byte ({packed}). "
            f"{DAMAGED}"
        )
    pb, rest = divmod(packed, 45)
    lp, lc = divmod(rest, 9)
    # Producing at most max_size bytes never looks further back than that: a lying header asking for a
    # 4 GiB dictionary must not make the decoder allocate one.
    dict_size = min(int.from_bytes(props[1:5], "little"), max(max_size, _LZMA_MIN_DICT))
    lzma_filter = {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
    try:
        decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
    except (lzma.LZMAError, ValueError) as exc:
        raise DecompressionError(
            f"The zip is damaged: the lzma header of {name!r} cannot be used ({exc}). {DAMAGED}"
        ) from exc
    return decompressor, data[_LZMA_HEADER.size + props_size :]
