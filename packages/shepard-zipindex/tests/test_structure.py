import io
import os
import struct
import zipfile
import zlib

import pytest
from shepard_zipindex import (
    SUFFIX_LENGTH,
    CorruptZipError,
    DecompressionError,
    DirectoryTooLargeError,
    MemberTooLargeError,
    MultiDiskArchiveError,
    NotAZipError,
    TruncatedZipError,
    UnsupportedCompressionError,
    ZipIndex,
)
from zipindex_testkit import Unseekable

END = struct.Struct("<4s4H2LH")


def _end_offset(data: bytes) -> int:
    return data.rindex(b"PK\x05\x06")


def _patch_central(data: bytes, name: bytes, field_offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one field of the central header whose name is `name`."""
    out = bytearray(data)
    pos = out.index(b"PK\x01\x02" + out[out.index(b"PK\x01\x02") + 4 : out.index(b"PK\x01\x02") + 4])
    while True:
        name_len = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46 : pos + 46 + name_len] == name:
            struct.pack_into(fmt, out, pos + field_offset, value)
            return bytes(out)
        pos = out.index(b"PK\x01\x02", pos + 4)


def _patch_local(data: bytes, name: bytes, field_offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    pos = out.index(b"PK\x03\x04" + out[4:4])
    while out[pos + 30 : pos + 30 + len(name)] != name:
        pos = out.index(b"PK\x03\x04", pos + 4)
    struct.pack_into(fmt, out, pos + field_offset, value)
    return bytes(out)


class TestEndRecordSearch:
    def test_comment_with_tight_fake_end_record(self, make_zip, serve):
        """A comment ending in a complete, consistent fake end record does not hide the real one."""
        fake = END.pack(b"PK\x05\x06", 0, 0, 0, 0, 0, 0, 0)
        data = make_zip({"inputs.txt": b"{}", "b": b"2"}, comment=b"see: " + fake)
        index = ZipIndex.open(serve(data))
        assert index.names() == ["inputs.txt", "b"]
        assert index.comment == b"see: " + fake

    def test_comment_with_stray_signatures(self, make_zip, serve):
        """Signatures of every record inside a comment are skipped."""
        comment = b"PK\x05\x06PK\x06\x07PK\x06\x06PK\x01\x02" * 50
        index = ZipIndex.open(serve(make_zip({"inputs.txt": b"{}"}, comment=comment)))
        assert index.read("inputs.txt") == b"{}"

    def test_longest_comment_costs_a_second_suffix_read(self, make_zip, serve):
        """A 65,535-byte comment pushes the end record out of the first suffix: one more suffix read."""
        data = make_zip(
            {"inputs.txt": b"{}", "pad": os.urandom(100_000)}, comment=b"c" * 65535, compression=0
        )
        reader = serve(data)
        index = ZipIndex.open(reader)
        assert index.read("inputs.txt") == b"{}"
        assert [kind for kind, *_ in reader.calls] == ["suffix", "suffix", "range"]

    def test_comment_of_any_length_is_found(self, make_zip, serve):
        """Comments from 0 to 65,535 bytes are all returned intact."""
        for length in (0, 1, 21, 22, 65514, 65515, 65535):
            comment = bytes([length % 251]) * length
            assert ZipIndex.open(serve(make_zip({"a": b"1"}, comment=comment))).comment == comment

    def test_zero_padding_after_end_record_is_tolerated(self, make_zip, serve):
        """Zeros after the end record (as bsdtar writes to a pipe) do not hide it."""
        data = make_zip({"inputs.txt": b"{}"}) + bytes(10240)
        assert ZipIndex.open(serve(data)).read("inputs.txt") == b"{}"

    def test_trailing_garbage_is_not_a_zip(self, make_zip, serve):
        """Non-zero bytes after the end record make it invalid, so the input is not a zip."""
        with pytest.raises(NotAZipError, match="not a zip"):
            ZipIndex.open(serve(make_zip({"a": b"1"}) + b"garbage"))

    def test_prepended_data_is_skipped(self, make_zip, serve):
        """A zip after a prefix (a self-extracting stub) reads as if the prefix were absent."""
        data = b"#!/bin/sh\nexit 0\n" * 100 + make_zip({"inputs.txt": b'{"a": 1}'})
        assert ZipIndex.open(serve(data)).read("inputs.txt") == b'{"a": 1}'

    def test_truncated_head_is_corrupt(self, make_zip, serve):
        """A zip missing its first bytes raises CorruptZipError: the directory overlaps the end record."""
        data = make_zip({"inputs.txt": b"{}" * 100, "b": os.urandom(2000)})
        with pytest.raises(CorruptZipError, match="overlaps"):
            ZipIndex.open(serve(data[100:]))

    def test_directory_before_the_start_is_corrupt(self, make_zip, serve):
        """An end record whose directory would start before byte 0 raises CorruptZipError saying so."""
        data = make_zip({"inputs.txt": b"{}" * 100, "b": os.urandom(500)})
        end = _end_offset(data)
        directory_size = struct.unpack_from("<L", data, end + 12)[0]
        with pytest.raises(CorruptZipError, match="before the beginning of the file"):
            ZipIndex.open(serve(data[end - directory_size + 10 :]))

    def test_truncated_tail_is_not_a_zip(self, make_zip, serve):
        """A zip cut before its end record raises NotAZipError."""
        data = make_zip({"inputs.txt": b"{}"})
        with pytest.raises(NotAZipError):
            ZipIndex.open(serve(data[:-10]))

    def test_tiny_input_is_not_a_zip(self, serve):
        """Fewer bytes than an end record raise NotAZipError saying so."""
        with pytest.raises(NotAZipError, match="too short"):
            ZipIndex.open(serve(b"PK\x05\x06"))

    def test_split_archive_is_refused(self, make_zip, serve):
        """An end record on disk 2 raises MultiDiskArchiveError."""
        data = bytearray(make_zip({"inputs.txt": b"{}"}))
        struct.pack_into("<HH", data, _end_offset(data) + 4, 1, 1)
        with pytest.raises(MultiDiskArchiveError, match="split"):
            ZipIndex.open(serve(bytes(data)))


class TestCentralDirectory:
    def test_directory_larger_than_suffix_costs_one_more_read(self, serve):
        """A 70,000-member zip is indexed with a suffix read plus one read of the rest of its directory."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("job/inputs.txt", b'{"many": "members"}')
            for i in range(70_000):
                archive.writestr(f"job/data/member_{i:05d}.txt", b"")
        data = buffer.getvalue()
        reader = serve(data)
        index = ZipIndex.open(reader)
        # THEN the directory took exactly one read beyond the suffix
        assert len(index) == 70_001
        assert reader.reads == 2
        assert index.read(index.find_inputs()) == b'{"many": "members"}'
        assert reader.reads == 3
        directory_size = len(data) - index.directory_start
        assert reader.bytes_read <= directory_size + 2048

    def test_directory_over_cap_is_refused(self, make_zip, serve):
        """A directory over max_directory_size raises DirectoryTooLargeError before it is read."""
        data = make_zip({f"m{i}": b"" for i in range(100)})
        reader = serve(data)
        with pytest.raises(DirectoryTooLargeError, match="more than the 1,000 bytes"):
            ZipIndex.open(reader, max_directory_size=1000)
        assert reader.reads == 1

    def test_entry_count_beyond_directory_is_corrupt(self, make_zip, serve):
        """An end record claiming more entries than its directory can hold raises CorruptZipError."""
        data = bytearray(make_zip({"a": b"1"}))
        struct.pack_into("<HH", data, _end_offset(data) + 8, 60000, 60000)
        with pytest.raises(CorruptZipError, match="cannot fit"):
            ZipIndex.open(serve(bytes(data)), suffix_length=len(data) - 30)

    def test_missing_zip64_extra_is_corrupt(self, make_zip, serve):
        """A 0xFFFFFFFF size without a zip64 extra field raises CorruptZipError."""
        data = _patch_central(make_zip({"inputs.txt": b"{}"}), b"inputs.txt", 24, "<L", 0xFFFFFFFF)
        with pytest.raises(CorruptZipError, match="zip64 extra field, but there is none"):
            ZipIndex.open(serve(data))

    def test_cp437_and_utf8_names(self, make_zip, serve):
        """Names flagged UTF-8 decode as UTF-8; unflagged names decode as cp437."""
        data = make_zip({"données/inputs.txt": b"{}"})
        assert ZipIndex.open(serve(data)).find_inputs() == "données/inputs.txt"
        ascii_flags = _patch_central(data, "données/inputs.txt".encode(), 8, "<H", 0)
        assert ZipIndex.open(serve(ascii_flags)).names() == ["donn├⌐es/inputs.txt"]


class TestDataDescriptors:
    def test_streamed_zip_with_descriptors_reads(self, serve):
        """A zip written to an unseekable stream (sizes in data descriptors) reads normally."""
        stream = Unseekable()
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("job/inputs.txt", b'{"streamed": true}')
            archive.writestr("job/other.bin", os.urandom(300))
        data = stream.getvalue()
        index = ZipIndex.open(serve(data))
        assert index.info("job/inputs.txt").flags & 0x08
        assert index.read(index.find_inputs()) == b'{"streamed": true}'


class TestLyingHeaders:
    def test_zip_bomb_stops_at_max_size(self, make_zip, serve):
        """A member whose header understates a 64 MiB inflation stops at max_size with MemberTooLargeError."""
        data = make_zip({"inputs.txt": bytes(64 << 20)})
        data = _patch_central(data, b"inputs.txt", 24, "<L", 100)
        data = _patch_local(data, b"inputs.txt", 22, "<L", 100)
        with pytest.raises(MemberTooLargeError, match="understates"):
            ZipIndex.open(serve(data)).read("inputs.txt", max_size=1 << 20)

    def test_overstated_size_is_corrupt(self, make_zip, serve):
        """A member declaring more bytes than it inflates to raises CorruptZipError."""
        data = make_zip({"inputs.txt": b"{}" * 50})
        data = _patch_central(data, b"inputs.txt", 24, "<L", 150)
        data = _patch_local(data, b"inputs.txt", 22, "<L", 150)
        with pytest.raises(CorruptZipError, match="header says 150"):
            ZipIndex.open(serve(data)).read("inputs.txt")

    def test_huge_compressed_size_is_refused_without_reading(self, make_zip, serve):
        """A compressed size too big for max_size raises MemberTooLargeError before the member is read."""
        data = _patch_central(make_zip({"inputs.txt": b"{}"}), b"inputs.txt", 20, "<L", 0xFFFFFFF0)
        reader = serve(data)
        with pytest.raises(MemberTooLargeError, match="compressed bytes"):
            ZipIndex.open(reader).read("inputs.txt")
        assert reader.reads == 1

    def test_local_sizes_disagreeing_with_directory_are_corrupt(self, make_zip, serve):
        """A local header whose sizes contradict the central directory raises CorruptZipError."""
        data = _patch_local(make_zip({"inputs.txt": b"{}" * 10}), b"inputs.txt", 18, "<L", 3)
        with pytest.raises(CorruptZipError, match="disagree"):
            ZipIndex.open(serve(data)).read("inputs.txt")

    def test_member_running_into_directory_is_corrupt(self, make_zip, serve):
        """A local header offset that leaves no room before the directory raises CorruptZipError."""
        data = make_zip({"inputs.txt": b"{}"})
        data = _patch_central(data, b"inputs.txt", 42, "<L", len(data) - 60)
        with pytest.raises(CorruptZipError):
            ZipIndex.open(serve(data)).read("inputs.txt")

    def test_broken_deflate_stream_is_a_decompression_error(self, make_zip, serve):
        """Garbage instead of deflate data raises DecompressionError."""
        payload = b"the quick brown fox " * 20
        data = bytearray(make_zip({"inputs.txt": payload}))
        compressed = zlib.compressobj(9, zlib.DEFLATED, -15)
        start = data.index(compressed.compress(payload) + compressed.flush())
        data[start : start + 4] = b"\xff\xff\xff\xff"
        with pytest.raises(DecompressionError, match=r"deflate data of .inputs\.txt. cannot be decompressed"):
            ZipIndex.open(serve(bytes(data))).read("inputs.txt")

    def test_unknown_method_is_unsupported(self, make_zip, serve):
        """A zstd member (method 93) raises UnsupportedCompressionError naming the method."""
        data = _patch_central(make_zip({"inputs.txt": b"{}"}), b"inputs.txt", 10, "<H", 93)
        with pytest.raises(UnsupportedCompressionError, match="zstd"):
            ZipIndex.open(serve(data)).read("inputs.txt")

    def test_short_reader_is_truncation(self, make_zip):
        """A reader returning fewer bytes than asked raises TruncatedZipError."""
        from zipindex_testkit import BytesRangeReader

        class ShortReader(BytesRangeReader):
            def read_range(self, start, end):
                return super().read_range(start, end)[:-1]

        data = make_zip({"inputs.txt": b"{}", "pad": os.urandom(2 * SUFFIX_LENGTH)}, compression=0)
        with pytest.raises(TruncatedZipError, match="shorter"):
            ZipIndex.open(ShortReader(data)).read("inputs.txt")
