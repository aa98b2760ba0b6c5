"""Print the reads and bytes ZipIndex needs to find and read inputs.txt, beside stdlib zipfile's.

Zips from 1 MB to 4.5 GB are written sparse (the payload is a hole of zeros) in a temporary directory.
Both readers go through byte-counting ranged reads over the local file: ZipIndex through its
RangeReader, zipfile through a seekable file object in which every read() is one ranged GET and the
size comes from one HEAD, as S3 file objects (s3fs, smart_open) without read-ahead behave. The small
sizes are then repeated against moto server to show the GET counts hold over real HTTP. Last, zips of
100,000 and 1,000,000 empty members show the time and peak memory of scanning a huge central directory,
each measured in a fresh process (time without tracing; memory with tracemalloc, and the process's
peak RSS).
"""

from __future__ import annotations

import io
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from shepard_zipindex import (
    DIRECTORY_CHUNK,
    MAX_MEMBERS,
    CountingRangeReader,
    FileRangeReader,
    S3RangeReader,
    ZipIndex,
    ZipIndexError,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from zipindex_testkit import Member, filesystem_supports_holes, many_members_zip, write_sparse_zip64

if TYPE_CHECKING:
    from collections.abc import Callable

MB = 1_000_000
SIZES = [1 * MB, 10 * MB, 100 * MB, 1_000 * MB, 4_500 * MB]
SMALL_FILES = 200
INPUTS = b'{"EXPERIMENT": "bench", "SEED": "42", "TAG": "zipindex"}\n'


class RangedFile(io.RawIOBase):
    """A seekable, read-only file whose every read() is one ranged fetch (one GET on S3)."""

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]) -> None:
        """Serve a blob of `size` bytes through `fetch(start, end)`."""
        super().__init__()
        self._size = size
        self._fetch = fetch
        self._pos = 0

    def readable(self) -> bool:
        """Say the file can be read."""
        return True

    def seekable(self) -> bool:
        """Say the file can seek (S3 ranges allow it)."""
        return True

    def tell(self) -> int:
        """Return the position."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position; no request is made."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Fill `buffer` from the position with one ranged fetch."""
        count = max(0, min(len(buffer), self._size - self._pos))
        if count == 0:
            return 0
        data = self._fetch(self._pos, self._pos + count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def write_job_zip(path: Path, total: int, *, inputs_first: bool, files: int = SMALL_FILES) -> int:
    """Write a job zip of about `total` bytes: inputs.txt, small csv files and a payload hole."""
    small = [Member(f"job/data/file_{i:05d}.csv", b"a,b,c\n%d,2,3\n" % i, deflate=True) for i in range(files)]
    inputs = Member("job/inputs.txt", INPUTS, deflate=True)
    overhead = 64 * 1024
    payload = Member("job/payload.bin", zeros=max(1, total - overhead))
    members = [inputs, *small, payload] if inputs_first else [*small, payload, inputs]
    return write_sparse_zip64(path, members)


def zipindex_cost(reader: CountingRangeReader) -> tuple[int, int]:
    """Return the reads and bytes ZipIndex needs to find and read inputs.txt."""
    index = ZipIndex.open(reader)
    if index.read(index.find_inputs()) != INPUTS:
        raise RuntimeError("ZipIndex read the wrong bytes")
    return reader.reads, reader.bytes_read


def zipfile_cost(size: int, fetch: Callable[[int, int], bytes]) -> tuple[int, int]:
    """Return the requests (HEAD + GETs) and bytes stdlib zipfile needs to find and read inputs.txt."""
    counts = {"requests": 1, "bytes": 0}  # the HEAD that learns the size

    def counted(start: int, end: int) -> bytes:
        data = fetch(start, end)
        counts["requests"] += 1
        counts["bytes"] += len(data)
        return data

    with zipfile.ZipFile(RangedFile(size, counted)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("inputs.txt"))
        if archive.read(name) != INPUTS:
            raise RuntimeError("zipfile read the wrong bytes")
    return counts["requests"], counts["bytes"]


def human(size: int) -> str:
    """Format a byte count in decimal units."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


def local_table(work: Path) -> list[Path]:
    """Print the table over local sparse files; return the small zips for the moto check."""
    sparse = filesystem_supports_holes(work)
    print("Per job zip: ZipIndex.open + find_inputs() + read(), beside stdlib zipfile.ZipFile + read().")
    print("Transport: byte-counting ranged reads over a local sparse file (zipfile: one ranged GET per")
    print("read() of a seekable S3-style file object without read-ahead, plus one HEAD for the size).")
    print(f"Each zip: inputs.txt, {SMALL_FILES} small csv files, one stored payload (a hole of zeros).\n")
    header = (
        f"{'zip size':>10} {'inputs.txt':>11} | {'ZipIndex':>8} {'bytes':>9} | {'zipfile':>7} {'bytes':>9}"
    )
    print(header)
    print(f"{'':>10} {'is':>11} | {'reads':>8} {'fetched':>9} | {'reqs':>7} {'fetched':>9}")
    print("-" * len(header))
    made: list[Path] = []
    for total in SIZES:
        if total > 100 * MB and not sparse:
            print(f"{human(total):>10} skipped: {work} has no sparse files")
            continue
        for inputs_first in (True, False):
            path = work / f"job_{total}_{'first' if inputs_first else 'last'}.zip"
            size = write_job_zip(path, total, inputs_first=inputs_first)
            reads, fetched = zipindex_cost(CountingRangeReader(FileRangeReader(path)))
            plain = FileRangeReader(path)
            requests, zbytes = zipfile_cost(size, plain.read_range)
            where = "first" if inputs_first else "last"
            print(f"{human(total):>10} {where:>11} | {reads:>8} {fetched:>9,} | {requests:>7} {zbytes:>9,}")
            if total <= 10 * MB:
                made.append(path)
            else:
                path.unlink()
    many = 70_000
    path = work / "many.zip"
    size = write_job_zip(path, 100 * MB, inputs_first=True, files=many)
    reads, fetched = zipindex_cost(CountingRangeReader(FileRangeReader(path)))
    requests, zbytes = zipfile_cost(size, FileRangeReader(path).read_range)
    print(f"{'100 MB':>10} {'first':>11} | {reads:>8} {fetched:>9,} | {requests:>7} {zbytes:>9,}", end="")
    print(f"  <- {many:,} files: the central directory outgrows the 64 KiB suffix")
    path.unlink()
    return made


def moto_table(paths: list[Path]) -> None:
    """Print the S3 API calls each reader makes against moto server for the small zips."""
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError:
        print("\n(moto server not installed: the S3 check is skipped)")
        return
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto accepts any key
        )
        s3.create_bucket(Bucket="bench")
        calls: list[str] = []
        s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
        print("\nThe same reads against moto server over HTTP (S3 API calls counted by botocore):")
        print(f"{'zip':>28} | {'ZipIndex calls':>22} | {'zipfile calls':>22}")
        for path in paths:
            s3.upload_file(str(path), "bench", path.name)
            calls.clear()
            zipindex_cost(CountingRangeReader(S3RangeReader(s3, "bench", path.name)))
            ours = f"{len(calls)} ({', '.join(sorted(set(calls)))})"
            calls.clear()
            size = s3.head_object(Bucket="bench", Key=path.name)["ContentLength"]

            def get(start: int, end: int, key: str = path.name) -> bytes:
                body = s3.get_object(Bucket="bench", Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
                return bytes(body.read())

            zipfile_cost(size, get)
            theirs = f"{len(calls)} ({', '.join(sorted(set(calls)))})"
            print(f"{path.name:>28} | {ours:>22} | {theirs:>22}")
    finally:
        server.stop()


MEMBER_COUNTS = [100_000, 1_000_000, 1_000_001]


def measure(mode: str, path: str) -> dict[str, object]:
    """Open the zip, find and read inputs.txt (or meet the refusal); return the figures for one mode."""
    reader = CountingRangeReader(FileRangeReader(path))
    if mode == "memory":
        tracemalloc.start()
    start = time.perf_counter()
    try:
        index = ZipIndex.open(reader)
        outcome = f"read {len(index.read(index.find_inputs()))} bytes of {index.find_inputs()}"
    except ZipIndexError as exc:
        outcome = type(exc).__name__
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if mode == "memory" else 0
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "peak": peak,
        "rss_kib": _peak_rss_kib(),
        "reads": reader.reads,
        "outcome": outcome,
    }


def _peak_rss_kib() -> int:
    """Return this process's peak resident set size since its exec (VmHWM on Linux), in KiB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        # Elsewhere ru_maxrss, which on some systems also counts the parent's memory before exec.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])


def _in_fresh_process(mode: str, path: Path) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - this interpreter and this script, no shell
        [sys.executable, __file__, "--measure", mode, str(path)], capture_output=True, text=True, check=True
    )
    figures: dict[str, object] = json.loads(done.stdout)
    return figures


def huge_directory_table(work: Path) -> None:
    """Print the time, peak memory and reads of indexing zips with very many members."""
    print("\nHuge central directories: ZipIndex.open + find_inputs() + read() in a fresh process,")
    print(f"chunked reads of {DIRECTORY_CHUNK // 2**20} MiB, default cap {MAX_MEMBERS:,} members.")
    header = (
        f"{'members':>10} {'zip size':>9} | {'time':>7} {'reads':>5} | {'traced peak':>11} {'peak RSS':>9}"
    )
    header += " | outcome"
    print(header)
    print("-" * len(header))
    for count in MEMBER_COUNTS:
        path = work / f"many_{count}.zip"
        path.write_bytes(many_members_zip(count - 1, inputs=INPUTS))
        timed = _in_fresh_process("time", path)
        traced = _in_fresh_process("memory", path)
        peak_mib = float(str(traced["peak"])) / 2**20
        rss_mib = float(str(timed["rss_kib"])) / 1024
        print(
            f"{count:>10,} {path.stat().st_size / MB:>6.1f} MB | {float(str(timed['seconds'])):>6.2f}s "
            f"{timed['reads']!s:>5} | {peak_mib:>7.1f} MiB {rss_mib:>5.0f} MiB | {timed['outcome']}"
        )
        path.unlink()
    print("(peak RSS is the whole process, interpreter included; traced peak is what Python allocated)")


def main() -> None:
    """Run the tables in a temporary directory (or measure one zip for the huge-directory table)."""
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
        return
    with tempfile.TemporaryDirectory(prefix="bench-zipindex-") as tmp:
        moto_table(local_table(Path(tmp)))
        huge_directory_table(Path(tmp))


if __name__ == "__main__":
    main()
