import os
import zipfile

from shepard_zipindex import SUFFIX_LENGTH, ZipIndex


class TestReadBudget:
    def test_small_zip_costs_one_read(self, make_zip, serve):
        """A zip smaller than the suffix is indexed and read with a single suffix read."""
        reader = serve(make_zip({"inputs.txt": b"{}", "a.bin": os.urandom(1000)}))
        index = ZipIndex.open(reader)
        index.read(index.find_inputs())
        assert reader.reads == 1

    def test_typical_job_zip_costs_two_reads(self, make_zip, serve):
        """inputs.txt first and a large payload after costs one suffix read plus one ranged read."""
        payload = os.urandom(3 * SUFFIX_LENGTH)
        data = make_zip({"job/inputs.txt": b'{"a": "b"}', "job/payload.bin": payload}, compression=0)
        reader = serve(data)
        index = ZipIndex.open(reader)
        assert index.read(index.find_inputs()) == b'{"a": "b"}'
        assert reader.reads == 2
        assert reader.bytes_read < SUFFIX_LENGTH + 2048

    def test_member_read_fetches_only_header_and_data(self, make_zip, serve):
        """The ranged read starts at the member's local header and stops soon after its data."""
        data = make_zip(
            {"inputs.txt": b"{}" * 10, "big": os.urandom(200_000)}, compression=zipfile.ZIP_STORED
        )
        reader = serve(data)
        ZipIndex.open(reader).read("inputs.txt")
        kind, start, end = reader.calls[1]
        assert (kind, start) == ("range", 0)
        assert end < 30 + len("inputs.txt") + 20 + 1024 + 100
