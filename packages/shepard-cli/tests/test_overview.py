"""The overview reader against moto server: counts from the counters, the newest problems, its read cost."""

from __future__ import annotations

import uuid as uuids
from datetime import UTC, datetime, timedelta

import pytest
from shepard_cli._overview import READ_BUDGET, Overview, Throughput, read_overview
from shepard_core import (
    GROUP_OF,
    Attr,
    CountedWriteRefusedError,
    Counts,
    JobRow,
    JobStatus,
    StatusGroup,
    list_attributes,
    manifest_key,
)
from shepard_core._counts import list_shard

BASE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
EMPTY = dict.fromkeys(StatusGroup, 0)


def created(second: float) -> str:
    """Return the creation time `second` seconds after BASE, as the writers write it."""
    return (BASE + timedelta(seconds=second)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job(n: int, status: JobStatus, *, tag: str | None = None, reason: str | None = None) -> JobRow:
    """Return job row number `n` (its UUID derives from n) in `status`."""
    return JobRow(
        uuid=str(uuids.UUID(int=n + 1)),
        status=status,
        inputs={"SAMPLE": str(n), **({"TAG": tag} if tag else {})},
        input_zip_name=f"batch/{n:05d}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        rejection_reason=reason if status is JobStatus.REJECTED else None,
        failure_reason=reason if status is JobStatus.JOB_FAILED else None,
    )


class TestCounts:
    def test_counts_follow_creations_and_moves(self, flock, counted):
        """Counts per group and per TAG are what the counted writes made them, moves included."""
        statuses = [JobStatus.SUBMITTED] * 6 + [JobStatus.JOB_FAILED] * 2 + [JobStatus.REJECTED]
        counted.write(
            [(job(n, status, tag="run1" if n % 2 else None), created(n)) for n, status in enumerate(statuses)]
        )
        first, second = job(0, JobStatus.SUBMITTED).uuid, job(1, JobStatus.SUBMITTED).uuid
        counted.move(first, JobStatus.IN_PROGRESS)
        counted.move(second, JobStatus.IN_PROGRESS)
        counted.move(second, JobStatus.JOB_COMPLETE_PUSHING_TO_S3)  # running to running: no count moves
        counted.move(second, JobStatus.JOB_COMPLETE)
        overview = read_overview(flock.client("dynamodb"), flock.table)
        assert overview.counts.groups == {
            StatusGroup.SUBMITTED: 4,
            StatusGroup.RUNNING: 1,
            StatusGroup.COMPLETE: 1,
            StatusGroup.FAILED: 2,
            StatusGroup.REJECTED: 1,
        }
        assert overview.counts.total == 9
        assert overview.counts.tags == {
            "run1": {**EMPTY, StatusGroup.SUBMITTED: 2, StatusGroup.COMPLETE: 1, StatusGroup.FAILED: 1}
        }

    def test_a_refused_write_moves_no_count(self, flock, counted):
        """A duplicate creation, and a move from a status the row no longer has, leave the counts alone."""
        row = job(0, JobStatus.SUBMITTED)
        counted.write([(row, created(0))])
        with pytest.raises(CountedWriteRefusedError):
            counted.write([(row, created(1))])
        counted.move(row.uuid, JobStatus.JOB_FAILED)
        counted.written[row.uuid] = row  # a second delivery of the same move, from the old status
        with pytest.raises(CountedWriteRefusedError):
            counted.move(row.uuid, JobStatus.JOB_FAILED)
        overview = read_overview(flock.client("dynamodb"), flock.table)
        assert overview.counts.groups == {**EMPTY, StatusGroup.FAILED: 1}

    def test_empty_table(self, flock):
        """A table with no job and no counter reads as zero everywhere, with no problem."""
        overview = read_overview(flock.client("dynamodb"), flock.table)
        assert overview.counts.groups == EMPTY
        assert overview.counts.tags == {}
        assert overview.problems == ()
        assert overview.items_read == 0
        assert overview.read_at.tzinfo is UTC

    def test_rows_without_list_attributes_are_neither_counted_nor_listed(self, flock, counted):
        """Rows written before the counters existed, and array manifests, are not in the overview."""
        dynamodb = flock.client("dynamodb")
        dynamodb.put_item(TableName=flock.table, Item=job(90, JobStatus.JOB_FAILED, reason="old").to_item())
        dynamodb.put_item(
            TableName=flock.table,
            Item={Attr.UUID: {"S": manifest_key("abc", 0)}, Attr.MANIFEST_JOBS: {"L": [{"S": "x"}]}},
        )
        counted.write([(job(1, JobStatus.REJECTED, reason="new"), created(1))])
        overview = read_overview(dynamodb, flock.table)
        assert overview.counts.groups == {**EMPTY, StatusGroup.REJECTED: 1}
        assert [row.reason for row in overview.problems] == ["new"]

    def test_an_item_with_a_status_this_version_does_not_know_is_left_out(self, flock, counted):
        """A failed-group index item whose JOB_STATUS is unknown is skipped, not raised."""
        counted.write([(job(1, JobStatus.JOB_FAILED, reason="known"), created(1))])
        strange = job(2, JobStatus.JOB_FAILED).to_item() | list_attributes(
            job(2, JobStatus.JOB_FAILED).uuid, StatusGroup.FAILED, created(2), None
        )
        strange[Attr.JOB_STATUS] = {"S": "from_a_newer_version"}
        flock.client("dynamodb").put_item(TableName=flock.table, Item=strange)
        overview = read_overview(flock.client("dynamodb"), flock.table)
        assert [row.reason for row in overview.problems] == ["known"]


class TestProblems:
    def test_newest_problems_first_across_shards_and_groups(self, flock, counted):
        """The problems are the newest failed and rejected rows by creation, newest first, from all shards."""
        rows = []
        for n in range(60):
            status = (JobStatus.JOB_FAILED, JobStatus.REJECTED, JobStatus.JOB_COMPLETE)[n % 3]
            rows.append((job(n, status, reason=f"reason {n}"), created(n)))
        counted.write(rows)
        overview = read_overview(flock.client("dynamodb"), flock.table)
        expected = [n for n in reversed(range(60)) if n % 3 != 2][:10]
        assert [row.reason for row in overview.problems] == [f"reason {n}" for n in expected]
        groups = {GROUP_OF[row.status] for row in overview.problems}
        assert groups == {StatusGroup.FAILED, StatusGroup.REJECTED}
        assert overview.items_read <= READ_BUDGET

    @pytest.mark.parametrize(
        ("statuses", "queried"),
        [
            ([JobStatus.REJECTED, JobStatus.JOB_COMPLETE], {"rejected"}),
            ([JobStatus.JOB_FAILED, JobStatus.SUBMITTED], {"failed"}),
            ([JobStatus.JOB_COMPLETE, JobStatus.IN_PROGRESS], set()),
        ],
    )
    def test_a_group_the_counters_hold_no_job_in_is_not_queried(self, flock, counted, statuses, queried):
        """Only the partitions of problem groups with a job in them are read; the problems are the same."""
        counted.write([(job(n, statuses[n % 2], reason=f"reason {n}"), created(n)) for n in range(12)])
        dynamodb = flock.client("dynamodb")
        partitions: list[str] = []
        dynamodb.meta.events.register(
            "before-parameter-build.dynamodb.Query",
            lambda params, **_: partitions.append(params["ExpressionAttributeValues"][":mh"]["S"]),
        )
        overview = read_overview(dynamodb, flock.table)
        assert {value.split("#")[0] for value in partitions} == queried
        problem_statuses = {JobStatus.JOB_FAILED, JobStatus.REJECTED} & set(statuses)
        expected = [n for n in reversed(range(12)) if statuses[n % 2] in problem_statuses][:10]
        assert [row.reason for row in overview.problems] == [f"reason {n}" for n in expected]

    def test_a_table_without_counter_items_is_still_queried(self, flock):
        """With no counter item read (a new table, or one older than the counters) every partition is read."""
        dynamodb = flock.client("dynamodb")
        partitions: list[str] = []
        dynamodb.meta.events.register(
            "before-parameter-build.dynamodb.Query",
            lambda params, **_: partitions.append(params["ExpressionAttributeValues"][":mh"]["S"]),
        )
        assert read_overview(dynamodb, flock.table).problems == ()
        assert {value.split("#")[0] for value in partitions} == {"failed", "rejected"}

    @pytest.mark.parametrize("problems", [0, 1, 3, 10])
    def test_as_many_problems_as_asked(self, flock, counted, problems):
        """`problems` sets how many are listed; zero reads the counters alone."""
        counted.write([(job(n, JobStatus.JOB_FAILED), created(n)) for n in range(20)])
        overview = read_overview(flock.client("dynamodb"), flock.table, problems=problems)
        assert [row.uuid for row in overview.problems] == [
            job(n, JobStatus.JOB_FAILED).uuid for n in reversed(range(20))
        ][:problems]
        if not problems:
            assert overview.items_read == overview.counts.items_read

    @pytest.mark.parametrize(("size", "shape"), [(40, "spread"), (400, "spread"), (200, "one shard")])
    def test_items_read_stays_within_the_budget(self, flock, counted, size, shape):
        """An overview reads at most 100 items however many problems the table holds and however they lie."""
        numbers = range(size)
        if shape == "one shard":  # every row hashes to the same list shard: the worst case for the merge
            numbers = [n for n in range(size * 20) if list_shard(job(n, JobStatus.JOB_FAILED).uuid) == 0]
            numbers = numbers[:size]
        counted.write([(job(n, JobStatus.JOB_FAILED), created(n)) for n in numbers])
        overview = read_overview(flock.client("dynamodb"), flock.table)
        assert overview.counts.groups[StatusGroup.FAILED] == len(numbers)
        assert [row.uuid for row in overview.problems] == [
            job(n, JobStatus.JOB_FAILED).uuid for n in sorted(numbers, reverse=True)[:10]
        ]
        assert overview.items_read <= READ_BUDGET

    def test_a_negative_number_of_problems_is_refused(self, flock):
        """Asking for fewer than zero problems is a clear error."""
        with pytest.raises(ValueError, match="0 or more"):
            read_overview(flock.client("dynamodb"), flock.table, problems=-1)


def overview_at(minute: float, groups: dict[StatusGroup, int]) -> Overview:
    """Return an overview read `minute` minutes after BASE with these counts."""
    counts = Counts(groups={**EMPTY, **groups}, tags={}, items_read=32)
    return Overview(counts=counts, problems=(), items_read=32, read_at=BASE + timedelta(minutes=minute))


class TestThroughput:
    def test_unknown_until_two_looks(self):
        """One overview gives no pace and no ETA (unless nothing is left)."""
        throughput = Throughput()
        assert throughput.jobs_per_minute is None
        assert throughput.eta is None
        throughput.add(overview_at(0, {StatusGroup.SUBMITTED: 10}))
        assert throughput.jobs_per_minute is None
        assert throughput.eta is None

    def test_pace_and_eta(self):
        """Jobs that ran to their end over the span give the pace; the jobs not ended give the ETA."""
        throughput = Throughput()
        throughput.add(overview_at(0, {StatusGroup.SUBMITTED: 100}))
        throughput.add(
            overview_at(2, {StatusGroup.SUBMITTED: 70, StatusGroup.COMPLETE: 15, StatusGroup.FAILED: 5})
        )
        assert throughput.jobs_per_minute == pytest.approx(10.0)
        assert throughput.eta == timedelta(minutes=7)

    def test_rejections_do_not_make_a_pace(self):
        """Rejected jobs end without running: they leave the pace at zero and the ETA unknown."""
        throughput = Throughput()
        throughput.add(overview_at(0, {StatusGroup.SUBMITTED: 10}))
        throughput.add(overview_at(1, {StatusGroup.SUBMITTED: 5, StatusGroup.REJECTED: 5}))
        assert throughput.jobs_per_minute == 0
        assert throughput.eta is None

    def test_window_slides(self):
        """Only the last window (plus the look just before it) makes the pace: an old burst is forgotten."""
        throughput = Throughput(window=timedelta(minutes=5))
        throughput.add(overview_at(0, {StatusGroup.SUBMITTED: 1000}))
        throughput.add(overview_at(1, {StatusGroup.SUBMITTED: 400, StatusGroup.COMPLETE: 600}))
        for minute in range(2, 12):
            throughput.add(
                overview_at(minute, {StatusGroup.SUBMITTED: 400 - minute, StatusGroup.COMPLETE: 600 + minute})
            )
        assert throughput.jobs_per_minute == pytest.approx(1.0)

    def test_done_is_zero(self):
        """With every job ended the ETA is zero, whatever the pace."""
        throughput = Throughput()
        throughput.add(overview_at(0, {StatusGroup.COMPLETE: 3}))
        assert throughput.eta == timedelta(0)
