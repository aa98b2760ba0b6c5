"""Job pages from the list indexes against moto server: order, paging, filters, cursors, read cost."""

from __future__ import annotations

import base64
import json
import uuid as uuids
from datetime import UTC, datetime, timedelta

import pytest
from shepard_cli._job_pages import MAX_PAGE_SIZE, JobFilter, list_jobs
from shepard_cli._oldest_jobs import WAIT_ATTRIBUTES, oldest_jobs
from shepard_core import LIST_SHARDS, Attr, JobRow, JobStatus, StatusGroup, manifest_key

BASE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CYCLE = (
    JobStatus.SUBMITTED,
    JobStatus.IN_PROGRESS,
    JobStatus.JOB_COMPLETE,
    JobStatus.JOB_COMPLETE,
    JobStatus.JOB_FAILED,
    JobStatus.REJECTED,
)
GROUP = {
    JobStatus.SUBMITTED: StatusGroup.SUBMITTED,
    JobStatus.IN_PROGRESS: StatusGroup.RUNNING,
    JobStatus.JOB_COMPLETE: StatusGroup.COMPLETE,
    JobStatus.JOB_FAILED: StatusGroup.FAILED,
    JobStatus.REJECTED: StatusGroup.REJECTED,
}


def moment(n: int) -> datetime:
    """Return the creation moment of job `n`: one second apart, oldest first."""
    return BASE + timedelta(seconds=n)


def job(n: int) -> JobRow:
    """Return job `n`: its status cycles through CYCLE, every third has a TAG, zips under a/ or b/."""
    return JobRow(
        uuid=str(uuids.UUID(int=n + 1)),
        status=CYCLE[n % len(CYCLE)],
        inputs={"N": str(n), **({"TAG": f"run{n % 2}"} if n % 3 == 0 else {})},
        input_zip_name=f"{'ab'[n % 4 == 0]}/{n:05d}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
    )


def numbers(rows) -> list[int]:
    """Return the job numbers of rows, in their order."""
    return [int(row.inputs["N"]) for row in rows]


@pytest.fixture
def jobs(counted):
    """Write 120 counted jobs, created one second apart; return their numbers."""
    counted.write([(job(n), iso(moment(n))) for n in range(120)])
    return list(range(120))


def iso(at: datetime) -> str:
    """Return a moment as the writers write creation times."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def every_page(flock, job_filter: JobFilter, page_size: int) -> tuple[list[int], list[int]]:
    """Follow the cursors to the last page; return the job numbers in order and each page's items read."""
    seen: list[int] = []
    reads: list[int] = []
    cursor = None
    while True:
        page = list_jobs(
            flock.client("dynamodb"), flock.table, job_filter, page_size=page_size, cursor=cursor
        )
        seen += numbers(page.rows)
        reads.append(page.items_read)
        cursor = page.next_cursor
        if cursor is None:
            return seen, reads
        assert len(reads) < 1000, "the cursors never end"


def expected(condition) -> list[int]:
    """Return the numbers of the 120 jobs that meet `condition`, newest first."""
    return [n for n in reversed(range(120)) if condition(n)]


class TestPaging:
    def test_500_jobs_in_pages_of_50(self, flock, counted):
        """Paging through 500 jobs 50 at a time visits each once, newest first, each page read cheaply."""
        counted.write([(job(n), iso(moment(n))) for n in range(500)])
        seen, reads = every_page(flock, JobFilter(), 50)
        assert seen == list(reversed(range(500)))
        assert len(reads) in {10, 11}  # the last may be an empty page when the end was not yet known
        partitions = len(StatusGroup) * LIST_SHARDS
        assert max(reads) <= 50 + 2 * partitions

    def test_the_first_page_reads_a_page_not_the_table(self, flock, jobs):
        """The first page of 5 complete jobs out of 40 reads about 5 items and one short query per shard."""
        complete = JobFilter(groups=frozenset({StatusGroup.COMPLETE}))
        page = list_jobs(flock.client("dynamodb"), flock.table, complete, page_size=5)
        assert numbers(page.rows) == expected(lambda n: n % 6 in {2, 3})[:5]
        assert page.items_read <= 5 + 2 * LIST_SHARDS
        assert page.next_cursor is not None

    def test_empty_table(self, flock):
        """An empty table gives one empty last page."""
        page = list_jobs(flock.client("dynamodb"), flock.table, JobFilter())
        assert page.rows == ()
        assert page.next_cursor is None

    def test_rows_without_list_attributes_counters_and_manifests_are_never_rows(self, flock, counted):
        """Only rows with list attributes are listed: older rows, counter items and manifests are not."""
        dynamodb = flock.client("dynamodb")
        dynamodb.put_item(TableName=flock.table, Item=job(7).to_item())
        dynamodb.put_item(
            TableName=flock.table,
            Item={Attr.UUID: {"S": manifest_key("abc", 0)}, Attr.MANIFEST_JOBS: {"L": [{"S": "x"}]}},
        )
        counted.write([(job(n), iso(moment(n))) for n in (1, 2)])
        seen, _ = every_page(flock, JobFilter(), 1)
        assert seen == [2, 1]

    @pytest.mark.parametrize("page_size", [0, -1, MAX_PAGE_SIZE + 1])
    def test_a_page_size_out_of_range_is_refused(self, flock, page_size):
        """A page size below 1 or above the limit is a clear error."""
        with pytest.raises(ValueError, match="page_size must be between 1"):
            list_jobs(flock.client("dynamodb"), flock.table, JobFilter(), page_size=page_size)


FILTERS = {
    "group": (JobFilter(groups=frozenset({StatusGroup.FAILED})), lambda n: n % 6 == 4),
    "groups": (
        JobFilter(groups=frozenset({StatusGroup.SUBMITTED, StatusGroup.REJECTED})),
        lambda n: n % 6 in {0, 5},
    ),
    "all-groups": (JobFilter(groups=frozenset(StatusGroup)), lambda _: True),
    "tag": (JobFilter(tag="run1"), lambda n: n % 3 == 0 and n % 2 == 1),
    "tag+groups": (
        JobFilter(tag="run0", groups=frozenset({StatusGroup.SUBMITTED, StatusGroup.COMPLETE})),
        lambda n: n % 6 == 0,
    ),
    "unknown-tag": (JobFilter(tag="no-such-tag"), lambda _: False),
    "since": (JobFilter(since=moment(100)), lambda n: n >= 100),
    "until": (JobFilter(until=moment(10)), lambda n: n < 10),
    "since+until": (JobFilter(since=moment(30), until=moment(41)), lambda n: 30 <= n < 41),
    "empty-window": (JobFilter(since=moment(41), until=moment(30)), lambda _: False),
    "naive-since-is-utc": (JobFilter(since=moment(30).replace(tzinfo=None)), lambda n: n >= 30),
    "prefix": (JobFilter(key_prefix="b/"), lambda n: n % 4 == 0),
    "narrow-prefix": (JobFilter(key_prefix="b/0001"), lambda n: n % 4 == 0 and 10 <= n < 20),
    "group+since+prefix": (
        JobFilter(groups=frozenset({StatusGroup.COMPLETE}), since=moment(20), key_prefix="a/"),
        lambda n: n % 6 in {2, 3} and n >= 20 and n % 4 != 0,
    ),
}
"""Filters over the 120 jobs of the `jobs` fixture, and which job numbers each selects."""


class TestFilters:
    def test_every_page_of_every_filter(self, flock, jobs):
        """Following each filter's cursors (pages of 50) lists exactly the jobs it selects, newest first."""
        for name, (job_filter, condition) in FILTERS.items():
            seen, _ = every_page(flock, job_filter, 50)
            assert seen == expected(condition), name

    def test_small_pages(self, flock, jobs):
        """Pages of 7 rows (many pages, partitions read out at different times) list the same jobs."""
        for name in ("groups", "tag+groups", "since+until", "prefix"):
            job_filter, condition = FILTERS[name]
            seen, _ = every_page(flock, job_filter, 7)
            assert seen == expected(condition), name

    def test_a_sparse_filter_stops_early_and_resumes(self, flock, counted, monkeypatch):
        """A page whose filter matches few rows stops at its read budget; the cursor resumes from there."""
        from shepard_cli import _job_pages

        monkeypatch.setattr(_job_pages, "READ_BUDGET_PER_ROW", 10)
        counted.write([(job(n), iso(moment(n))) for n in range(300)])
        job_filter = JobFilter(groups=frozenset({StatusGroup.COMPLETE}), key_prefix="b/000")
        pages = []
        cursor = None
        while True:
            page = list_jobs(flock.client("dynamodb"), flock.table, job_filter, page_size=2, cursor=cursor)
            pages.append(page)
            assert page.items_read <= 10 * 2 + 2 * LIST_SHARDS
            cursor = page.next_cursor
            if cursor is None:
                break
        assert [n for page in pages for n in numbers(page.rows)] == [92, 80, 68, 56, 44, 32, 20, 8]
        assert any(len(page.rows) < 2 and page.next_cursor for page in pages)


NUMBERED = (*WAIT_ATTRIBUTES, "N")
"""What a long wait reads of a row, and the job's number (an input) to name it in these tests."""


class TestOldestAndCounted:
    @pytest.mark.parametrize(
        "name",
        ["group", "groups", "tag", "tag+groups", "until", "since+until", "unknown-tag", "empty-window"],
    )
    @pytest.mark.parametrize("count", [1, 7, 50])
    def test_the_oldest_jobs_of_a_filter_and_their_number(self, flock, jobs, name, count):
        """The oldest `count` jobs of a filter come oldest first, across every list shard, all counted."""
        job_filter, condition = FILTERS[name]
        dynamodb = flock.client("dynamodb")
        oldest = oldest_jobs(dynamodb, flock.table, job_filter, count=count, most=1000, attributes=NUMBERED)
        assert numbers(oldest.rows) == list(reversed(expected(condition)))[:count]
        assert (oldest.total, oldest.more) == (len(expected(condition)), False)

    def test_one_short_query_per_shard(self, flock, counted):
        """The 30 oldest of 500 submitted jobs, and their number, come from one query per shard."""
        counted.write([(job(6 * n), iso(moment(6 * n))) for n in range(500)])  # all submitted
        submitted = JobFilter(groups=frozenset({StatusGroup.SUBMITTED}))
        dynamodb = flock.client("dynamodb")
        queries = []
        dynamodb.meta.events.register(
            "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(params)
        )
        oldest = oldest_jobs(dynamodb, flock.table, submitted, count=30, most=1000, attributes=NUMBERED)
        assert numbers(oldest.rows) == [6 * n for n in range(30)]
        assert (oldest.total, oldest.more) == (500, False)
        assert len(queries) == LIST_SHARDS
        assert all(
            set(query["ExpressionAttributeNames"].values()) >= set(WAIT_ATTRIBUTES) for query in queries
        )

    def test_past_its_limit_the_count_is_a_floor_and_the_oldest_still_the_oldest(self, flock, counted):
        """Reading 4 of about 31 jobs per shard: the count says "at least 64", the 4 oldest are exact."""
        counted.write([(job(6 * n), iso(moment(6 * n))) for n in range(500)])
        submitted = JobFilter(groups=frozenset({StatusGroup.SUBMITTED}))
        dynamodb = flock.client("dynamodb")
        oldest = oldest_jobs(dynamodb, flock.table, submitted, count=4, most=64, attributes=NUMBERED)
        assert numbers(oldest.rows) == [0, 6, 12, 18]
        assert (oldest.total, oldest.more) == (64, True)
        assert oldest.items_read == 64


def cursor_of(document: object) -> str:
    """Return a cursor made of any JSON document."""
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


class TestCursors:
    def test_a_cursor_continues_strictly_after_the_last_row_shown(self, flock, jobs):
        """Page two starts right after page one's last row, with no row repeated or skipped."""
        dynamodb = flock.client("dynamodb")
        first = list_jobs(dynamodb, flock.table, JobFilter(), page_size=4)
        second = list_jobs(dynamodb, flock.table, JobFilter(), page_size=4, cursor=first.next_cursor)
        assert numbers(first.rows) + numbers(second.rows) == expected(lambda _: True)[:8]
        assert first.next_cursor is not None
        assert first.next_cursor.replace("-", "").replace("_", "").isalnum()  # URL-safe as it is

    def test_a_cursor_of_another_filter_is_refused(self, flock, jobs):
        """A cursor made under one filter is refused under another, saying to start again."""
        dynamodb = flock.client("dynamodb")
        page = list_jobs(dynamodb, flock.table, JobFilter(tag="run1"), page_size=2)
        with pytest.raises(ValueError, match="other filters; start again from the first page"):
            list_jobs(dynamodb, flock.table, JobFilter(tag="run0"), page_size=2, cursor=page.next_cursor)

    def test_page_size_may_change_between_pages(self, flock, jobs):
        """The cursor belongs to the filter, not to the page size."""
        dynamodb = flock.client("dynamodb")
        first = list_jobs(dynamodb, flock.table, JobFilter(), page_size=3)
        second = list_jobs(dynamodb, flock.table, JobFilter(), page_size=5, cursor=first.next_cursor)
        assert numbers(second.rows) == expected(lambda _: True)[3:8]

    @pytest.mark.parametrize(
        "cursor",
        [
            "",
            "not a cursor!",
            "%%%",
            base64.urlsafe_b64encode(b"\xff\xfe").decode(),
            cursor_of([1, 2]),
            cursor_of({"v": 2, "f": JobFilter().fingerprint(), "t": "x"}),
            cursor_of({"v": 1, "f": JobFilter().fingerprint(), "t": 5}),
            cursor_of({"v": 1, "f": JobFilter().fingerprint(), "t": ""}),
            cursor_of({"v": 1, "t": "2026"}),
        ],
    )
    def test_a_malformed_cursor_is_refused(self, flock, jobs, cursor):
        """A cursor this list did not make raises ValueError with a clear message."""
        with pytest.raises(ValueError, match="cursor"):
            list_jobs(flock.client("dynamodb"), flock.table, JobFilter(), cursor=cursor)


class TestSample:
    def test_a_sample_comes_from_the_shards_asked_for(self, flock, jobs):
        """sample_jobs lists the newest jobs of the first shards only, newest first, with no next page."""
        from shepard_cli._job_pages import sample_jobs
        from shepard_core._counts import list_shard

        page = sample_jobs(flock.client("dynamodb"), flock.table, JobFilter(), shards=2, count=10)
        assert numbers(page.rows) == expected(lambda n: list_shard(job(n).uuid) < 2)[:10]
        assert page.next_cursor is None
        assert page.items_read <= 10 + 2 * len(StatusGroup) * 2

    @pytest.mark.parametrize("shards", [0, LIST_SHARDS + 1])
    def test_shards_out_of_range_are_refused(self, flock, shards):
        """A sample of no shard, or of more shards than there are, is a clear error."""
        from shepard_cli._job_pages import sample_jobs

        with pytest.raises(ValueError, match="shards must be between 1"):
            sample_jobs(flock.client("dynamodb"), flock.table, JobFilter(), shards=shards, count=5)
