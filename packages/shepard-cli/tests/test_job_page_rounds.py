"""How many queries a job page costs, counted through a real moto-server client: rounds, not one per row."""

from __future__ import annotations

import math
import threading
import uuid as uuids
from datetime import UTC, datetime, timedelta
from typing import Any

from shepard_cli._job_pages import JobFilter, list_jobs
from shepard_core import LIST_SHARDS, JobRow, JobStatus, StatusGroup
from shepard_core._counts import list_shard

BASE = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
STATUS_OF = {
    StatusGroup.SUBMITTED: JobStatus.SUBMITTED,
    StatusGroup.RUNNING: JobStatus.IN_PROGRESS,
    StatusGroup.COMPLETE: JobStatus.JOB_COMPLETE,
    StatusGroup.FAILED: JobStatus.JOB_FAILED,
    StatusGroup.REJECTED: JobStatus.REJECTED,
}
PARTITIONS = len(StatusGroup) * LIST_SHARDS


class CountingClient:
    """A DynamoDB client that counts its Query calls and their Limits, then asks the real client."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.limits: list[int] = []

    def query(self, **request: Any) -> Any:
        """Note the call's Limit and forward it."""
        with self._lock:
            self.limits.append(int(request["Limit"]))
        return self._client.query(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def iso(at: datetime) -> str:
    """Return a moment as the writers write creation times."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uuid_in_shard(shard: int, taken: set[str]) -> str:
    """Return a fresh job UUID whose list shard is `shard`."""
    n = len(taken)
    while True:
        n += 1
        candidate = str(uuids.UUID(int=n * 7919))
        if candidate not in taken and list_shard(candidate) == shard:
            taken.add(candidate)
            return candidate


def row(uuid: str, group: StatusGroup, n: int) -> JobRow:
    """Return job `n` (its number in inputs) in `group`."""
    return JobRow(
        uuid=uuid,
        status=STATUS_OF[group],
        inputs={"N": str(n)},
        input_zip_name=f"a/{n:05d}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
    )


def write_spread(counted: Any, per_partition: int) -> list[int]:
    """Write `per_partition` jobs into each of the 80 partitions, the newest 80 one per partition.

    Return the job numbers, newest first. Job n is created n seconds after BASE.
    """
    taken: set[str] = set()
    groups = list(StatusGroup)
    made = []
    n = 0
    for _ in range(per_partition):
        for shard in range(LIST_SHARDS):
            for group in groups:
                made.append((row(uuid_in_shard(shard, taken), group, n), iso(BASE + timedelta(seconds=n))))
                n += 1
    counted.write(made)
    return list(range(n - 1, -1, -1))


def test_a_page_of_fifty_over_eighty_partitions_is_one_round_of_queries(flock, counted):
    """Newest rows spread one per partition: each partition is queried once, with its share plus one."""
    newest = write_spread(counted, per_partition=4)
    client = CountingClient(flock.client("dynamodb"))
    page = list_jobs(client, flock.table, JobFilter(), page_size=50)  # type: ignore[arg-type]
    assert [int(job.inputs["N"]) for job in page.rows] == newest[:50]
    assert len(client.limits) == PARTITIONS
    assert set(client.limits) == {math.ceil(50 / PARTITIONS) + 1}
    assert page.next_cursor is not None


def test_every_page_of_a_spread_table_takes_at_most_two_rounds(flock, counted):
    """Following the cursors over 320 jobs, each page of 50 costs at most two queries per partition."""
    newest = write_spread(counted, per_partition=4)
    seen: list[int] = []
    cursor = None
    while True:
        client = CountingClient(flock.client("dynamodb"))
        page = list_jobs(client, flock.table, JobFilter(), page_size=50, cursor=cursor)  # type: ignore[arg-type]
        assert len(client.limits) <= 2 * PARTITIONS
        seen += [int(job.inputs["N"]) for job in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == newest


def test_one_group_page_reads_its_sixteen_partitions_together(flock, counted):
    """A filter on one group queries its 16 partitions, each first with ceil(50 / 16) + 1 rows."""
    newest = write_spread(counted, per_partition=4)
    client = CountingClient(flock.client("dynamodb"))
    job_filter = JobFilter(groups=frozenset({StatusGroup.FAILED}))
    page = list_jobs(client, flock.table, job_filter, page_size=50)  # type: ignore[arg-type]
    failed = [n for n in newest if n % len(StatusGroup) == list(StatusGroup).index(StatusGroup.FAILED)]
    assert [int(job.inputs["N"]) for job in page.rows] == failed[:50]
    assert client.limits[:LIST_SHARDS] == [math.ceil(50 / LIST_SHARDS) + 1] * LIST_SHARDS
    assert len(client.limits) <= 2 * LIST_SHARDS
