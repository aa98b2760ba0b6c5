"""Print shepard's start-up, zipping throughput, AWS calls per batched job and a 50,000-row watch refresh."""

from __future__ import annotations

import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from shepard_cli._batch import JobSpec, batch_jobs, zip_job
from shepard_cli._watch_filters import WatchFilters
from shepard_cli._watch_loop import scan_snapshot
from shepard_core import JobRow, JobStatus, format_start_time, iso_now

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

MIB = 1024 * 1024


HELP_BUDGET = 1.6
"""`shepard --help` may take at most this many times as long as `python -c "import click"`."""


def _timed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - began


def startup(runs: int = 15) -> None:
    """Median wall time of `shepard --help`, `shepard where-am-i` and `import click`, interleaved."""
    exe = shutil.which("shepard")
    if exe is None:
        print("start-up: `shepard` is not on PATH; skipped")
        return
    commands = {
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "shepard --help": [exe, "--help"],
        "shepard where-am-i": [exe, "where-am-i"],
    }
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):  # interleaved, so a busy moment slows every command alike
        for label, command in commands.items():
            times[label].append(_timed(command))
    medians = {label: statistics.median(values) for label, values in times.items()}
    for label, median in medians.items():
        print(f"start-up: {label:<26} median {median * 1000:6.0f} ms ({runs} runs)")
    ratio = medians["shepard --help"] / medians["python -c 'import click'"]
    print(f"start-up: shepard --help / import click = {ratio:.2f} (budget {HELP_BUDGET})")


def zipping(scratch: Path) -> None:
    """Throughput of zip_job on incompressible bytes and on many small files."""
    big = scratch / "big"
    big.mkdir()
    (big / "inputs.txt").write_text("{}")
    for i in range(4):
        (big / f"part{i}.bin").write_bytes(os.urandom(64 * MIB))
    began = time.perf_counter()
    size = zip_job(JobSpec(big), scratch / "big.zip")
    elapsed = time.perf_counter() - began
    print(
        f"zip: 256 MiB incompressible -> {size / MIB:.0f} MiB in {elapsed:.2f} s ({256 / elapsed:.0f} MiB/s)"
    )
    small = scratch / "small"
    small.mkdir()
    (small / "inputs.txt").write_text("{}")
    for i in range(20_000):
        (small / f"f{i}.txt").write_text(f"file {i}\n")
    began = time.perf_counter()
    zip_job(JobSpec(small), scratch / "small.zip")
    elapsed = time.perf_counter() - began
    print(f"zip: 20,000 small files in {elapsed:.2f} s ({20_000 / elapsed:,.0f} files/s)")


def aws_calls(scratch: Path) -> None:
    """Count the S3 calls batch makes for a small job and for a 100 MiB job (multipart)."""
    server, endpoint = _moto_server()
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="inputs")
        calls: collections.Counter[str] = collections.Counter()
        s3.meta.events.register("before-call.s3", lambda model, **_: calls.update([model.name]))
        for label, payload in (("1 KiB", 1024), ("100 MiB", 100 * MIB)):
            folder = scratch / f"job-{payload}"
            folder.mkdir()
            (folder / "inputs.txt").write_text('{"A": "1"}')
            (folder / "data.bin").write_bytes(os.urandom(payload))
            calls.clear()
            batch_jobs(s3, "inputs", [JobSpec(folder)])
            summary = ", ".join(f"{name} x{count}" for name, count in sorted(calls.items()))
            print(f"aws calls: one {label} job -> {sum(calls.values())} ({summary})")
    finally:
        server.stop()


WATCH_ROWS = 50_000


def _moto_server() -> tuple[ThreadedMotoServer, str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _job_rows(count: int) -> list[dict[str, object]]:
    """Rows shaped like a real batch's: a few inputs each, in a spread of statuses, a few manifest items."""
    spread = [JobStatus.JOB_COMPLETE] * 6 + [JobStatus.SUBMITTED, JobStatus.CALLING_PAYLOAD_CODE]
    spread += [JobStatus.JOB_FAILED, JobStatus.REJECTED]
    now, start = iso_now(), format_start_time()
    items: list[dict[str, object]] = []
    for i in range(count):
        status = spread[i % len(spread)]
        ended = status in {JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED, JobStatus.REJECTED}
        row = JobRow(
            uuid=f"{i:08d}-0000-4000-8000-000000000000",
            status=status,
            inputs={"SAMPLE": f"s{i}", "THRESHOLD": "0.5", "TAG": "bench", "GENOME": "GRCh38/" + "x" * 40},
            input_zip_name=f"batch/{i:08d}.zip",
            is_invoked=False,
            end_time=2_000_000_000,
            submit_time=now,
            start_time=start,
            finish_time=now if ended else None,
            batch_job_id=f"array-{i // 10_000}:{i % 10_000}",
            exit_code=1 if status is JobStatus.JOB_FAILED else None,
            rejection_reason="'UUID' is a reserved keyword" if status is JobStatus.REJECTED else None,
        )
        items.append(row.to_item())
    items += [{"UUID": {"S": f"SHEPARD_ARRAY#bench#{n}"}, "JOB_IDS": {"S": "x" * 1000}} for n in range(5)]
    return items


def watch_refresh(rows: int = WATCH_ROWS, segment_counts: tuple[int, ...] = (8,)) -> None:
    """Seconds, Scan calls and bytes of one `shepard watch` refresh over `rows` rows in moto server.

    moto serves a Scan at a few hundred items a second on these machines, so the seconds measure the
    emulator; the calls and bytes are what a refresh costs against DynamoDB.
    """
    server, endpoint = _moto_server()
    try:
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        dynamodb.create_table(
            TableName="jobs",
            KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        began = time.perf_counter()
        items = _job_rows(rows)
        for start in range(0, len(items), 25):  # BatchWriteItem takes 25 items a call
            pending = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            while pending:
                answer = dynamodb.batch_write_item(RequestItems={"jobs": pending})
                pending = answer.get("UnprocessedItems", {}).get("jobs", [])
        print(f"watch: wrote {rows:,} rows with BatchWriteItem in {time.perf_counter() - began:.1f} s")
        calls = collections.Counter[str]()
        lock = threading.Lock()  # the segments' threads count at once

        def count(http_response: Any, **_: object) -> None:  # noqa: ANN401 - botocore's response
            with lock:
                calls.update({"Scan": 1, "bytes": len(http_response.content)})

        dynamodb.meta.events.register("after-call.dynamodb.Scan", count)
        for segments in segment_counts:
            calls.clear()
            snapshot = scan_snapshot(dynamodb, "jobs", WatchFilters(), segments=segments)
            print(
                f"watch: one refresh over {snapshot.total:,} rows ({snapshot.left_out} items left out), "
                f"{segments} segment(s): {snapshot.scan_seconds:.1f} s, {calls['Scan']} Scan calls, "
                f"{calls['bytes'] / MIB:.1f} MiB of projected items returned"
            )
    finally:
        server.stop()


def main() -> None:
    """Run every measurement and print one line per figure."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    startup()
    with tempfile.TemporaryDirectory(prefix="shepard-bench-") as name:
        zipping(Path(name))
    with tempfile.TemporaryDirectory(prefix="shepard-bench-") as name:
        aws_calls(Path(name))
    watch_refresh()


if __name__ == "__main__":
    main()
