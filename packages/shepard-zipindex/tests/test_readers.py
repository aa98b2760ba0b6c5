import pytest
from shepard_zipindex import CountingRangeReader, FileRangeReader, ObjectNotFoundError, ZipIndex


class TestFileRangeReader:
    def test_suffix_returns_tail_and_size(self, tmp_path):
        """read_suffix returns the last bytes of the file and its total size."""
        path = tmp_path / "blob"
        path.write_bytes(b"0123456789")
        assert FileRangeReader(path).read_suffix(4) == (b"6789", 10)

    def test_suffix_longer_than_file_returns_all(self, tmp_path):
        """A suffix longer than the file returns the whole file."""
        path = tmp_path / "blob"
        path.write_bytes(b"abc")
        assert FileRangeReader(path).read_suffix(65536) == (b"abc", 3)

    def test_range_returns_exact_bytes(self, tmp_path):
        """read_range returns bytes [start, end)."""
        path = tmp_path / "blob"
        path.write_bytes(b"0123456789")
        assert FileRangeReader(path).read_range(2, 5) == b"234"

    def test_missing_file_raises_object_not_found(self, tmp_path):
        """A missing path raises ObjectNotFoundError naming it."""
        with pytest.raises(ObjectNotFoundError, match=r"nope\.zip"):
            FileRangeReader(tmp_path / "nope.zip").read_suffix(10)

    def test_indexes_a_zip_on_disk(self, tmp_path, make_zip):
        """A zip on disk is indexed and read through FileRangeReader."""
        path = tmp_path / "job.zip"
        path.write_bytes(make_zip({"inputs.txt": b'{"x": "1"}'}))
        index = ZipIndex.open(FileRangeReader(path))
        assert index.read(index.find_inputs()) == b'{"x": "1"}'


class TestCountingRangeReader:
    def test_counts_reads_and_bytes(self, tmp_path):
        """Every read is counted with the bytes it returned."""
        path = tmp_path / "blob"
        path.write_bytes(b"0123456789")
        reader = CountingRangeReader(FileRangeReader(path))
        reader.read_suffix(3)
        reader.read_range(0, 2)
        assert (reader.reads, reader.bytes_read) == (2, 5)
        assert reader.calls == [("suffix", 3, 0), ("range", 0, 2)]
