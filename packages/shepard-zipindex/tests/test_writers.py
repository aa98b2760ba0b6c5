import json
import zipfile
from pathlib import Path

import pytest
import shepard_zipindex
from shepard_zipindex import FileRangeReader, ZipIndex

ZIPS_DIR = Path(__file__).parent / "zips"
EXPECTED = json.loads((ZIPS_DIR / "expected.json").read_text())
READABLE = sorted(name for name, outcome in EXPECTED["zips"].items() if "inputs" in outcome)
# The standard library takes the last end-record signature it finds, here the fake one in the comment.
STDLIB_MISREADS = {"infozip_3_0_comment_with_fake_end_record.zip"}
REFUSED = sorted(name for name, outcome in EXPECTED["zips"].items() if "error" in outcome)


class TestOtherWriters:
    @pytest.mark.parametrize("name", READABLE)
    def test_inputs_are_found_and_read(self, name):
        """Zips from Info-ZIP, 7-Zip, bsdtar and jar give their inputs.txt byte for byte."""
        index = ZipIndex.open(FileRangeReader(ZIPS_DIR / name))
        found = index.find_inputs()
        assert found == EXPECTED["zips"][name]["inputs"]
        assert index.read(found).decode() == EXPECTED["inputs_txt"]

    @pytest.mark.parametrize("name", sorted(set(READABLE) - STDLIB_MISREADS))
    def test_every_member_matches_stdlib_zipfile(self, name):
        """Every file member reads the same through ZipIndex as through the standard library."""
        index = ZipIndex.open(FileRangeReader(ZIPS_DIR / name))
        with zipfile.ZipFile(ZIPS_DIR / name) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    assert index.read(info.filename, max_size=1 << 24) == archive.read(info)

    @pytest.mark.parametrize("name", REFUSED)
    def test_unsupported_zips_raise_their_specific_error(self, name):
        """Encrypted, Deflate64, split and malformed zips raise their own ZipIndexError subclass."""
        outcome = EXPECTED["zips"][name]
        error = getattr(shepard_zipindex, outcome["error"])
        with pytest.raises(error, match=outcome["match"]):
            _read_inputs(ZIPS_DIR / name)

    def test_fake_end_record_in_comment_is_skipped(self):
        """An archive comment holding end-record signatures is returned whole, where zipfile gives up."""
        path = ZIPS_DIR / "infozip_3_0_comment_with_fake_end_record.zip"
        index = ZipIndex.open(FileRangeReader(path))
        assert index.comment.startswith(b"comment with a fake end record: PK\x05\x06")
        with pytest.raises(zipfile.BadZipFile):
            zipfile.ZipFile(path)


def _read_inputs(path: Path) -> bytes:
    index = ZipIndex.open(FileRangeReader(path))
    return index.read(index.find_inputs())
