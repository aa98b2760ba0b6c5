import math
import struct
import tracemalloc

import pytest
from shepard_zipindex import (
    DIRECTORY_CHUNK,
    MAX_MEMBERS,
    CorruptZipError,
    TooManyMembersError,
    ZipIndex,
    ZipIndexError,
)
from zipindex_testkit import many_members_zip

INPUTS = b'{"EXPERIMENT": "many"}'
CHUNK = 64 * 1024
MEMORY_BOUND = 1 << 20
"""Peak bytes allocated while indexing a zip in 64 KiB chunks, whatever its member count."""
CLASSIC_END = struct.Struct("<4s4H2LH")
ZIP64_END = struct.Struct("<4sQ2H2L4Q")


def _classic_end(data: bytes) -> int:
    return data.rindex(b"PK\x05\x06")


def _patch_classic(data: bytes, *, entries: int | None = None, size: int | None = None) -> bytes:
    """Rewrite the classic end record's member count and/or central directory size."""
    out = bytearray(data)
    pos = _classic_end(data)
    if entries is not None:
        struct.pack_into("<HH", out, pos + 8, entries, entries)
    if size is not None:
        struct.pack_into("<L", out, pos + 12, size)
    return bytes(out)


def _patch_zip64_count(data: bytes, entries: int) -> bytes:
    """Rewrite the member counts of the zip64 end record."""
    out = bytearray(data)
    pos = data.rindex(b"PK\x06\x06")
    struct.pack_into("<QQ", out, pos + 24, entries, entries)
    return bytes(out)


def _indexing_peak(reader, **options) -> tuple[int, str, bytes]:
    """Open, find inputs.txt and read it under tracemalloc; return the peak bytes, the name and content."""
    tracemalloc.start()
    try:
        index = ZipIndex.open(reader, **options)
        name = index.find_inputs()
        content = index.read(name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, name, content


class TestHugeCentralDirectories:
    @pytest.mark.parametrize("members", [10_000, 30_000])
    def test_memory_stays_bounded_whatever_the_member_count(self, serve, members):
        """Indexing a directory far larger than the chunk peaks under 1 MiB, and inputs.txt is still found."""
        # GIVEN a zip whose inputs.txt comes first, then many empty members (a 0.6 to 1.9 MB directory)
        data = many_members_zip(members, inputs=INPUTS)
        directory_size = ZipIndex.open(serve(data)).end_record.directory_size
        # WHEN it is indexed in 64 KiB chunks and its inputs read
        peak, name, content = _indexing_peak(serve(data), chunk_size=CHUNK)
        # THEN memory stays under the bound, though the directory alone is about as large or larger
        assert directory_size > MEMORY_BOUND / 2
        assert peak < MEMORY_BOUND
        assert (name, content) == ("job/inputs.txt", INPUTS)

    def test_directory_larger_than_the_chunk_is_read_chunk_by_chunk(self, serve):
        """A directory larger than the chunk is fetched in reads of at most one chunk, no more than needed."""
        data = many_members_zip(20_000, inputs=INPUTS)
        reader = serve(data)
        index = ZipIndex.open(reader, chunk_size=CHUNK)
        outside_suffix = len(data) - 64 * 1024 - index.directory_start
        ranges = [(start, end) for kind, start, end in reader.calls if kind == "range"]
        assert all(end - start <= CHUNK for start, end in ranges)
        assert len(ranges) <= math.ceil(outside_suffix / CHUNK) + 1
        assert len(index) == 20_001
        # AND reading inputs.txt afterwards costs exactly one more read
        reads = reader.reads
        assert index.read(index.find_inputs()) == INPUTS
        assert reader.reads == reads + 1

    def test_directory_within_the_default_chunk_costs_one_more_read(self, serve):
        """A 100,000-member directory (5.7 MB) is fetched with one read beyond the suffix."""
        reader = serve(many_members_zip(100_000, inputs=INPUTS))
        index = ZipIndex.open(reader)
        assert 64 * 1024 < index.end_record.directory_size <= DIRECTORY_CHUNK
        assert reader.reads == 2
        assert index.read(index.find_inputs()) == INPUTS
        assert reader.reads == 3

    def test_relisting_a_streamed_directory_reads_it_again(self, serve):
        """names() of a directory larger than the chunk re-reads it and lists every member in order."""
        data = many_members_zip(3_000, inputs=INPUTS)
        reader = serve(data)
        index = ZipIndex.open(reader, chunk_size=CHUNK)
        reads = reader.reads
        names = index.names()
        assert reader.reads > reads
        assert names[:2] == ["job/inputs.txt", "job/m0000000.txt"]
        assert len(names) == 3_001
        assert "job/m0002999.txt" in index


class TestMemberCap:
    def test_declared_count_over_the_cap_is_refused_before_the_directory_is_read(self, serve):
        """A zip declaring more members than max_members raises TooManyMembersError after the suffix read."""
        reader = serve(many_members_zip(70_000, inputs=INPUTS))
        with pytest.raises(TooManyMembersError, match=r"holds 70,001 members.*at most 50,000 members"):
            ZipIndex.open(reader, max_members=50_000)
        assert reader.reads == 1

    def test_wrapped_count_hiding_members_over_the_cap_is_refused(self, serve):
        """A classic count that wrapped past 65,535 cannot smuggle more members than the cap past it."""
        data = many_members_zip(70_000, zip64=False)
        with pytest.raises(TooManyMembersError, match="more than 60,000 members"):
            ZipIndex.open(serve(data), max_members=60_000)

    def test_default_cap_is_a_million(self):
        """The default member cap is the documented 1,000,000."""
        assert MAX_MEMBERS == 1_000_000

    def test_cap_error_is_a_zipindex_error(self):
        """TooManyMembersError is a ZipIndexError, so the scheduler turns it into a rejection."""
        assert issubclass(TooManyMembersError, ZipIndexError)


class TestLyingDirectories:
    def test_classic_count_that_wrapped_is_accepted(self, serve):
        """70,000 members under a classic end record (count stored modulo 65,536) are all indexed."""
        data = many_members_zip(69_999, inputs=INPUTS, zip64=False)
        assert CLASSIC_END.unpack_from(data, _classic_end(data))[4] == 70_000 - 0x10000
        index = ZipIndex.open(serve(data))
        assert len(index) == 70_000
        assert index.read(index.find_inputs()) == INPUTS

    @pytest.mark.parametrize("declared", [3, 7])
    def test_classic_count_that_disagrees_with_the_directory_is_corrupt(self, serve, declared):
        """A classic end record counting fewer or more members than its directory lists is corrupt."""
        data = _patch_classic(many_members_zip(5, inputs=INPUTS), entries=declared)
        with pytest.raises(
            CorruptZipError, match=f"says it holds {declared} members, but its central directory"
        ):
            ZipIndex.open(serve(data))

    @pytest.mark.parametrize("declared", [70_000, 70_002, 70_001 - 0x10000])
    def test_zip64_count_that_disagrees_with_the_directory_is_corrupt(self, serve, declared):
        """A zip64 end record's count must match exactly (it never wraps), else CorruptZipError."""
        data = _patch_zip64_count(many_members_zip(70_000, inputs=INPUTS), declared)
        with pytest.raises(CorruptZipError, match="contradicts itself"):
            ZipIndex.open(serve(data))

    def test_zip64_counts_are_followed(self, serve):
        """A zip64 end record with a small count indexes like a classic one."""
        data = many_members_zip(3, inputs=INPUTS, zip64=True)
        assert ZIP64_END.unpack_from(data, data.rindex(b"PK\x06\x06"))[7] == 4
        index = ZipIndex.open(serve(data))
        assert index.names() == ["job/inputs.txt", "job/m0000000.txt", "job/m0000001.txt", "job/m0000002.txt"]
        assert index.read(index.find_inputs()) == INPUTS

    def test_count_too_large_for_the_directory_is_corrupt(self, serve):
        """A count whose entries cannot fit in the declared directory size raises CorruptZipError."""
        data = _patch_classic(many_members_zip(5, inputs=INPUTS), entries=1_000)
        with pytest.raises(CorruptZipError, match="cannot fit"):
            ZipIndex.open(serve(data))

    def test_directory_size_too_large_is_corrupt(self, serve):
        """A directory size reaching back into member data raises CorruptZipError."""
        data = many_members_zip(5, inputs=INPUTS)
        size = CLASSIC_END.unpack_from(data, _classic_end(data))[5]
        with pytest.raises(CorruptZipError, match="is not there"):
            ZipIndex.open(serve(_patch_classic(data, size=size + 20)))

    def test_directory_size_hiding_the_first_entry_fails_the_read(self, serve):
        """A directory size one entry short (with a count to match) hides inputs.txt and fails every read."""
        data = many_members_zip(5, inputs=INPUTS)
        size = CLASSIC_END.unpack_from(data, _classic_end(data))[5]
        lying = _patch_classic(data, entries=5, size=size - (46 + len("job/inputs.txt")))
        index = ZipIndex.open(serve(lying))
        assert "job/inputs.txt" not in index.names()
        with pytest.raises(ZipIndexError):
            index.read("job/m0000000.txt")

    def test_entry_running_past_the_directory_is_truncated(self, serve):
        """A last entry whose name runs past the directory's end raises a ZipIndexError naming the entry."""
        data = bytearray(many_members_zip(2, inputs=INPUTS))
        last = data.rindex(b"PK\x01\x02")
        struct.pack_into("<H", data, last + 28, 200)
        with pytest.raises(ZipIndexError, match="entry 3 of its list of members"):
            ZipIndex.open(serve(bytes(data)))
