# ruff: noqa: INP001 - a script run by nox, not a package
"""Measure the worker's staging and upload overhead for a large output, beside the seed's way.

Usage: python packages/shepard-worker/bench/bench_worker.py [--size-mib 1024] [--level 6]

Starts a moto server in its own process (so its memory is not counted), writes SIZE MiB of output
(half random bytes, half repetitive text) and measures, each in a fresh child process:
  - worker job: a whole `run_job` (process runtime) whose payload only moves the prepared files into
    ROOT_OUTPUT_NAME, so everything timed is worker overhead: claim, staging, zip + upload, statuses;
  - streaming: zip_folder into S3Writer (the worker's output path alone);
  - seed: shutil.make_archive to a local zip, then boto3 upload_file (the seed's way).
Prints seconds, MB/s of output, peak RSS of the child and the scratch disk each needed.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MIB = 1024 * 1024
TABLE, INPUTS, OUTPUTS, ERRORS, QUICK = "bench-jobs", "bench-in", "bench-out", "bench-err", "bench-qd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make_output(folder: Path, size_mib: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = 8
    per_file = size_mib * MIB // files
    line = b"sample,reading,42.000,ok,ACGTACGTTGCA\n"
    for index in range(files):
        with (folder / f"part-{index}.dat").open("wb") as f:
            written = 0
            while written < per_file:
                n = min(8 * MIB, per_file - written)
                f.write(os.urandom(n) if index % 2 == 0 else (line * (n // len(line) + 1))[:n])
                written += n


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _client(endpoint: str, service: str):  # noqa: ANN202 - boto3 clients are untyped here
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def child_seed(endpoint: str, source: Path, scratch: Path, level: int) -> dict[str, float]:
    """Zip to a local file with shutil.make_archive, then upload it (the seed's way)."""
    del level  # make_archive always uses zlib's default level (6)
    s3 = _client(endpoint, "s3")
    started = time.monotonic()
    archive = shutil.make_archive(str(scratch / "result"), "zip", root_dir=source)
    zipped = time.monotonic()
    s3.upload_file(archive, OUTPUTS, "seed.zip")
    done = time.monotonic()
    return {
        "seconds": done - started,
        "zip_seconds": zipped - started,
        "upload_seconds": done - zipped,
        "scratch_mib": Path(archive).stat().st_size / MIB,
        "peak_rss_mib": _peak_rss_mib(),
    }


def child_streaming(endpoint: str, source: Path, scratch: Path, level: int) -> dict[str, float]:
    """Zip straight into a multipart upload (the worker's output path)."""
    del scratch
    from shepard_worker import S3Writer, zip_folder

    s3 = _client(endpoint, "s3")
    started = time.monotonic()
    with S3Writer(s3, OUTPUTS, "streaming.zip", 8 * MIB) as writer:
        zip_folder(source, writer, level)
    return {"seconds": time.monotonic() - started, "scratch_mib": 0.0, "peak_rss_mib": _peak_rss_mib()}


class _StatusTimes(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "shepard_worker._table" and record.args:
            self.times.setdefault(str(record.args[1]), time.monotonic())


def child_job(endpoint: str, source: Path, scratch: Path, level: int) -> dict[str, float]:
    """Run a whole job whose payload only moves the prepared output into place."""
    from shepard_core import JobRow, JobStatus, ttl_after_days
    from shepard_worker import WorkerConfig, run_job

    s3, dynamodb = _client(endpoint, "s3"), _client(endpoint, "dynamodb")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("inputs.txt", json.dumps({"QUICK_DEPLOY_DIRECTORY": "mover"}))
    s3.put_object(Bucket=INPUTS, Key="bench.zip", Body=buffer.getvalue())
    s3.put_object(Bucket=QUICK, Key="mover/run.sh", Body=f'mv {source}/* "$ROOT_OUTPUT_NAME/"\n'.encode())
    row = JobRow(
        uuid="bench-job",
        status=JobStatus.SUBMITTED,
        inputs={"QUICK_DEPLOY_DIRECTORY": "mover"},
        input_zip_name="bench.zip",
        is_invoked=False,
        end_time=ttl_after_days(1),
    )
    dynamodb.put_item(TableName=TABLE, Item=row.to_item())
    mount = scratch / "mnt-root"
    mount.mkdir()
    config = WorkerConfig.from_env(
        {
            "SHEPARD_TABLE_NAME": TABLE,
            "SHEPARD_INPUTS_BUCKET": INPUTS,
            "SHEPARD_OUTPUTS_BUCKET": OUTPUTS,
            "SHEPARD_ERRORS_BUCKET": ERRORS,
            "SHEPARD_QUICK_DEPLOY_BUCKET": QUICK,
            "UUID": "bench-job",
            "SHEPARD_RUNTIME": "process",
            "SHEPARD_ROOT_MOUNT": str(mount),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "SHEPARD_ZIP_COMPRESS_LEVEL": str(level),
        }
    )
    times = _StatusTimes()
    logging.getLogger("shepard_worker").addHandler(times)
    started = time.monotonic()
    result = run_job(config, handle_signals=False, echo=io.BytesIO())
    done = time.monotonic()
    if result.exit_code != 0:
        raise SystemExit(f"bench job failed: {result.reason}")
    t = times.times
    return {
        "seconds": done - started,
        "staging_seconds": t["calling_payload_code"] - started,
        "payload_seconds": t["job_complete_pushing_to_s3"] - t["calling_payload_code"],
        "upload_seconds": t["job_complete_cleaning_up_workspace"] - t["job_complete_pushing_to_s3"],
        "scratch_mib": 0.0,
        "peak_rss_mib": _peak_rss_mib(),
    }


CHILDREN = {"seed": child_seed, "streaming": child_streaming, "job": child_job}


def _setup(endpoint: str) -> None:
    s3, dynamodb = _client(endpoint, "s3"), _client(endpoint, "dynamodb")
    for bucket in (INPUTS, OUTPUTS, ERRORS, QUICK):
        s3.create_bucket(Bucket=bucket)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _measure(kind: str, endpoint: str, size_mib: int, level: int, work: Path) -> dict[str, float]:
    source = work / f"{kind}-output"
    _make_output(source, size_mib)
    scratch = work / f"{kind}-scratch"
    scratch.mkdir()
    done = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--endpoint",
            endpoint,
            "--source",
            str(source),
            "--scratch",
            str(scratch),
            "--level",
            str(level),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the three measurements (or one child, when --child is given) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--endpoint")
    parser.add_argument("--source", type=Path)
    parser.add_argument("--scratch", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.endpoint, args.source, args.scratch, args.level)))  # noqa: T201
        return
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        _setup(endpoint)
        print(f"output: {args.size_mib} MiB in 8 files (half random, half text); deflate level {args.level}")  # noqa: T201
        print(f"{'approach':<34}{'seconds':>9}{'MB/s':>8}{'peak RSS MiB':>14}{'scratch MiB':>13}  detail")  # noqa: T201
        with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
            for kind, label in (
                ("job", "worker job (staging+zip+upload)"),
                ("streaming", "worker zip -> multipart upload"),
                ("seed", "seed: make_archive, then upload"),
            ):
                figures = _measure(kind, endpoint, args.size_mib, args.level, Path(tmp))
                detail = ", ".join(
                    f"{name.removesuffix('_seconds')} {value:.2f}s"
                    for name, value in figures.items()
                    if name.endswith("_seconds")
                )
                rate = args.size_mib * MIB / 1e6 / figures["seconds"]
                print(  # noqa: T201
                    f"{label:<34}{figures['seconds']:>9.2f}{rate:>8.1f}{figures['peak_rss_mib']:>14.0f}"
                    f"{figures['scratch_mib']:>13.0f}  {detail}"
                )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
