"""Every stored name is unique, every file changed under the zipper is reported, unzip reads 4 GiB members."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import zipfile
from typing import TYPE_CHECKING

import pytest
from shepard_worker._zipformat import LIMIT_32, STORED, Entry
from shepard_worker._zipping import RENAMED_REPORT, SKIPPED_REPORT, zip_folder

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class _Sink:
    """A write-only sink that runs `hook` once, when more than `after` bytes were written."""

    def __init__(self, hook: Callable[[], None] | None = None, after: int = 0) -> None:
        self.data = bytearray()
        self._hook, self._after = hook, after

    def write(self, data: bytes) -> int:
        self.data += data
        if self._hook is not None and len(self.data) > self._after:
            hook, self._hook = self._hook, None
            hook()
        return len(data)


def _zip(folder: Path, sink: _Sink | None = None, level: int = 6) -> zipfile.ZipFile:
    sink = sink or _Sink()
    zip_folder(folder, sink, level, workers=1)
    archive = zipfile.ZipFile(io.BytesIO(bytes(sink.data)))
    assert archive.testzip() is None
    return archive


def _make(folder: Path, raw: bytes, data: bytes | None) -> None:
    """Create a file (or, with `data` None, a folder) named by the raw bytes `raw` under `folder`."""
    path = os.path.join(os.fsencode(folder), raw)  # noqa: PTH118 - bytes path
    if data is None:
        os.mkdir(path)  # noqa: PTH102 - bytes path
        return
    with open(path, "wb") as f:  # noqa: PTH123 - bytes path
        f.write(data)


COLLIDING = {
    "raw byte vs its escape text": [b"bad\xffname", b"bad\\xffname"],
    "escape text on either side of a raw byte": [b"\\xff\xfe", b"\xff\\xfe", b"\\xff\\xfe"],
    "with an extension": [b"r\xff.csv", b"r\\xff.csv", b"r\\xff~1.csv"],
    "hidden file": [b".rc\xff", b".rc\\xff"],
}


class TestUniqueNames:
    @pytest.mark.parametrize("names", list(COLLIDING.values()), ids=list(COLLIDING))
    def test_every_file_gets_its_own_name_and_the_report_says_which_is_which(
        self, tmp_path: Path, names: list[bytes]
    ) -> None:
        """Names that escape to the same text are all stored, each under its own name, each mapped back."""
        for number, raw in enumerate(names):
            _make(tmp_path, raw, b"file %d" % number)
        archive = _zip(tmp_path)
        members = [name for name in archive.namelist() if name != RENAMED_REPORT]
        assert len(members) == len(set(members)) == len(names)
        report = json.loads(archive.read(RENAMED_REPORT))["renamed"]
        original = {item["stored_as"]: bytes.fromhex(item["original_name_hex"]) for item in report}
        contents = {original.get(name, name.encode()): archive.read(name) for name in members}
        assert contents == {raw: b"file %d" % number for number, raw in enumerate(names)}
        for raw in names:  # a UTF-8 name is never the one renamed
            if raw.isascii():
                assert raw.decode() in members

    def test_folders_that_escape_alike_keep_their_contents_apart(self, tmp_path: Path) -> None:
        """A non-UTF-8 folder and the folder named with its escape text both keep their own files."""
        _make(tmp_path, b"d\xff", None)
        _make(tmp_path, b"d\\xff", None)
        _make(tmp_path / os.fsdecode(b"d\xff"), b"x", b"from the raw folder")
        _make(tmp_path / "d\\xff", b"x", b"from the literal folder")
        archive = _zip(tmp_path)
        assert archive.read("d\\xff/x") == b"from the literal folder"
        [item] = json.loads(archive.read(RENAMED_REPORT))["renamed"]
        assert bytes.fromhex(item["original_name_hex"]) == b"d\xff"
        assert archive.read(f"{item['stored_as']}/x") == b"from the raw folder"

    def test_unzip_extracts_every_file(self, tmp_path: Path) -> None:
        """Info-ZIP's unzip extracts all the colliding files: none overwrites another."""
        tool = shutil.which("unzip")
        if tool is None:
            pytest.skip("unzip is not installed")
        out = tmp_path / "out"
        out.mkdir()
        names = [raw for group in COLLIDING.values() for raw in group]
        for number, raw in enumerate(names):
            _make(out, raw, b"file %d" % number)
        target = tmp_path / "out.zip"
        with target.open("wb") as f:
            zip_folder(out, f)
        extracted = tmp_path / "extracted"
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [tool, "-q", str(target), "-d", str(extracted)], capture_output=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(list(extracted.iterdir())) == len(names) + 1  # and the renamed-files report


def _random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    os.utime(path, (946684800, 946684800))  # in 2000: a later write always moves the time
    return data


def _append(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"x" * 4096)


def _overwrite(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"changed")


CHANGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (lambda path: os.truncate(path, 3 * 1024 * 1024), "cut short while being zipped"),
    "grown": (_append, "grew while being zipped"),
    "rewritten": (_overwrite, "written to while being zipped"),
}


class TestChangedUnderTheZipper:
    @pytest.mark.parametrize("change", list(CHANGES))
    def test_a_file_changed_while_zipped_is_reported(self, tmp_path: Path, change: str) -> None:
        """A 20 MiB file truncated, grown or rewritten mid-zip is listed with what happened; no other is."""
        out = tmp_path / "out"
        out.mkdir()
        big = out / "big.bin"
        _random_file(big, 20 * 1024 * 1024)
        before = _random_file(out / "steady.bin", 1024)
        act, reason = CHANGES[change]
        archive = _zip(out, _Sink(lambda: act(big), after=2 * 1024 * 1024))
        report = archive.read(SKIPPED_REPORT).decode().splitlines()
        [line] = [line for line in report[1:] if line.startswith("big.bin\t")]
        assert reason in line
        assert not any(line.startswith("steady.bin") for line in report)
        assert archive.read("steady.bin") == before
        stored = archive.getinfo("big.bin").file_size
        if change == "truncated":
            assert f"{stored} of its {20 * 1024 * 1024} bytes are stored" in line
        else:
            assert stored == 20 * 1024 * 1024

    def test_an_untouched_tree_has_no_report(self, tmp_path: Path) -> None:
        """Files nobody touches while they are zipped are not reported."""
        for number in range(5):
            _random_file(tmp_path / f"f{number}", 3 * 1024 * 1024 + number)
        assert SKIPPED_REPORT not in _zip(tmp_path).namelist()


class _SparseFile:
    """A sink writing a file whose runs of zeros are holes, so a 4 GiB zip of zeros takes no disk."""

    def __init__(self, f: io.BufferedRandom) -> None:
        self._f = f

    def write(self, data: bytes) -> int:
        if data.count(0) == len(data):
            self._f.seek(len(data), os.SEEK_CUR)
        else:
            self._f.write(data)
        return len(data)


def _central_fields(record: bytes) -> tuple[int, int, int, bytes]:
    """Return a central record's 32-bit compressed size, size, offset and its extra field."""
    csize, size = struct.unpack_from("<II", record, 20)
    name_length, extra_length = struct.unpack_from("<HH", record, 28)
    (offset,) = struct.unpack_from("<I", record, 42)
    return csize, size, offset, record[46 + name_length : 46 + name_length + extra_length]


class TestZip64Boundary:
    @pytest.mark.parametrize(
        ("size", "offset"),
        [(LIMIT_32 - 1, 0), (LIMIT_32, 0), (LIMIT_32 + 1, 0), (5, LIMIT_32), (5, LIMIT_32 + 9)],
    )
    def test_a_central_record_holds_all_three_values_or_none(self, size: int, offset: int) -> None:
        """From 0xFFFFFFFF on, every 32-bit field says 0xFFFFFFFF and the zip64 field holds all three."""
        entry = Entry(b"a", STORED, 0o100644, 0.0, crc=0, size=size, compressed_size=size, offset=offset)
        csize32, size32, offset32, extra = _central_fields(entry.central_record())
        if max(size, offset) < LIMIT_32:
            assert (csize32, size32, offset32, extra) == (size, size, offset, b"")
        else:
            assert (csize32, size32, offset32) == (LIMIT_32, LIMIT_32, LIMIT_32)
            assert extra == struct.pack("<HHQQQ", 1, 24, size, size, offset)

    def test_unzip_reads_the_members_after_one_of_exactly_4_gib_less_one_byte(self, tmp_path: Path) -> None:
        """A stored member of 4,294,967,295 bytes, then two more: `unzip -t` and zipfile read them all."""
        tool = shutil.which("unzip")
        if tool is None:
            pytest.skip("unzip is not installed")
        out = tmp_path / "out"
        out.mkdir()
        with out.joinpath("a.bin").open("wb") as sparse:
            sparse.truncate(LIMIT_32)  # a hole: no disk used
        (out / "b.txt").write_bytes(b"hello\n")
        (out / "c.txt").write_bytes(b"world\n")
        target = tmp_path / "out.zip"
        with target.open("w+b") as f:
            zip_folder(out, _SparseFile(f), 0)
            f.truncate()
        done = subprocess.run([tool, "-t", str(target)], capture_output=True, check=False)  # noqa: S603
        assert done.returncode == 0, done.stdout + done.stderr
        assert b"No errors detected" in done.stdout
        assert b"corrupt" not in done.stdout + done.stderr
        with zipfile.ZipFile(target) as archive:
            assert archive.getinfo("a.bin").file_size == LIMIT_32
            assert (archive.read("b.txt"), archive.read("c.txt")) == (b"hello\n", b"world\n")
