"""`shepard watch` against moto server: its outputs, its filters, its parallel scan, Ctrl-C."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from shepard_cli import _watch_loop
from shepard_cli._table_scan import _scan_segment, rows_from_items, scan_items
from shepard_cli._watch_counted import CountedWatch
from shepard_cli._watch_filters import WatchFilters, scan_request
from shepard_core import (
    Attr,
    JobRow,
    JobStatus,
    error_object_name,
    format_start_time,
    is_manifest_key,
    manifest_key,
    rejection_report_key,
)

NOW = datetime.now(UTC)
MANIFEST = {Attr.UUID: {"S": manifest_key("0123abcd", 0)}, Attr.MANIFEST_JOBS: {"L": [{"S": "x"}]}}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _put(counted, uuid: str, status: JobStatus, *, age_minutes: float = 1, zip_name=None, **fields) -> JobRow:
    """Write a counted job row created and submitted `age_minutes` ago; ended rows end a little later."""
    submitted = datetime.now(UTC) - timedelta(minutes=age_minutes)
    ended = status in {JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED, JobStatus.REJECTED}
    row = JobRow(
        uuid=uuid,
        status=status,
        inputs=fields.pop("inputs", {"SAMPLE": uuid}),
        input_zip_name=zip_name or f"batch/{uuid}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        submit_time=None if status is JobStatus.REJECTED else _iso(submitted),
        start_time=format_start_time(submitted + timedelta(seconds=5)),
        finish_time=_iso(submitted + timedelta(seconds=30)) if ended else None,
        **fields,
    )
    counted.write([(row, _iso(submitted))])
    return row


@pytest.fixture
def rows(flock, counted):
    """A row in every status, a failed one tagged, a rejected one, an old one, and an array manifest."""
    made = {status: _put(counted, f"job-{i:02d}", status) for i, status in enumerate(JobStatus)}
    made["tagged"] = _put(
        counted,
        "job-tagged",
        JobStatus.JOB_FAILED,
        inputs={"Tag": "run1"},
        exit_code=3,
        zip_name="other/t.zip",
    )
    made["old"] = _put(counted, "job-old", JobStatus.JOB_COMPLETE, age_minutes=600)
    flock.client("dynamodb").put_item(TableName=flock.table, Item=MANIFEST)
    return made


def _json(run, *args):
    result = run("watch", "--once", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


class TestOutputs:
    def test_json_snapshot_counts_every_group(self, run, rows):
        """--once --output json counts the rows of every status in its group and skips the manifest."""
        document = _json(run, "--errors-bucket", "errs")
        assert document["counts"] == {"submitted": 2, "running": 6, "complete": 2, "failed": 2, "rejected": 1}
        assert document["total"] == 13
        assert document["ended"] == 5
        assert document["left_out_items"] == 0
        assert document["rate_per_minute"] > 0
        assert document["eta_seconds"] > 0

    def test_json_names_where_each_problem_is(self, run, rows):
        """A failed job shows its exit code and log zip key; a rejected one its reason and report key."""
        problems = {p["uuid"]: p for p in _json(run)["problems"]}
        tagged = rows["tagged"]
        assert problems[tagged.uuid]["exit_code"] == 3
        assert problems[tagged.uuid]["error_zip_key"] == error_object_name(
            tagged.uuid, tagged.start_time, "run1"
        )
        rejected = rows[JobStatus.REJECTED]
        assert problems[rejected.uuid]["report_key"] == rejection_report_key(rejected.input_zip_name)

    def test_once_prints_a_plain_snapshot(self, run, rows):
        """--once prints the counts, rate, ETA and problems as plain text, with s3:// URLs for the keys."""
        result = run("watch", "--once", "--errors-bucket", "errs")
        assert result.exit_code == 0, result.output
        assert "13 jobs: submitted 2, running 6, complete 2, failed 2, rejected 1" in result.output
        assert "ETA:" in result.output
        assert "s3://errs/run1_error@job-tagged_" in result.output
        assert "\x1b" not in result.output

    def test_off_a_terminal_one_line_per_refresh_until_ctrl_c(self, run, rows, monkeypatch):
        """Without a terminal each refresh prints one plain line; Ctrl-C ends the command with exit 0."""
        waits = []

        def sleep(seconds):
            waits.append(seconds)
            if len(waits) == 2:
                raise KeyboardInterrupt

        monkeypatch.setattr(_watch_loop, "_sleep", sleep)
        result = run("watch", "--interval", "3")
        assert result.exit_code == 0
        lines = result.output.splitlines()
        assert len(lines) == 2
        assert all("13 jobs: submitted 2" in line for line in lines)
        assert all(0 <= wait <= 3 for wait in waits)
        assert "\x1b" not in result.output

    def test_json_without_once_is_one_document_per_line(self, run, rows, monkeypatch):
        """--output json without --once prints one JSON document per refresh, each on one line."""

        def sleep(_seconds):
            raise KeyboardInterrupt

        monkeypatch.setattr(_watch_loop, "_sleep", sleep)
        result = run("watch", "--output", "json")
        (line,) = result.output.splitlines()
        assert json.loads(line)["total"] == 13

    def test_no_table_says_which_option_gives_it(self, run, home):
        """Without a table from flag or profile, the command names the option and the profile attribute."""
        result = run("--use-env-variables", "False", "watch", "--once")
        assert result.exit_code == 1
        assert "--dynamo-db-to-query" in result.output


class TestFilters:
    def test_status_is_repeatable(self, run, rows):
        """--status keeps only the rows of the groups named."""
        document = _json(run, "--status", "failed", "--status", "rejected")
        assert document["total"] == 3
        assert document["counts"]["failed"] == 2

    def test_tag_matches_the_tag_input_in_its_usual_spellings(self, run, rows):
        """--tag keeps the rows whose TAG input (TAG, Tag or tag) has that value."""
        document = _json(run, "--tag", "run1")
        assert document["total"] == 1
        assert document["problems"][0]["uuid"] == "job-tagged"

    def test_prefix_selects_by_input_zip_key(self, run, rows):
        """--prefix keeps the rows whose input zip key starts with it."""
        assert _json(run, "--prefix", "other/")["total"] == 1
        assert _json(run, "--prefix", "batch/")["total"] == 12

    def test_since_drops_older_rows(self, run, rows):
        """--since 1h leaves out a row submitted ten hours ago, keeps recent ones and rejected ones."""
        document = _json(run, "--since", "1h")
        assert document["total"] == 12
        assert document["counts"]["rejected"] == 1
        since = (NOW - timedelta(hours=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert _json(run, "--since", since)["total"] == 13

    def test_since_refuses_nonsense(self, run, rows):
        """A --since that is neither an age nor a time is refused in one line."""
        result = run("watch", "--once", "--since", "lately")
        assert result.exit_code == 1
        assert "neither an age" in result.output

    @pytest.mark.parametrize(
        "since",
        ["999999w", "99999999999999999999d", "-5m", "0001-01-01T00:00:00+05:00", "9999-01-01T00:00:00Z"],
    )
    def test_since_out_of_range_is_one_line(self, run, rows, since):
        """A --since out of range (huge weeks or days, negative, before year 1, future) is one clear line."""
        result = run("watch", "--once", "--since", since)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: --since {since!r} ")
        assert len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output

    @pytest.mark.parametrize("interval", ["0", "-1", "0.1", "nan", "inf", "1e309", "86401"])
    def test_interval_out_of_range_is_refused(self, run, interval):
        """--interval outside 0.5 s to a day (zero, negative, NaN, infinite) is refused by the option."""
        result = run("watch", "--once", "--interval", interval)
        assert result.exit_code == 2
        assert "--interval" in result.output
        assert "Traceback" not in result.output


class TestScan:
    @pytest.fixture
    def many(self, flock, counted):
        """Sixty job rows and two manifest items."""
        client = flock.client("dynamodb")
        for i in range(60):
            _put(counted, f"row-{i:03d}", JobStatus.SUBMITTED)
        client.put_item(TableName=flock.table, Item=MANIFEST)
        client.put_item(
            TableName=flock.table, Item={**MANIFEST, Attr.UUID: {"S": manifest_key("0123abcd", 1)}}
        )
        return client

    @pytest.mark.parametrize("segments", [1, 3, 8])
    def test_segments_cover_every_row_exactly_once(self, flock, many, segments):
        """Each segment, read page by page, holds rows no other holds, and together they hold every row."""
        request = scan_request(flock.table, WatchFilters()) | {"Limit": 7}
        seen = [
            item["UUID"]["S"]
            for segment in range(segments)
            for item in _scan_segment(many, request, segment, segments, threading.Event())
        ]
        assert len(seen) == len(set(seen)) == 60
        assert not any(is_manifest_key(uuid) for uuid in seen)

    def test_parallel_scan_reads_only_the_projected_attributes(self, flock, many):
        """The parallel scan returns every job row, without the inputs, and no manifest item."""
        items = scan_items(many, scan_request(flock.table, WatchFilters()), segments=4)
        rows, left_out = rows_from_items(items)
        assert len(rows) == 60
        assert left_out == []
        assert all(row.inputs == {} for row in rows)

    def test_items_that_are_not_job_rows_are_left_out(self):
        """A manifest is skipped; an item without JOB_STATUS or with an unknown status is left out."""
        items = [MANIFEST, {"UUID": {"S": "x"}, "JOB_STATUS": {"S": "weird"}}, {"UUID": {"S": "y"}}]
        assert rows_from_items(items) == ([], ["x", "y"])

    def test_a_scan_needs_a_segment(self, many, flock):
        """Zero segments is refused."""
        with pytest.raises(ValueError, match="at least one segment"):
            scan_items(many, scan_request(flock.table, WatchFilters()), segments=0)


class TestCounters:
    def test_a_refresh_reads_the_counters_not_the_table(self, run, rows, counted):
        """Without --since or --prefix a refresh reads the counters and a few index items, not every row."""
        counted.write(
            [(dataclasses.replace(rows["old"], uuid=f"more-{i:03d}"), _iso(NOW)) for i in range(150)]
        )
        document = _json(run)
        assert document["counted_by"] == "counters"
        assert document["total"] == 163
        assert document["items_read"] <= 150

    def test_counts_per_tag(self, run, rows):
        """The JSON snapshot holds the counts per TAG, and --tag shows that TAG's alone."""
        expected = {"submitted": 0, "running": 0, "complete": 0, "failed": 1, "rejected": 0}
        assert _json(run)["tags"] == {"run1": expected}
        document = _json(run, "--tag", "run1")
        assert document["tags"] == {"run1": expected}
        assert document["counts"] == expected

    def test_tags_in_the_plain_snapshot(self, run, rows):
        """--once lists each TAG's counts under "By TAG"."""
        result = run("watch", "--once")
        assert (
            "By TAG:\n  run1: 1 jobs: submitted 0, running 0, complete 0, failed 1, rejected 0"
            in result.output
        )
        assert "from status counters" in result.output

    @pytest.mark.parametrize(
        ("args", "counted_by"),
        [
            ((), "counters"),
            (("--status", "active"), "counters"),
            (("--status", "failed", "--tag", "run1"), "counters"),
            (("--status", "in_progress"), "scan"),
            (("--since", "1h"), "scan"),
            (("--prefix", "batch/"), "scan"),
        ],
    )
    def test_only_filters_the_counters_cannot_answer_scan(self, run, rows, args, counted_by):
        """--since, --prefix and a JOB_STATUS value narrower than its group scan; the rest read counters."""
        assert _json(run, *args)["counted_by"] == counted_by

    def test_a_sub_group_status_is_counted_exactly_by_the_scan(self, run, rows):
        """--status in_progress counts only in_progress rows, not the whole running group."""
        document = _json(run, "--status", "in_progress")
        assert document["counts"]["running"] == 1
        assert document["total"] == 1

    def test_problems_of_one_group_only(self, run, rows):
        """--status rejected lists the rejected problem only; failed ones are out of view."""
        document = _json(run, "--status", "rejected")
        assert [p["group"] for p in document["problems"]] == ["rejected"]
        assert document["problems_total"] == 1

    def test_rows_from_before_the_counters_are_not_counted(self, run, rows, flock):
        """A row written without counter or list attributes is not in the counted view."""
        row = dataclasses.replace(rows["old"], uuid="pre-counter")
        flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
        assert _json(run)["total"] == 13
        assert _json(run, "--prefix", "batch/")["total"] == 13  # a scan sees it

    def test_pace_from_successive_refreshes(self, flock, counted):
        """After a first refresh the pace is jobs ended between refreshes per minute, from the counters."""
        clock = iter([NOW, NOW + timedelta(minutes=2)])
        for i in range(10):
            _put(counted, f"pace-{i}", JobStatus.SUBMITTED)
        watch = CountedWatch(flock.client("dynamodb"), flock.table, WatchFilters(), clock=lambda: next(clock))
        first = watch()
        assert first.rate_per_minute == 0
        for i in range(6):
            counted.move(f"pace-{i}", JobStatus.JOB_COMPLETE)
        second = watch()
        assert second.rate_per_minute == pytest.approx(3.0)
        assert second.eta_seconds == pytest.approx(80)
