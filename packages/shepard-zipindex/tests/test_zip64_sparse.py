import zipfile

import pytest
from shepard_zipindex import CountingRangeReader, FileRangeReader, MemberTooLargeError, ZipIndex
from zipindex_testkit import Member, filesystem_supports_holes, write_sparse_zip64

BIG = (4 << 30) + (512 << 20)  # 4.5 GiB of zeros: a hole on disk
INPUTS = b'{"SIZE": "4.5 GiB"}'


@pytest.fixture
def sparse_dir(tmp_path):
    if not filesystem_supports_holes(tmp_path):
        pytest.skip(f"the filesystem of {tmp_path} has no sparse files")
    return tmp_path


class TestSparseZip64:
    def test_member_after_four_gib_is_read_from_the_suffix(self, sparse_dir):
        """inputs.txt after a 4.5 GiB member (zip64 offset above 2^32) is read with the one suffix read."""
        path = sparse_dir / "big.zip"
        size = write_sparse_zip64(path, [Member("job/big.bin", zeros=BIG), Member("job/inputs.txt", INPUTS)])
        assert path.stat().st_blocks * 512 < 1 << 20
        reader = CountingRangeReader(FileRangeReader(path))
        index = ZipIndex.open(reader)
        assert index.size == size > 1 << 32
        assert index.info("job/inputs.txt").header_offset > 1 << 32
        assert index.info("job/big.bin").file_size == BIG
        assert index.read(index.find_inputs()) == INPUTS
        assert reader.reads == 1

    def test_member_before_a_huge_one_costs_two_reads(self, sparse_dir):
        """inputs.txt ahead of a 4.5 GiB member costs the suffix read plus one small ranged read."""
        path = sparse_dir / "big.zip"
        write_sparse_zip64(path, [Member("inputs.txt", INPUTS, deflate=True), Member("big.bin", zeros=BIG)])
        reader = CountingRangeReader(FileRangeReader(path))
        index = ZipIndex.open(reader)
        assert index.read(index.find_inputs()) == INPUTS
        assert reader.reads == 2
        assert reader.bytes_read < 64 * 1024 + 2048

    def test_stdlib_agrees_on_the_crafted_zip(self, sparse_dir):
        """The standard library reads the crafted zip64 the same way, so the writer is faithful."""
        path = sparse_dir / "big.zip"
        write_sparse_zip64(path, [Member("big.bin", zeros=BIG), Member("inputs.txt", INPUTS, deflate=True)])
        with zipfile.ZipFile(path) as archive:
            assert archive.getinfo("big.bin").file_size == BIG
            assert archive.read("inputs.txt") == INPUTS

    def test_huge_member_is_refused_by_declared_size(self, sparse_dir):
        """Reading the 4.5 GiB member raises MemberTooLargeError without fetching it."""
        path = sparse_dir / "big.zip"
        write_sparse_zip64(path, [Member("big.bin", zeros=BIG), Member("inputs.txt", INPUTS)])
        reader = CountingRangeReader(FileRangeReader(path))
        with pytest.raises(MemberTooLargeError, match=f"{BIG:,} bytes"):
            ZipIndex.open(reader).read("big.bin")
        assert reader.reads == 1
