import zipfile

import pytest
from shepard_zipindex import (
    CorruptZipError,
    CRCMismatchError,
    DuplicateMemberError,
    MemberNotFoundError,
    MemberTooLargeError,
    NotAZipError,
    ZipIndex,
)


class TestZipIndexOpen:
    def test_names_lists_members_in_order(self, make_zip, serve):
        """names() returns every member in central directory order, folders included."""
        data = make_zip({"job/": b"", "job/inputs.txt": b"{}", "job/data.bin": b"x" * 10})
        assert ZipIndex.open(serve(data)).names() == ["job/", "job/inputs.txt", "job/data.bin"]

    def test_zip64_records_are_followed(self, make_zip, serve):
        """A zip written with zip64 end records and extras indexes like a classic one."""
        data = make_zip({"inputs.txt": b'{"a": 1}'}, force_zip64=True)
        index = ZipIndex.open(serve(data))
        assert index.names() == ["inputs.txt"]
        assert index.read("inputs.txt") == b'{"a": 1}'

    def test_empty_input_is_not_a_zip(self, serve):
        """An empty blob raises NotAZipError saying it is empty."""
        with pytest.raises(NotAZipError, match="empty"):
            ZipIndex.open(serve(b""))

    def test_random_bytes_are_not_a_zip(self, serve):
        """Bytes without an end record raise NotAZipError."""
        with pytest.raises(NotAZipError, match="not a zip"):
            ZipIndex.open(serve(b"hello world, this is plainly not a zip archive"))


class TestZipIndexRead:
    @pytest.mark.parametrize(
        "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
    )
    def test_read_decompresses_every_supported_method(self, make_zip, serve, compression):
        """read() returns the original bytes for stored, deflate, bzip2 and lzma members."""
        payload = b'{"key": "value"}' * 100
        data = make_zip({"inputs.txt": payload, "other": b"z" * 50}, compression=compression)
        assert ZipIndex.open(serve(data)).read("inputs.txt") == payload

    def test_declared_size_over_cap_is_refused(self, make_zip, serve):
        """A member declaring more than max_size bytes raises MemberTooLargeError before any read."""
        data = make_zip({"inputs.txt": b"a" * 2000})
        reader = serve(data)
        index = ZipIndex.open(reader)
        with pytest.raises(MemberTooLargeError, match="more than the 1,000 bytes"):
            index.read("inputs.txt", max_size=1000)
        assert reader.reads == 1

    def test_corrupted_data_fails_the_crc_check(self, make_zip, serve):
        """A flipped byte in stored data raises CRCMismatchError."""
        data = bytearray(make_zip({"inputs.txt": b"0123456789"}, compression=zipfile.ZIP_STORED))
        data[data.index(b"0123456789") + 3] ^= 0x01
        with pytest.raises(CRCMismatchError, match="CRC-32"):
            ZipIndex.open(serve(bytes(data))).read("inputs.txt")

    def test_missing_member_is_named(self, make_zip, serve):
        """Reading an absent name raises MemberNotFoundError naming it."""
        index = ZipIndex.open(serve(make_zip({"a": b"1"})))
        with pytest.raises(MemberNotFoundError, match="'b'"):
            index.read("b")

    def test_duplicate_member_is_ambiguous(self, make_zip, serve):
        """Reading a name held twice raises DuplicateMemberError."""
        with pytest.warns(UserWarning, match="Duplicate name"):
            data = make_zip([("a", b"1"), ("a", b"2")])
        with pytest.raises(DuplicateMemberError, match=r"more than one member named .a."):
            ZipIndex.open(serve(data)).read("a")

    def test_local_header_must_match_central_entry(self, make_zip, serve):
        """A local header naming another member raises CorruptZipError."""
        data = bytearray(make_zip({"inputs.txt": b"{}"}))
        data[30:40] = b"INPUTS.TXT"
        with pytest.raises(CorruptZipError, match="local header"):
            ZipIndex.open(serve(bytes(data))).read("inputs.txt")
