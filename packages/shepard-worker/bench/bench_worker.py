# ruff: noqa: INP001 - a script run by nox, not a package
"""Measure the worker's output path (zip + upload, as a whole job) against a plain concurrent upload.

Usage: python packages/shepard-worker/bench/bench_worker.py [--size-mib 1024] [--level 6] [--kinds mixed,...]

Starts a moto server in its own process (so its memory is not counted) and, for SIZE MiB of
outputs in 8 files of each kind (random: incompressible; text: a repeated line; mixed: half
random, half text; csv, on request: lines of varied numbers, slow to deflate), measures each of
these in a fresh child process, in the same run:
  - worker job: a whole `run_job` (process runtime) whose payload only moves the prepared files into
    ROOT_OUTPUT_NAME, so everything timed is worker overhead: claim, staging, zip + upload, statuses;
  - zip only: zip_folder into a sink that drops the bytes (the CPU side of the output path);
  - plain upload: boto3's transfer manager uploading the same files concurrently (no zip).
Prints seconds, the ratio to the plain upload, MB/s of output, peak RSS of the child, scratch disk.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
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


def _text_block(kind: str) -> bytes:
    """Return 4 MiB of text: `text` repeats one line (as logs do), `csv` holds varied numbers."""
    if kind != "csv":
        return (b"sample,reading,42.000,ok,ACGTACGTTGCA\n" * (4 * MIB // 37 + 1))[: 4 * MIB]
    rng = random.Random(14)  # noqa: S311 - sample data, not secrets
    lines = []
    size = 0
    while size < 4 * MIB:
        line = (
            f"sample-{rng.randrange(10**6):06d},chr{rng.randrange(1, 23)},{rng.randrange(10**9)},"
            f"{rng.random():.6f},{''.join(rng.choices('ACGT', k=24))},{rng.choice(['ok', 'low', 'fail'])}\n"
        )
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()[: 4 * MIB]


def _make_output(folder: Path, size_mib: int, kind: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = 8
    per_file = size_mib * MIB // files
    text = _text_block(kind)
    for index in range(files):
        random_file = kind == "random" or (kind == "mixed" and index % 2 == 0)
        with (folder / f"part-{index}.{'bin' if random_file else 'csv'}").open("wb") as f:
            written = 0
            while written < per_file:
                n = min(len(text), per_file - written)
                f.write(os.urandom(n) if random_file else text[:n])
                written += n


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _client(endpoint: str, service: str):  # noqa: ANN202 - boto3 clients are untyped here
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def child_upload(endpoint: str, source: Path, scratch: Path, level: int) -> dict[str, float]:
    """Upload the files as they are, concurrently, with boto3's transfer manager (no zip)."""
    del scratch, level
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    s3 = _client(endpoint, "s3")
    started = time.monotonic()
    with create_transfer_manager(s3, TransferConfig()) as manager:
        futures = [
            manager.upload(str(path), OUTPUTS, f"plain/{path.name}") for path in sorted(source.iterdir())
        ]
        for future in futures:
            future.result()
    return {"seconds": time.monotonic() - started, "scratch_mib": 0.0, "peak_rss_mib": _peak_rss_mib()}


class _Discard:
    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def child_zip(endpoint: str, source: Path, scratch: Path, level: int) -> dict[str, float]:
    """Zip the files into a sink that drops the bytes: the compression side of the output path alone."""
    del endpoint, scratch
    from shepard_worker._zipping import zip_folder

    sink = _Discard()
    started = time.monotonic()
    stats = zip_folder(source, sink, level)
    return {
        "seconds": time.monotonic() - started,
        "scratch_mib": 0.0,
        "peak_rss_mib": _peak_rss_mib(),
        "zipped_mib": sink.size / MIB,
        "stored_files": stats.stored,
    }


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


CHILDREN = {"upload": child_upload, "zip": child_zip, "job": child_job}


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


def _measure(child: str, endpoint: str, dataset: Path, level: int, work: Path) -> dict[str, float]:
    source = dataset
    if child == "job":  # the payload moves its files away: give it hard links to them
        source = work / "job-output"
        source.mkdir()
        for path in dataset.iterdir():
            os.link(path, source / path.name)
    scratch = work / f"{child}-scratch"
    scratch.mkdir()
    try:
        done = subprocess.run(  # noqa: S603 - this script, fixed arguments
            [
                sys.executable,
                __file__,
                "--child",
                child,
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
    finally:
        if source != dataset:
            shutil.rmtree(source, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
        _empty_outputs(endpoint)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _empty_outputs(endpoint: str) -> None:
    s3 = _client(endpoint, "s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=OUTPUTS):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=OUTPUTS, Key=obj["Key"])


def _report(label: str, figures: dict[str, float], baseline: float | None, size_mib: int) -> None:
    detail = ", ".join(
        f"{name.removesuffix('_seconds')} {value:.2f}s"
        for name, value in figures.items()
        if name.endswith("_seconds")
    )
    if "zipped_mib" in figures:
        zipped = f"zip {figures['zipped_mib']:.0f} MiB, {figures['stored_files']:.0f} files stored"
        detail = f"{detail}, {zipped}" if detail else zipped
    ratio = f"{figures['seconds'] / baseline:.2f}x" if baseline else "-"
    rate = size_mib * MIB / 1e6 / figures["seconds"]
    print(  # noqa: T201
        f"  {label:<32}{figures['seconds']:>9.2f}{ratio:>8}{rate:>8.0f}{figures['peak_rss_mib']:>14.0f}"
        f"{figures['scratch_mib']:>13.0f}  {detail}"
    )


def main() -> None:
    """Run the three measurements (or one child, when --child is given) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument(
        "--kinds", default="random,text,mixed", help="comma-separated: random, text, mixed, csv"
    )
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
        print(  # noqa: T201
            f"outputs: {args.size_mib} MiB in 8 files per kind; deflate level {args.level}; "
            f"ratio = seconds / plain concurrent upload of the same files, same run"
        )
        print(  # noqa: T201
            f"  {'approach':<32}{'seconds':>9}{'ratio':>8}{'MB/s':>8}{'peak RSS MiB':>14}"
            f"{'scratch MiB':>13}  detail"
        )
        with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
            for kind in args.kinds.split(","):
                dataset = Path(tmp) / f"{kind}-data"
                _make_output(dataset, args.size_mib, kind)
                print(f"{kind}:")  # noqa: T201
                plain = _measure("upload", endpoint, dataset, args.level, Path(tmp))
                job = _measure("job", endpoint, dataset, args.level, Path(tmp))
                zipped = _measure("zip", endpoint, dataset, args.level, Path(tmp))
                _report("plain concurrent upload", plain, None, args.size_mib)
                _report("worker job (claim..final status)", job, plain["seconds"], args.size_mib)
                _report("zip only (no upload)", zipped, plain["seconds"], args.size_mib)
                shutil.rmtree(dataset)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
