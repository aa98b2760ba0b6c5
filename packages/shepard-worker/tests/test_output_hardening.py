"""One bad output never costs a job its outputs: odd names, unreadable files, deep trees, special modes."""

from __future__ import annotations

import ctypes
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest
from shepard_core import JobStatus
from shepard_worker import ExitCode, run_job
from shepard_worker._tree import remove_tree, tree_size
from shepard_worker._zipping import zip_folder

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3


class _Sink:
    """A write-only sink collecting what is written (no tell, no seek: like the upload pipe)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def _zip(folder: Path, level: int = 6) -> zipfile.ZipFile:
    sink = _Sink()
    zip_folder(folder, sink, level)
    archive = zipfile.ZipFile(io.BytesIO(bytes(sink.data)))
    assert archive.testzip() is None
    return archive


def _nest(top: Path, depth: int, name: str = "d") -> bytes:
    """Create `depth` nested folders under `top` by descriptors (past PATH_MAX too); return the leaf path."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"at the bottom\n")
        os.close(leaf)
    finally:
        os.close(fd)
    return b"/".join([name.encode()] * depth + [b"leaf.txt"])


def _drop_file_override() -> None:
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
            if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _zip_unprivileged(folder: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """Zip `folder` into `target` in a process that cannot override file permissions (even as root)."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom shepard_worker._zipping import zip_folder\n"
        "with open(sys.argv[2], 'wb') as f:\n    zip_folder(Path(sys.argv[1]), f)\n"
    )
    return subprocess.run(  # noqa: S603 - a fixed argument list
        [sys.executable, "-c", code, str(folder), str(target)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=_drop_file_override,
    )


class TestNamesThatAreNotUtf8:
    @pytest.mark.parametrize(
        ("raw", "escaped"),
        [
            (b"bad\xffname", "bad\\xffname"),
            (b"\xe9t\xe9.csv", "\\xe9t\\xe9.csv"),
            (b"half\xe2\x82", "half\\xe2\\x82"),
        ],
    )
    def test_a_file_is_stored_escaped_and_its_bytes_recorded(
        self, tmp_path: Path, raw: bytes, escaped: str
    ) -> None:
        """A non-UTF-8 file name is stored escaped beside good files; the report maps it back to its bytes."""
        (tmp_path / "good.txt").write_text("good")
        with open(os.path.join(os.fsencode(tmp_path), raw), "wb") as f:  # noqa: PTH118, PTH123 - bytes path
            f.write(b"payload bytes")
        archive = _zip(tmp_path)
        assert archive.read(escaped) == b"payload bytes"
        assert archive.read("good.txt") == b"good"
        report = json.loads(archive.read("SHEPARD_RENAMED_FILES.json"))
        assert report["renamed"] == [{"stored_as": escaped, "original_name_hex": raw.hex()}]

    def test_a_folder_with_a_bad_name_keeps_its_contents(self, tmp_path: Path) -> None:
        """Everything under a folder with a non-UTF-8 name is stored under the escaped folder name."""
        folder = os.path.join(os.fsencode(tmp_path), b"dir\x80")  # noqa: PTH118 - bytes path
        os.mkdir(folder)  # noqa: PTH102 - bytes path
        with open(os.path.join(folder, b"inner.txt"), "wb") as f:  # noqa: PTH118, PTH123 - bytes path
            f.write(b"inner")
        archive = _zip(tmp_path)
        assert archive.read("dir\\x80/inner.txt") == b"inner"
        stored = {
            item["stored_as"] for item in json.loads(archive.read("SHEPARD_RENAMED_FILES.json"))["renamed"]
        }
        assert stored == {"dir\\x80"}  # what it holds moves with it

    def test_utf8_names_are_stored_as_they_are_with_the_utf8_flag(self, tmp_path: Path) -> None:
        """A UTF-8 name is stored unchanged, flagged UTF-8, and no renaming report is added."""
        (tmp_path / "résumé-日本.txt").write_text("x")
        archive = _zip(tmp_path)
        assert archive.namelist() == ["résumé-日本.txt"]
        assert archive.getinfo("résumé-日本.txt").flag_bits & 0x800

    def test_a_whole_job_with_a_bad_name_completes_with_every_output(self, flock) -> None:
        r"""A payload writing bad\xffname beside good files ends job_complete with all of them uploaded."""
        script = (
            'printf x > "$ROOT_OUTPUT_NAME/$(printf "bad\\377name")"\necho ok > "$ROOT_OUTPUT_NAME/good"\n'
        )
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run_job(flock.config(), handle_signals=False, echo=io.BytesIO())
        assert result.exit_code == ExitCode.OK, result.reason
        assert flock.job().status is JobStatus.JOB_COMPLETE
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        assert sorted(archive.namelist()) == ["SHEPARD_RENAMED_FILES.json", "bad\\xffname", "good"]
        assert archive.read("bad\\xffname") == b"x"


class TestFilesTheWorkerCannotRead:
    def test_a_file_that_vanishes_before_it_is_read_is_skipped_and_reported(
        self, tmp_path, monkeypatch
    ) -> None:
        """A file deleted between the folder scan and its opening is left out and named in the report."""
        (tmp_path / "a-stays").write_text("a")
        (tmp_path / "b-goes").write_text("b")
        (tmp_path / "c-stays").write_text("c")
        real_open = os.open

        def open_after_delete(path, flags, mode=0o777, *, dir_fd=None):
            if path == "b-goes":
                os.unlink(path, dir_fd=dir_fd)
            return real_open(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(os, "open", open_after_delete)
        archive = _zip(tmp_path)
        assert sorted(archive.namelist()) == ["SHEPARD_SKIPPED_FILES.txt", "a-stays", "c-stays"]
        report = archive.read("SHEPARD_SKIPPED_FILES.txt").decode()
        assert "b-goes\tNo such file or directory" in report

    def test_a_file_that_shrinks_while_zipped_is_stored_as_read(self, tmp_path, monkeypatch) -> None:
        """A file cut short after its size was taken is stored as far as it still goes, with a correct CRC."""
        data = os.urandom(3 * 1024 * 1024)
        (tmp_path / "shrinks.bin").write_bytes(data)
        real_fstat = os.fstat

        def fstat_then_truncate(fd: int) -> os.stat_result:
            st = real_fstat(fd)
            if stat.S_ISREG(st.st_mode):
                os.truncate(tmp_path / "shrinks.bin", 1024 * 1024 + 5)
            return st

        monkeypatch.setattr(os, "fstat", fstat_then_truncate)
        archive = _zip(tmp_path)
        assert archive.read("shrinks.bin") == data[: 1024 * 1024 + 5]

    def test_unreadable_files_and_folders_are_skipped_for_an_unprivileged_worker(
        self, tmp_path: Path
    ) -> None:
        """A chmod 000 file and folder are left out and reported; everything readable is stored."""
        out = tmp_path / "out"
        (out / "locked-dir").mkdir(parents=True)
        (out / "locked-dir" / "hidden").write_text("h")
        (out / "closed").write_text("c")
        (out / "open").write_text("o")
        (out / "closed").chmod(0)
        (out / "locked-dir").chmod(0)
        done = _zip_unprivileged(out, tmp_path / "out.zip")
        (out / "locked-dir").chmod(0o755)
        assert done.returncode == 0, done.stderr
        archive = zipfile.ZipFile(tmp_path / "out.zip")
        assert sorted(archive.namelist()) == ["SHEPARD_SKIPPED_FILES.txt", "locked-dir/", "open"]
        report = archive.read("SHEPARD_SKIPPED_FILES.txt").decode()
        assert "closed\tPermission denied" in report
        assert "locked-dir\tPermission denied" in report
        assert "skipping closed: Permission denied" in done.stderr

    def test_the_report_does_not_replace_a_payload_file_of_the_same_name(self, tmp_path, monkeypatch) -> None:
        """A payload's own SHEPARD_SKIPPED_FILES.txt is kept; the worker's report takes a free name."""
        (tmp_path / "SHEPARD_SKIPPED_FILES.txt").write_text("mine")
        (tmp_path / "gone").write_text("g")
        real_open = os.open

        def open_after_delete(path, flags, mode=0o777, *, dir_fd=None):
            if path == "gone":
                os.unlink(path, dir_fd=dir_fd)
            return real_open(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(os, "open", open_after_delete)
        archive = _zip(tmp_path)
        assert archive.read("SHEPARD_SKIPPED_FILES.txt") == b"mine"
        assert "gone\t" in archive.read("SHEPARD_SKIPPED_FILES-1.txt").decode()


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Path]:
    """Return an empty folder that is removed without recursion afterwards (pytest's own cleanup recurses)."""
    folder = tmp_path / "deep"
    folder.mkdir()
    yield folder
    remove_tree(folder)


class TestDeepTrees:
    DEPTH = 1_100

    def test_the_size_walk_reaches_the_bottom(self, deep: Path) -> None:
        """The output size walk counts a file 1,100 folders deep (no RecursionError)."""
        _nest(deep, self.DEPTH)
        assert tree_size(deep) == len(b"at the bottom\n")

    @pytest.mark.parametrize(("depth", "name"), [(1_100, "d"), (40, "n" * 200)])
    def test_the_zip_holds_the_deepest_file(self, deep: Path, depth: int, name: str) -> None:
        """Deep trees, even past PATH_MAX, are zipped whole: every folder and the deepest file."""
        leaf = _nest(deep, depth, name)
        archive = _zip(deep)
        assert archive.read(leaf.decode()) == b"at the bottom\n"
        assert len(archive.namelist()) == depth + 1

    @pytest.mark.parametrize(("depth", "name"), [(1_100, "d"), (40, "n" * 200)])
    def test_removal_deletes_everything(self, deep: Path, depth: int, name: str) -> None:
        """A deep tree, even past PATH_MAX and with locked folders, is removed without recursion."""
        top = deep / "job"
        top.mkdir()
        _nest(top, depth, name)
        (top / name).chmod(0o500)
        remove_tree(top)
        assert list(deep.iterdir()) == []

    def test_removal_never_follows_a_symlink(self, tmp_path: Path) -> None:
        """A symlink inside the removed tree is unlinked; its target survives."""
        keep = tmp_path / "keep"
        keep.mkdir()
        (keep / "precious").write_text("p")
        top = tmp_path / "job"
        top.mkdir()
        (top / "link").symlink_to(keep)
        remove_tree(top)
        assert (keep / "precious").read_text() == "p"
        assert not top.exists()

    def test_a_whole_job_with_a_deep_tree_completes_and_cleans_up(self, flock) -> None:
        """A payload leaving 1,100 nested folders ends job_complete, its zip uploaded, no folders left."""
        script = 'cd "$ROOT_OUTPUT_NAME"\ni=0\n'
        script += "while [ $i -lt 1100 ]; do mkdir d; cd d; i=$((i+1)); done\necho x > f\n"
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        try:
            result = run_job(flock.config(), handle_signals=False, echo=io.BytesIO())
            assert result.exit_code == ExitCode.OK, result.reason
            assert flock.job().status is JobStatus.JOB_COMPLETE
            archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
            assert archive.read("d/" * 1100 + "f") == b"x\n"
            assert list(flock.mounts["root"].iterdir()) == []
        finally:
            remove_tree(flock.mounts["root"])


class TestStoredModes:
    @pytest.mark.parametrize("extra", [stat.S_ISUID, stat.S_ISGID, stat.S_ISUID | stat.S_ISGID])
    def test_files_lose_setuid_and_setgid_bits(self, tmp_path: Path, extra: int) -> None:
        """A setuid or setgid file is stored with its rwx bits only."""
        (tmp_path / "tool").write_text("#!/bin/sh\n")
        (tmp_path / "tool").chmod(0o755 | extra)
        mode = _zip(tmp_path).getinfo("tool").external_attr >> 16
        assert stat.S_ISREG(mode)
        assert stat.S_IMODE(mode) == 0o755

    @pytest.mark.parametrize("extra", [stat.S_ISVTX, stat.S_ISGID])
    def test_folders_lose_sticky_and_setgid_bits(self, tmp_path: Path, extra: int) -> None:
        """A sticky or setgid folder is stored with its rwx bits only."""
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared").chmod(0o775 | extra)
        mode = _zip(tmp_path).getinfo("shared/").external_attr >> 16
        assert stat.S_ISDIR(mode)
        assert stat.S_IMODE(mode) == 0o775


@pytest.fixture
def unzip_tool() -> str:
    """Return Info-ZIP's unzip, or skip when it is not installed."""
    tool = shutil.which("unzip")
    if tool is None:
        pytest.skip("unzip is not installed")
    return tool


class TestZipsOtherToolsOpen:
    def test_unzip_finds_every_crc_correct(self, tmp_path: Path, unzip_tool: str) -> None:
        """`unzip -t` accepts a zip of stored, deflated, multi-chunk, empty, linked and renamed members."""
        out = tmp_path / "out"
        (out / "sub").mkdir(parents=True)
        (out / "random.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
        (out / "sub" / "text.csv").write_bytes(b"".join(b"%d,%d\n" % (i, i * i) for i in range(400_000)))
        (out / "empty").write_bytes(b"")
        (out / "link").symlink_to("sub/text.csv")
        (out / os.fsdecode(b"odd\xff")).write_text("odd")
        target = tmp_path / "out.zip"
        with target.open("wb") as f:
            zip_folder(out, f)
        done = subprocess.run([unzip_tool, "-t", str(target)], capture_output=True, check=False)  # noqa: S603
        assert done.returncode == 0, done.stdout
        assert b"No errors detected" in done.stdout
