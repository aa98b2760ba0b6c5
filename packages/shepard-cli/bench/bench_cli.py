"""Print shepard's start-up time, batch zipping throughput and the AWS calls one batched job costs."""

from __future__ import annotations

import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from shepard_cli._batch import JobSpec, batch_jobs, zip_job

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
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}")
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


def main() -> None:
    """Run every measurement and print one line per figure."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    startup()
    with tempfile.TemporaryDirectory(prefix="shepard-bench-") as name:
        zipping(Path(name))
    with tempfile.TemporaryDirectory(prefix="shepard-bench-") as name:
        aws_calls(Path(name))


if __name__ == "__main__":
    main()
