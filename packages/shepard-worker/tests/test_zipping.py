"""zip_folder streams a folder into a zip without following symlinks."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from typing import TYPE_CHECKING

import pytest
from shepard_worker._zipping import zip_folder

if TYPE_CHECKING:
    from pathlib import Path


class _Unseekable(io.RawIOBase):
    """A write-only sink that can tell but not seek, like an upload stream."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.data += b
        return len(b)

    def tell(self) -> int:
        return len(self.data)

    def seekable(self) -> bool:
        return False

    def seek(self, *_args: object) -> int:
        raise OSError("not seekable")


def _zip(folder: Path, level: int = 6) -> zipfile.ZipFile:
    sink = _Unseekable()
    zip_folder(folder, sink, level)  # type: ignore[arg-type]
    return zipfile.ZipFile(io.BytesIO(bytes(sink.data)))


class TestZipFolder:
    def test_files_and_folders_keep_their_paths_content_and_modes(self, tmp_path: Path) -> None:
        """Nested files are stored under their relative paths with their bytes and permission bits."""
        (tmp_path / "a" / "b").mkdir(parents=True)
        (tmp_path / "a" / "b" / "deep.txt").write_bytes(b"deep" * 1000)
        (tmp_path / "run").write_text("#!/bin/sh\n")
        (tmp_path / "run").chmod(0o755)
        (tmp_path / "empty").mkdir()
        archive = _zip(tmp_path)
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["a/", "a/b/", "a/b/deep.txt", "empty/", "run"]
        assert archive.read("a/b/deep.txt") == b"deep" * 1000
        assert stat.S_IMODE(archive.getinfo("run").external_attr >> 16) == 0o755
        assert archive.getinfo("a/b/deep.txt").compress_type == zipfile.ZIP_DEFLATED

    def test_level_zero_stores_without_compression(self, tmp_path: Path) -> None:
        """Compression level 0 stores members as they are."""
        (tmp_path / "f").write_bytes(b"x" * 100)
        assert _zip(tmp_path, 0).getinfo("f").compress_type == zipfile.ZIP_STORED

    def test_a_symlinked_folder_is_not_walked(self, tmp_path: Path) -> None:
        """A symlink to a folder outside is stored as a link; nothing under its target is read."""
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret").write_text("do not leak")
        folder = tmp_path / "out"
        folder.mkdir()
        (folder / "escape").symlink_to(outside)
        archive = _zip(folder)
        assert archive.namelist() == ["escape"]
        assert archive.read("escape") == str(outside).encode()
        assert stat.S_ISLNK(archive.getinfo("escape").external_attr >> 16)

    def test_fifos_are_skipped_without_blocking(self, tmp_path: Path) -> None:
        """A fifo in the output folder is skipped (opening it would hang the worker)."""
        os.mkfifo(tmp_path / "pipe")
        (tmp_path / "f").write_text("x")
        assert _zip(tmp_path).namelist() == ["f"]

    def test_a_big_member_gets_zip64_sizes(self, tmp_path: Path) -> None:
        """A sparse file past 4 GiB is stored with zip64 sizes and reads back whole, and so does the next."""
        big = tmp_path / "big"
        with big.open("wb") as f:
            f.truncate(4 * 1024**3 + 10)
        (tmp_path / "z-after").write_bytes(os.urandom(1000))
        sink = _Unseekable()
        zip_folder(tmp_path, sink, 1)  # type: ignore[arg-type]
        archive = zipfile.ZipFile(io.BytesIO(bytes(sink.data)))
        info = archive.getinfo("big")
        assert info.file_size == 4 * 1024**3 + 10
        with archive.open("big") as member:
            member.seek(info.file_size - 10)
            assert member.read() == b"\0" * 10
        assert archive.read("z-after") == (tmp_path / "z-after").read_bytes()


def _varied_text(size: int) -> bytes:
    """Return `size` bytes of text that deflates well but never repeats within a 1 MiB chunk."""
    lines = b"".join(b"%d,%d,%x\n" % (i, i * 7919 % 100_003, i * i) for i in range(size // 12 + 1))
    return lines[:size]


class TestWhatIsDeflated:
    @pytest.mark.parametrize(
        ("name", "data", "method"),
        [
            ("random.bin", os.urandom(200_000), zipfile.ZIP_STORED),
            ("table.csv", _varied_text(200_000), zipfile.ZIP_DEFLATED),
            ("already.gz", _varied_text(200_000), zipfile.ZIP_STORED),
            ("reads.BAM", _varied_text(200_000), zipfile.ZIP_STORED),
            ("tiny", b"abc", zipfile.ZIP_STORED),
            ("empty.txt", b"", zipfile.ZIP_STORED),
        ],
    )
    def test_each_file_is_deflated_only_if_it_pays(
        self, tmp_path: Path, name: str, data: bytes, method: int
    ) -> None:
        """Compressed suffixes, incompressible and tiny files are stored; text is deflated; all read back."""
        (tmp_path / name).write_bytes(data)
        archive = _zip(tmp_path)
        assert archive.testzip() is None
        assert archive.getinfo(name).compress_type == method
        assert archive.read(name) == data

    @pytest.mark.parametrize("workers", [1, 2, 5])
    def test_chunks_deflated_in_parallel_join_into_the_file(self, tmp_path: Path, workers: int) -> None:
        """A file of many chunks deflates on any number of threads into one stream that inflates to it."""
        data = _varied_text(5 * 1024 * 1024 + 12_345)
        (tmp_path / "big.csv").write_bytes(data)
        sink = _Unseekable()
        stats = zip_folder(tmp_path, sink, 6, workers=workers)  # type: ignore[arg-type]
        archive = zipfile.ZipFile(io.BytesIO(bytes(sink.data)))
        assert archive.testzip() is None
        assert archive.read("big.csv") == data
        assert stats.deflated == 1
        assert archive.getinfo("big.csv").compress_size < len(data) // 2

    def test_more_than_65535_members_get_a_zip64_end_record(self, tmp_path: Path) -> None:
        """A zip of 66,000 files carries the zip64 end record, and every member is listed."""
        fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for n in range(66_000):
                os.close(os.open(f"f{n:05d}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        finally:
            os.close(fd)
        sink = _Unseekable()
        zip_folder(tmp_path, sink, 6)  # type: ignore[arg-type]
        data = bytes(sink.data)
        assert b"PK\x06\x06" in data[-200:]
        assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 66_000
