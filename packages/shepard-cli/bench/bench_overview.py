"""Print what a `shepard watch` refresh costs at 1,000 and 100,000 jobs: the old scan, the overview reader.

A moto server gets a job table with the ByStatusGroup and ByTag indexes, filled with job rows in a
realistic mix of statuses (mostly complete, some waiting and running, a few failed and rejected; a third
of them with one of a few TAGs), created over the last hours. To fill it fast, the rows are written with
BatchWriteItem, their list attributes set as the writers set them, and the counter items are written
directly with the matching totals (spread over the counter shards), not moved one job at a time by
`transact_counted` as the flock's writers move them: the result reads the same.

For each size it prints, per reader, the items read (counter items, index and table items evaluated:
what DynamoDB bills), the bytes of the answers, and the seconds per refresh (the median of a few):
- the old full scan, as `shepard watch` read before (`_table_scan`, 8 parallel segments);
- `read_overview` (one BatchGetItem of the counters and the newest 10 problems);
- `list_jobs` page 1 and page 2 (50 jobs each, newest first, every group).
Plain moto answers a query by sorting every item of the table, so there the seconds of the index
readers grow with the table too; `--server local` runs the local flock's emulator instead, whose index
queries start from the partition's items (shepard_local._emulator_index_query). Items and bytes are
what a refresh costs on DynamoDB. `--scan-up-to N` skips the old scan above N jobs (it takes minutes).

    nox -s "bench(part='overview')" -- [--sizes 1000,100000] [--repeat 3] [--server moto|local]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from shepard_cli._job_pages import JobFilter, list_jobs
from shepard_cli._overview import read_overview
from shepard_cli._watch_filters import WatchFilters
from shepard_cli._watch_loop import scan_snapshot
from shepard_core import (
    COUNTER_SHARDS,
    GROUP_OF,
    Attr,
    GroupMove,
    JobRow,
    JobStatus,
    format_start_time,
    job_table_definition,
    list_attributes,
)
from shepard_core._counts import count_deltas, counter_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TABLE = "bench-jobs"
KIB = 1024
MIX = (
    [JobStatus.JOB_COMPLETE] * 70
    + [JobStatus.SUBMITTED] * 12
    + [JobStatus.CALLING_PAYLOAD_CODE] * 8
    + [JobStatus.JOB_COMPLETE_PUSHING_TO_S3] * 2
    + [JobStatus.JOB_FAILED] * 6
    + [JobStatus.REJECTED] * 2
)
"""A hundred statuses in the proportions of a big batch well under way."""
TAGS = ("run-a", "run-b", "run-c", "rerun-17", "pilot")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row(n: int, rng: random.Random, now: datetime) -> tuple[dict[str, Any], GroupMove]:
    """Return job `n`'s item (with its list attributes) and the count it adds."""
    status = rng.choice(MIX)
    tag = rng.choice(TAGS) if rng.random() < 1 / 3 else None
    created = now - timedelta(seconds=rng.uniform(0, 6 * 3600))
    iso = _iso(created)
    ended = GROUP_OF[status].value in {"complete", "failed", "rejected"}
    uuid = f"{n:08x}-{rng.getrandbits(16):04x}-4000-8000-{rng.getrandbits(48):012x}"
    row = JobRow(
        uuid=uuid,
        status=status,
        inputs={
            "SAMPLE": f"s{n}",
            "THRESHOLD": "0.5",
            "GENOME": "GRCh38/" + "x" * 40,
            **({"TAG": tag} if tag else {}),
        },
        input_zip_name=f"batch/{n:08d}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        submit_time=None if status is JobStatus.REJECTED else iso,
        start_time=format_start_time(created + timedelta(seconds=20)),
        finish_time=(created + timedelta(seconds=90))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
        if ended
        else None,
        exit_code=1 if status is JobStatus.JOB_FAILED else None,
        failure_reason="run.sh exited with 1" if status is JobStatus.JOB_FAILED else None,
        rejection_reason="'UUID' is a reserved keyword" if status is JobStatus.REJECTED else None,
    )
    return row.to_item() | list_attributes(uuid, GROUP_OF[status], iso, tag), GroupMove(
        None, GROUP_OF[status], tag
    )


def _write_items(dynamodb: Any, items: list[dict[str, Any]]) -> None:  # noqa: ANN401 - a boto3 client
    """Write items with BatchWriteItem, 25 a call, until none is left unprocessed."""
    for start in range(0, len(items), 25):
        pending = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        while pending:
            answer = dynamodb.batch_write_item(RequestItems={TABLE: pending})
            pending = answer.get("UnprocessedItems", {}).get(TABLE, [])


def _write_counters(dynamodb: Any, moves: list[GroupMove]) -> None:  # noqa: ANN401 - a boto3 client
    """Write the counter items with the totals of `moves`, spread over every counter shard."""
    totals = count_deltas(moves)
    for shard in range(COUNTER_SHARDS):
        item: dict[str, Any] = {Attr.UUID: {"S": counter_key(shard)}}
        for name, total in totals.items():
            share = total // COUNTER_SHARDS + (1 if shard < total % COUNTER_SHARDS else 0)
            item[name] = {"N": str(share)}
        dynamodb.put_item(TableName=TABLE, Item=item)


class Meter:
    """Counts what DynamoDB answered: items evaluated (or returned, for BatchGetItem) and bytes."""

    def __init__(self, dynamodb: Any) -> None:  # noqa: ANN401 - a boto3 client
        """Listen to every answer of the client."""
        self.items = 0
        self.bytes = 0
        self._lock = threading.Lock()
        dynamodb.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, http_response: Any, parsed: dict[str, Any], **_: object) -> None:  # noqa: ANN401
        with self._lock:
            self.bytes += len(http_response.content)
            if "ScannedCount" in parsed:
                self.items += int(parsed["ScannedCount"])
            for items in parsed.get("Responses", {}).values():
                self.items += len(items)

    def measure(self, read: Callable[[], object], repeat: int) -> tuple[int, int, float]:
        """Return the items and bytes of one `read`, and its median seconds over `repeat` runs."""
        seconds = []
        for _ in range(repeat):
            with self._lock:
                self.items = self.bytes = 0
            began = time.perf_counter()
            read()
            seconds.append(time.perf_counter() - began)
        return self.items, self.bytes, statistics.median(seconds)


def _report(size: int, meter: Meter, dynamodb: Any, repeat: int, *, scan: bool) -> None:  # noqa: ANN401
    """Print one line per reader for a table of `size` jobs (the old scan only with `scan`)."""
    first = list_jobs(dynamodb, TABLE, JobFilter(), page_size=50)
    old = [("old: full scan (watch before)", lambda: scan_snapshot(dynamodb, TABLE, WatchFilters()), 1)]
    readers: list[tuple[str, Callable[[], object], int]] = [
        *(old if scan else []),
        ("new: read_overview", lambda: read_overview(dynamodb, TABLE), repeat),
        ("new: list_jobs page 1 (50)", lambda: list_jobs(dynamodb, TABLE, JobFilter(), page_size=50), repeat),
        (
            "new: list_jobs page 2 (50)",
            lambda: list_jobs(dynamodb, TABLE, JobFilter(), page_size=50, cursor=first.next_cursor),
            repeat,
        ),
    ]
    overview = read_overview(dynamodb, TABLE)
    print(f"\n{size:,} jobs (counted: {overview.counts.total:,}; {len(overview.problems)} problems shown)")
    print(f"  {'reader':<32} {'items read':>11} {'KiB read':>10} {'s/refresh':>10}")
    for label, read, runs in readers:
        items, size_bytes, seconds = meter.measure(read, runs)
        print(f"  {label:<32} {items:>11,} {size_bytes / KIB:>10,.1f} {seconds:>10.3f}")


def main() -> None:
    """Fill the table to each size in turn and print the cost of a refresh at each."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000", help="table sizes, comma separated (ascending)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each index reader (the median shown)")
    parser.add_argument(
        "--server",
        choices=("moto", "local"),
        default="moto",
        help="plain moto, or the local flock's emulator",
    )
    parser.add_argument("--scan-up-to", type=int, default=None, help="skip the old scan above this many jobs")
    options = parser.parse_args()
    sizes = sorted(int(size.replace("_", "")) for size in options.sizes.split(","))
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with _server(options.server) as endpoint:
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        dynamodb.create_table(**job_table_definition(TABLE))
        rng, now = random.Random(21), datetime.now(UTC)  # noqa: S311 - a repeatable mix, not a secret
        moves: list[GroupMove] = []
        for size in sizes:
            began = time.perf_counter()
            made = [_row(n, rng, now) for n in range(len(moves), size)]
            _write_items(dynamodb, [item for item, _ in made])
            moves += [move for _, move in made]
            _write_counters(dynamodb, moves)
            print(f"filled to {size:,} rows with BatchWriteItem in {time.perf_counter() - began:.1f} s")
            scan = options.scan_up_to is None or size <= options.scan_up_to
            _report(size, Meter(dynamodb), dynamodb, options.repeat, scan=scan)


@contextlib.contextmanager
def _server(kind: str) -> Iterator[str]:
    """Run plain moto (in this process) or the local flock's emulator (a process); yield its endpoint."""
    if kind == "moto":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()
        return
    from shepard_local._control import free_port

    port = free_port()
    command = [sys.executable, "-m", "shepard_local._emulator", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        print(f"the local flock's emulator on {endpoint}")
        yield endpoint
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
