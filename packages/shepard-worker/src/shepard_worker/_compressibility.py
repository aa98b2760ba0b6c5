"""Decide per file whether deflating pays: by the name users give compressed data, then by a quick trial."""

from __future__ import annotations

import zlib
from typing import Final

TRIAL_BYTES: Final = 64 * 1024
MIN_SAVING: Final = 0.1

#: Suffixes of data that is already compressed (or is a compressed container): stored as it is.
COMPRESSED_SUFFIXES: Final = frozenset(
    {
        # general-purpose compressors and archives
        b"gz", b"tgz", b"bgz", b"bgzf", b"bz2", b"tbz2", b"xz", b"txz", b"lz", b"lz4", b"lzma", b"zst",
        b"zstd",
        b"br", b"sz", b"snappy", b"z", b"7z", b"rar", b"zip", b"jar", b"war", b"whl", b"apk", b"npz",
        b"docx", b"xlsx", b"pptx", b"odt", b"ods",
        # genomics (BGZF or CRAM codecs) and columnar data
        b"bam", b"cram", b"bcf", b"crai", b"csi", b"tbi", b"parquet", b"orc", b"avro", b"sra",
        # images, audio and video
        b"png", b"jpg", b"jpeg", b"gif", b"webp", b"heic", b"avif", b"jp2", b"mp3", b"aac", b"ogg", b"opus",
        b"flac", b"m4a", b"mp4", b"m4v", b"mkv", b"mov", b"avi", b"webm",
    }
)  # fmt: skip


def suffix(name: bytes) -> bytes:
    """Return the lower-case extension of the last part of `name` (b"" when it has none)."""
    last = name.rsplit(b"/", 1)[-1]
    stem, dot, extension = last.rpartition(b".")
    return extension.lower() if dot and stem else b""


def worth_deflating(name: bytes, head: bytes, level: int) -> bool:
    """Return whether deflating the file `name`, which starts with `head`, saves at least 10%.

    Level 0 never deflates; a known compressed suffix is stored; otherwise the first 64 KiB are
    deflated at level 1 (about a millisecond) and the file is deflated only if that saves enough.
    """
    if level <= 0 or suffix(name) in COMPRESSED_SUFFIXES:
        return False
    sample = head[:TRIAL_BYTES]
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    trial = len(compressor.compress(sample)) + len(compressor.flush())
    return trial <= len(sample) * (1 - MIN_SAVING)
