"""zip_folder streams a folder into a zip without following symlinks."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from typing import TYPE_CHECKING

from shepard_worker import zip_folder

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
        """A sparse file past 4 GiB is stored with zip64 sizes and reads back whole."""
        big = tmp_path / "big"
        with big.open("wb") as f:
            f.truncate(4 * 1024**3 + 10)
        sink = _Unseekable()
        zip_folder(tmp_path, sink, 1)  # type: ignore[arg-type]
        archive = zipfile.ZipFile(io.BytesIO(bytes(sink.data)))
        info = archive.getinfo("big")
        assert info.file_size == 4 * 1024**3 + 10
        with archive.open("big") as member:
            member.seek(info.file_size - 10)
            assert member.read() == b"\0" * 10
