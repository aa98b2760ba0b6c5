"""A full disk never costs the payload: the worker drops its log copy's disk part, says so, and goes on."""

from __future__ import annotations

import errno
import io
import logging
import os
import subprocess
import tempfile
import types
from typing import TYPE_CHECKING

import pytest
from shepard_core import JobStatus
from shepard_worker import ExitCode, _log_copy, run_job
from shepard_worker._log_copy import CappedCopy

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LINES_BEFORE, LINES_AFTER = 50, 3000
LINE = "%0100d"


def payload_script(exit_code: int) -> str:
    """Print some lines, fill the job's file system from the output folder, print many more, exit."""
    return (
        f'i=0; while [ $i -lt {LINES_BEFORE} ]; do printf "before $i {LINE}\\n" 0; i=$((i+1)); done\n'
        'dd if=/dev/zero of="$ROOT_OUTPUT_NAME/fill" bs=4096 2>/dev/null\n'
        f'i=0; while [ $i -lt {LINES_AFTER} ]; do printf "after $i {LINE}\\n" 0; i=$((i+1)); done\n'
        "echo last-line\n"
        f"exit {exit_code}\n"
    )


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Mount a 2 MiB tmpfs for the job's folders and the worker's temporary files (skip if we cannot)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)]
    mounted = subprocess.run(command, capture_output=True, check=False)  # noqa: S603 - fixed arguments
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    (disk / "root").mkdir()
    (disk / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(disk / "tmp"))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: S603, S607 - the system's umount


def run(flock, disk: Path, echo: io.BytesIO):
    config = flock.config(SHEPARD_ROOT_MOUNT=str(disk / "root"))
    return run_job(config, handle_signals=False, echo=echo)


class TestRealFullDisk:
    def test_a_job_filling_its_disk_still_completes_with_every_line_echoed(
        self, flock, full_disk: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The payload fills the disk and prints on: it exits 0, the outputs go up, the row is complete."""
        # GIVEN a payload that fills its file system (which holds the worker's temporary files too)
        flock.quick_deploy("qd", {"run.sh": payload_script(0)})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        echo = io.BytesIO()
        # WHEN the worker runs it
        with caplog.at_level(logging.WARNING, "shepard_worker"):
            result = run(flock, full_disk, echo)
        # THEN the payload was not killed (no SIGPIPE): it printed every line and exited 0
        assert result.exit_code is ExitCode.OK, result.reason
        assert result.payload_exit_code == 0
        lines = echo.getvalue().splitlines()
        assert len(lines) == LINES_BEFORE + LINES_AFTER + 1
        assert lines[-1] == b"payload| last-line"
        # AND the output (the file that filled the disk) was uploaded, streamed, and the row is complete
        [key] = flock.keys(flock.OUTPUTS)
        assert flock.zip(flock.OUTPUTS, key).getinfo("fill").file_size > 1024 * 1024
        assert flock.job().status is JobStatus.JOB_COMPLETE
        # AND the worker said its log copy could not stay on disk
        assert "could not keep the payload's log on disk (No space left on device)" in caplog.text

    def test_a_failing_job_on_a_full_disk_leaves_its_error_zip(self, flock, full_disk: Path) -> None:
        """A payload failing on a full disk gets its error zip, its log's head and tail, and a final row."""
        # GIVEN a payload that fills its file system, prints on, and fails
        flock.quick_deploy("qd", {"run.sh": payload_script(4)})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs it
        result = run(flock, full_disk, io.BytesIO())
        # THEN the failure is recorded with the payload's exit code
        assert result.exit_code is ExitCode.PAYLOAD_FAILED
        assert result.payload_exit_code == 4
        row = flock.job()
        assert (row.status, row.exit_code) == (JobStatus.JOB_FAILED, 4)
        # AND the error zip holds every line in order, with a marker where the disk copy stopped (when the
        # worker read that far before the disk filled is up to the scheduler: any place is right)
        archive = flock.zip(flock.ERRORS, result.error_key)
        log = archive.read("payload.log").decode().splitlines()
        [marker] = [n for n, line in enumerate(log) if line.startswith("[shepard: ")]
        assert log[marker].startswith("[shepard: the worker could not keep this log on disk (No space left")
        expected = [f"before {n} {0:0100d}" for n in range(LINES_BEFORE)]
        expected += [f"after {n} {0:0100d}" for n in range(LINES_AFTER)] + ["last-line"]
        assert log[:marker] + log[marker + 1 :] == expected
        assert archive.read("exit_code.txt") == b"4\n"
        assert b"could not keep the payload's log on disk" in archive.read("worker.log")


def failing_os(site: str, after: int, error: int = errno.ENOSPC) -> types.SimpleNamespace:
    """Return `os` for _log_copy whose `site` call fails with `error` from its `after`-th call on."""
    calls = {"n": 0}

    def failing(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(error, os.strerror(error))
        return getattr(os, site)(*args)

    names = ("dup", "close", "pwrite", "pread")
    return types.SimpleNamespace(**{n: failing if n == site else getattr(os, n) for n in names})


class TestInjectedFailures:
    @pytest.mark.parametrize(("site", "after"), [("pwrite", 0), ("pwrite", 10), ("dup", 0)])
    def test_a_write_failure_keeps_every_line_in_order(
        self, monkeypatch: pytest.MonkeyPatch, site: str, after: int
    ) -> None:
        """Whichever disk call fails, the copy keeps what it wrote, a marker, then the rest from memory."""
        monkeypatch.setattr(_log_copy, "os", failing_os(site, after))
        copy = CappedCopy(head_bytes=10_000, tail_bytes=10_000)
        for number in range(40):
            copy.write(f"line {number}\n".encode())
        lines = b"".join(copy.chunks()).decode().splitlines()
        kept = after if site == "pwrite" else 0
        assert lines[:kept] == [f"line {n}" for n in range(kept)]
        assert lines[kept].startswith("[shepard: the worker could not keep this log on disk (No space left")
        assert lines[kept + 1 :] == [f"line {n}" for n in range(kept, 40)]
        assert copy.disk_error == "No space left on device"
        copy.close()

    def test_a_temporary_file_that_cannot_be_made_is_a_degraded_copy(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No temporary file at all (ENOSPC on create): every line is kept in memory."""

        def no_file() -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(_log_copy.tempfile, "TemporaryFile", no_file)
        copy = CappedCopy(head_bytes=10_000, tail_bytes=10_000)
        copy.write(b"one\n")
        copy.write(b"two\n")
        assert b"".join(copy.chunks()).endswith(b"memory]\none\ntwo\n")
        copy.close()

    @pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO])
    def test_a_read_failure_still_yields_a_marker_and_the_tail(
        self, monkeypatch: pytest.MonkeyPatch, error: int
    ) -> None:
        """A head that cannot be read back is replaced by a marker; the in-memory tail follows."""
        copy = CappedCopy(head_bytes=20, tail_bytes=10_000)
        for number in range(10):
            copy.write(f"line {number}\n".encode())
        monkeypatch.setattr(_log_copy, "os", failing_os("pread", 0, error))
        text = b"".join(copy.chunks()).decode()
        assert f"[shepard: could not read the log copy after 0 bytes: [Errno {error}]" in text
        assert text.endswith("line 9\n")
        monkeypatch.undo()
        copy.close()

    @pytest.mark.parametrize(("site", "after"), [("pwrite", 5), ("pread", 0), ("dup", 0)])
    def test_the_job_ends_with_its_error_zip_whatever_site_fails(
        self, flock, monkeypatch: pytest.MonkeyPatch, site: str, after: int
    ) -> None:
        """With the log copy's disk failing at one site, a failing job still gets its row and error zip."""
        # GIVEN a payload printing 300 lines and failing, and a disk that fails the copy at `site`
        script = 'i=0; while [ $i -lt 300 ]; do echo "l $i"; i=$((i+1)); done\nexit 6\n'
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        monkeypatch.setattr(_log_copy, "os", failing_os(site, after))
        echo = io.BytesIO()
        # WHEN the worker runs it
        result = run_job(flock.config(), handle_signals=False, echo=echo)
        # THEN every line was echoed, the row is failed with the payload's code, the error zip is there
        assert echo.getvalue().count(b"\n") == 300
        assert result.payload_exit_code == 6
        assert flock.job().status is JobStatus.JOB_FAILED
        log = flock.zip(flock.ERRORS, result.error_key).read("payload.log").decode()
        assert "[shepard: " in log
        if site == "pread":  # the whole log was in the unreadable head: the marker says what happened
            expected = "could not read the log copy after 0 bytes: [Errno 28] No space left on device"
            assert log == f"\n[shepard: {expected}]\n"
        else:
            assert log.endswith("l 299\n")
