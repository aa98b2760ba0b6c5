"""Zips built in memory hold what was asked, in order, and the same members make the same bytes."""

from __future__ import annotations

import io
import json
import zipfile

from shepard_testing import job_zip, make_zip


def _open(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


class TestMakeZip:
    def test_members_round_trip_in_order(self):
        """Text and bytes members read back unchanged, in the order given, folders included."""
        data = make_zip([("b.txt", "text"), ("dir/", b""), ("a.bin", b"\x00\x01")])
        with _open(data) as archive:
            assert archive.namelist() == ["b.txt", "dir/", "a.bin"]
            assert archive.read("b.txt") == b"text"
            assert archive.read("a.bin") == b"\x00\x01"
            assert archive.getinfo("dir/").is_dir()

    def test_same_members_same_bytes(self):
        """Two zips of the same members are identical, whatever the clock says."""
        assert make_zip({"x": "1"}) == make_zip({"x": "1"})

    def test_options_reach_the_archive(self):
        """Compression, the archive comment and zip64 extras are applied."""
        data = make_zip({"x": "1" * 100}, compression=zipfile.ZIP_STORED, comment=b"note", force_zip64=True)
        with _open(data) as archive:
            info = archive.getinfo("x")
            assert info.compress_type == zipfile.ZIP_STORED
            assert archive.comment == b"note"
        # zip64: the local header defers both sizes to its zip64 extra field
        assert data[18:26] == b"\xff" * 8

    def test_job_zip_holds_inputs_and_files(self):
        """A job zip holds inputs.txt as JSON beside the files given."""
        with _open(job_zip({"TAG": "t"}, {"data.csv": "1,2"})) as archive:
            assert json.loads(archive.read("inputs.txt")) == {"TAG": "t"}
            assert archive.read("data.csv") == b"1,2"
